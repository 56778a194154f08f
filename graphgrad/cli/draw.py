"""Draw the graph a Python file builds: graphgrad draw FILE.py -o out.svg (or .html)

FILE.py runs as a module named __graphgrad_draw__ (its `if __name__ == "__main__":`
block is skipped). What is drawn:
  1. the module-level variable `out` (a Tensor, a list of Tensors or a gg.Tape), or
  2. without `out`, the last Tensor the file defines at module level (variables in
     the order of their first assignment).
Call backward() in the file to see the gradients in red under the values.
A .html file is the interactive viewer: it plays the forward pass and the backward
sweep step by step (viz.html). If the file raises, its traceback is shown (from its own first line on), exit 1.

  graphgrad draw examples/apple_orange.py -o apple_orange.png
  graphgrad draw examples/apple_orange.py -o apple_orange.html
  graphgrad draw examples/two_layer_net.py --collapse --format dot
  graphgrad draw examples/two_layer_net.py --rankdir TB -o net.svg   # top to bottom
"""
import argparse
from pathlib import Path

import graphgrad as gg
import viz
from viz.files import FORMATS as DRAWING_FORMATS
from .script import UsageError, reported, run_script

FORMATS = DRAWING_FORMATS + ("html",)

RANKDIRS = ("LR", "TB", "RL", "BT")  # graphviz's directions


def add_parser(parser):
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("file", type=Path, help="Python file that builds a graph")
    parser.add_argument("-o", "--output", type=Path,
                        help="file to write (default: FILE's name with the format's suffix)")
    parser.add_argument("--format", choices=FORMATS,
                        help="output format (default: the suffix of -o, else svg)")
    parser.add_argument("--no-grads", action="store_true", help="leave the gradients out")
    parser.add_argument("--collapse", action="store_true",
                        help="draw each scope (a layer, a composite op) as one node")
    parser.add_argument("--rankdir", choices=RANKDIRS, default="LR",
                        help="direction of the flow: left to right (default), top to "
                             "bottom (a long graph, a network's layers), or reversed")
    return parser


def run(args):
    def draw():
        output, format = output_and_format(args)
        target = find_target(args.file)
        options = {"grads": not args.no_grads, "expand": not args.collapse,
                   "rankdir": args.rankdir}
        if format == "html":
            return viz.html(target, output, **options)
        return viz.render(viz.draw(target, **options), output, format)

    return reported("draw", args.file, draw, failures=(viz.DotNotFoundError,))


def output_and_format(args):
    """The file to write and its format, checked before the script runs."""
    suffix = args.output and args.output.suffix.lstrip(".")
    format = (args.format or suffix or "svg").lower()
    output = args.output or Path(f"{args.file.stem}.{format}")
    if format not in FORMATS:
        raise UsageError(f"cannot write {str(output)!r} as {format!r}: give a path ending in "
                         f".svg, .png, .pdf, .dot or .html, or --format one of "
                         f"{', '.join(FORMATS)}")
    return output, format


def find_target(file):
    """Run ``file`` and return what it asks to draw: ``out``, else its last Tensor."""
    namespace = run_script(file, "__graphgrad_draw__")
    if "out" in namespace:
        out = namespace["out"]
        if not _drawable(out):
            raise UsageError(f"{file}: `out` is a {type(out).__name__}; make it a Tensor, "
                             f"a list of Tensors or a gg.Tape")
        return out
    tensors = [value for value in namespace.values() if isinstance(value, gg.Tensor)]
    if not tensors:
        raise UsageError(f"{file} defines no Tensor at module level; assign the result "
                         f"to a variable named `out`")
    return tensors[-1]


def _drawable(value):
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, gg.Tensor) for v in value)
    return isinstance(value, (gg.Tensor, gg.Tape))
