"""ONNX forms of the reductions and their adjoints: ReduceSum, ReduceMean, ReduceMax,
Expand (broadcast_to), and sum_to as a ReduceSum then a Reshape."""
from ...nodes import BroadcastTo, Max, Mean, Sum, SumTo
from ...nodes.reduction import reduced_axes


def axes_of(node, ndim):
    """The axes ``node`` reduces as a list counted from 0, or None for all of them."""
    return None if node.axis is None else sorted(reduced_axes(ndim, node.axis))


def reduction(op_type):
    """The export of Sum, Mean or Max over ``node.axis`` as ONNX ``op_type``, on x
    cast to the result's dtype: numpy's mean of integers is float64 and its sum of
    int32 or bool int64, where ONNX would reduce in x's dtype (a mean of 2, not 2.5)."""
    def export(ctx, node, out):
        (x,) = ctx.operands(node, out.dtype)
        return ctx.g.reduce(op_type, x, axes_of(node, node.inputs[0].ndim), node.keepdims)
    export.__doc__ = f"{op_type}(x in the result's dtype, axes, keepdims)"
    return export


def max_share(ctx, node):
    """[x = max x] / (number of maxima): where Max sends its gradient"""
    g = ctx.g
    (x,) = ctx.operands(node)
    axes = axes_of(node, node.inputs[0].ndim)
    top = g.reduce("ReduceMax", x, axes, keepdims=True)
    mask = g.cast(g.op("Equal", [x, top], dtype=bool), g.dtypes[x])
    return g.op("Div", [mask, g.reduce("ReduceSum", mask, axes, keepdims=True)])


def sum_to(ctx, node, out):
    """ReduceSum over the axes broadcasting added or stretched, then Reshape."""
    (x,) = ctx.operands(node)
    shape, x_shape = node.shape, node.inputs[0].shape
    lead = len(x_shape) - len(shape)
    axes = list(range(lead)) + [lead + i for i, side in enumerate(shape)
                                if side == 1 and x_shape[lead + i] != 1]
    summed = ctx.g.reduce("ReduceSum", x, axes, keepdims=True)
    return ctx.g.reshape(summed, shape)


def broadcast_to(ctx, node, out):
    """Expand(x, shape)"""
    (x,) = ctx.operands(node)
    return ctx.g.op("Expand", [x, ctx.g.ints(node.shape)])


EXPORTS = {
    Sum: reduction("ReduceSum"), Mean: reduction("ReduceMean"), Max: reduction("ReduceMax"),
    SumTo: sum_to, BroadcastTo: broadcast_to,
}
SAVED = {(Max, "share"): max_share}
