"""Changing a value's dtype as a node of the graph."""
from ..backend import get_namespace
from ..node import Node, constant_unless_float
from ..tensor import Tensor


class Cast(Node):
    """y = x in ``dtype`` (numpy's ``astype``);   ∂L/∂x = ∂L/∂y in x's dtype.

    What a float32 model does with float64 inputs: the cast is recorded, so a compiled
    step or an ONNX export computes in float32 as the model does. A cast to an
    integer or boolean dtype rounds: ∂y/∂x = 0, and y is a constant.
    """

    __slots__ = ("dtype", "source")
    op = "astype"

    def __init__(self, dtype):
        self.dtype = dtype

    def apply(self, x):
        """``Node.apply``; an integer or boolean result is a constant."""
        return constant_unless_float(Node.apply(self, x))

    __call__ = apply

    def forward(self, x):
        xp = get_namespace(x)
        self.source = x.dtype
        return xp.astype(x, self.dtype)

    def backward(self, dout):
        if isinstance(dout, Tensor):  # create_graph: record the cast back
            return Cast(self.source)(dout)
        return get_namespace(dout).astype(dout, self.source)
