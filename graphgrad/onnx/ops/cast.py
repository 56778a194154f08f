"""A change of dtype: ONNX's Cast."""
from ...nodes import Cast


def cast(ctx, node, out):
    """Cast(x, to=dtype); Identity where x has that dtype (numpy's astype copies)"""
    (x,) = ctx.operands(node)
    if ctx.g.dtypes[x] == out.dtype:
        return ctx.g.op("Identity", [x])
    return ctx.g.cast(x, out.dtype)


EXPORTS = {Cast: cast}
