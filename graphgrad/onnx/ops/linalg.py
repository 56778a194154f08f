"""ONNX forms of the matrix products: ``@`` and ``dot`` are both ONNX MatMul (numpy's
matmul: 1-D operands promoted, batch axes broadcast); ``MatMulAdd`` is MatMul then Add."""
from ...nodes import Dot, MatMul, MatMulAdd
from .arithmetic import binary


def matmul_add(ctx, node, out):
    """Add(MatMul(x, y), b), all in the result's dtype"""
    x, y, b = ctx.operands(node, out.dtype)
    return ctx.g.op("Add", [ctx.g.op("MatMul", [x, y]), b])


EXPORTS = {MatMul: binary("MatMul"), Dot: binary("MatMul"), MatMulAdd: matmul_add}
