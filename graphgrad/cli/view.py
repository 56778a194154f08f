"""Open the interactive viewer of the graph a Python file builds: graphgrad view FILE.py

Runs FILE.py as `graphgrad draw` does (its `out`, else its last Tensor), writes the
viewer page (viz.html) to a temporary file, opens it in the web browser and prints
its path. In the page: → and ← step through the forward pass and then the backward
sweep, Home and End jump; click an operation for its chain-rule step.

  graphgrad view examples/apple_orange.py
"""
import argparse
import tempfile
import webbrowser
from pathlib import Path

import viz

from .draw import find_target
from .script import reported


def add_parser(parser):
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("file", type=Path, help="Python file that builds a graph")
    parser.add_argument("--no-grads", action="store_true", help="leave the gradients out")
    parser.add_argument("--collapse", action="store_true",
                        help="draw each scope (a layer, a composite op) as one node")
    return parser


def run(args):
    def view():
        target = find_target(args.file)
        with tempfile.NamedTemporaryFile(
                "wb", prefix=f"{args.file.stem}-", suffix=".html", delete=False) as file:
            path = Path(file.name)
        viz.html(target, path, grads=not args.no_grads, expand=not args.collapse)
        webbrowser.open(path.resolve().as_uri())
        return path

    return reported("view", args.file, view, failures=(viz.DotNotFoundError,))
