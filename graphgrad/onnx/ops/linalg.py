"""ONNX forms of the matrix products: ``@`` and ``dot`` are both ONNX MatMul (numpy's
matmul: 1-D operands promoted, batch axes broadcast)."""
from ...nodes import Dot, MatMul
from .arithmetic import binary

EXPORTS = {MatMul: binary("MatMul"), Dot: binary("MatMul")}
