"""ONNX forms of the arithmetic nodes: + − × / ** and negation.

Operands are cast to the dtype numpy computed in (a float32 array times a float64
constant is float64 there, so it is here), constants made in it directly.
"""
from numbers import Number

import numpy as np

from ...nodes import Add, Div, Mul, Neg, Pow, Sub


def binary(op_type):
    """The export of a broadcasting two-operand node as ONNX ``op_type``."""
    def export(ctx, node, out):
        return ctx.g.op(op_type, ctx.operands(node, out.dtype))
    export.__doc__ = f"{op_type}(x, y), both in the result's dtype"
    return export


def neg(ctx, node, out):
    """Neg(x)"""
    return ctx.g.op("Neg", ctx.operands(node))


def pow_backward_problem(node, is_constant):
    """Why the recorded backward of ``x ** y`` cannot be exported, or None.

    Its gradients take PyTorch's corrections at x = 0 (``Pow``'s docstring) from
    the values of x and y, read in numpy, which an exported graph would keep as
    constants of the example. They are not read for a constant nonzero number
    exponent (∂/∂x: ``x ** 2``) or base (∂/∂y: ``2 ** y``)."""
    x, y = node.inputs
    if x.requires_grad and not _nonzero_number(y, is_constant):
        return "its gradient for x reads the values of x and y (the corrections at x = 0)"
    if y.requires_grad and not _nonzero_number(x, is_constant):
        return "its gradient for y reads the values of x and y (log x, corrected at x = 0)"
    return None


def _nonzero_number(t, is_constant):
    return is_constant(t) and isinstance(t._data, (Number, np.generic)) and t._data != 0


EXPORTS = {
    Add: binary("Add"), Sub: binary("Sub"), Mul: binary("Mul"), Div: binary("Div"),
    Pow: binary("Pow"), Neg: neg,
}
BACKWARD_PROBLEMS = {Pow: pow_backward_problem}
