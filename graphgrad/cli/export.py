"""Export the function a Python file defines to ONNX: graphgrad export FILE.py -o model.onnx

FILE.py runs as a module named __graphgrad_export__ (its `if __name__ == "__main__":`
block is skipped) and must define at module level:
  fn       the function to export (a callable returning a Tensor or a tuple of them)
  inputs   its example inputs: a tuple or list of arrays, numbers or tensors (an array
           alone is one input); the graph is recorded on them, and the model takes
           inputs of their shapes and dtypes
and may define `input_names` and `output_names` (lists of names). --gradients adds an
output grad_<name> per parameter and input that requires grad (fn must return a
scalar loss). Needs the onnx extra: pip install 'graphgrad[onnx]'.

  graphgrad export examples/my_model.py -o my_model.onnx --gradients
"""
import argparse
import sys
from pathlib import Path

from .script import UsageError, reported, run_script


def add_parser(parser):
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("file", type=Path, help="Python file that defines fn and inputs")
    parser.add_argument("-o", "--output", type=Path,
                        help="file to write (default: FILE's name with .onnx)")
    parser.add_argument("--gradients", action="store_true",
                        help="also output the gradients of the (scalar) output")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    return parser


def run(args):
    try:
        from .. import onnx
    except ImportError as error:
        print(f"graphgrad export: {error}; pip install 'graphgrad[onnx]'", file=sys.stderr)
        return 1
    output = args.output or Path(f"{args.file.stem}.onnx")

    def export():
        fn, inputs, names = find_function(args.file)
        onnx.export(fn, inputs, output, gradients=args.gradients, opset=args.opset, **names)
        return output

    return reported("export", args.file, export,
                    usage=(ValueError, onnx.UnsupportedOperationError))


def find_function(file):
    """Run ``file``; return its ``fn``, its ``inputs`` as a tuple, and the
    ``input_names`` / ``output_names`` it defines (keyword arguments of export)."""
    namespace = run_script(file, "__graphgrad_export__")
    missing = [name for name in ("fn", "inputs") if name not in namespace]
    if missing:
        raise UsageError(f"{file} defines no {' and no '.join(missing)} at module level; "
                         f"define `fn` (the function to export) and `inputs` (a tuple of "
                         f"example inputs)")
    fn, inputs = namespace["fn"], namespace["inputs"]
    if not callable(fn):
        raise UsageError(f"{file}: `fn` is a {type(fn).__name__}; make it a function")
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    names = {key: namespace[key] for key in ("input_names", "output_names") if key in namespace}
    return fn, inputs, names
