"""ONNX forms of the element-wise nodes, and of the masks their backward saves.

A mask (Relu's [x > 0], Maximum's share of the gradient) is a value of the forward
pass that backward uses as a constant; exported with the gradients, it is computed
from the node's inputs again, so that it follows new inputs.
"""
from ...nodes import Exp, Log, Maximum, OverflowingExp, Relu, Tanh
from .arithmetic import binary


def unary(op_type):
    """The export of a one-operand node as ONNX ``op_type``, on x cast to the
    result's dtype (numpy's exp of integers is float64; ONNX's Exp takes floats)."""
    def export(ctx, node, out):
        return ctx.g.op(op_type, ctx.operands(node, out.dtype))
    export.__doc__ = f"{op_type}(x in the result's dtype)"
    return export


def relu(ctx, node, out):
    """Relu(x) for floats; Max(x, 0) for integers (Relu's ONNX kernels take floats)"""
    (x,) = ctx.operands(node, out.dtype)
    if out.dtype.kind == "f":
        return ctx.g.op("Relu", [x])
    return ctx.g.op("Max", [x, ctx.g.constant(0, out.dtype)])


def relu_mask(ctx, node):
    """[x > 0] (bool)"""
    (x,) = ctx.operands(node)
    return ctx.g.op("Greater", [x, ctx.g.constant(0, ctx.g.dtypes[x])], dtype=bool)


def maximum_share(ctx, node):
    """[x > y] + ½ [x = y]: the share of the gradient that goes to x"""
    g, dtype = ctx.g, ctx.output(node).dtype
    x, y = ctx.operands(node, dtype)
    greater = g.cast(g.op("Greater", [x, y], dtype=bool), dtype)
    tie = g.cast(g.op("Equal", [x, y], dtype=bool), dtype)
    return g.op("Add", [greater, g.op("Mul", [tie, g.constant(0.5, dtype)])])


EXPORTS = {
    Exp: unary("Exp"), OverflowingExp: unary("Exp"), Log: unary("Log"), Tanh: unary("Tanh"), Relu: relu,
    Maximum: binary("Max"),
}
SAVED = {(Relu, "mask"): relu_mask, (Maximum, "x_share"): maximum_share}
