"""Moving a value between devices ("cpu", "cuda", …) as a node of the graph."""
from ..backend import device_of, to_device
from ..node import Node
from ..tensor import Tensor


class ToDevice(Node):
    """y = x copied to ``device``;   ∂L/∂x = ∂L/∂y copied back to x's device."""

    __slots__ = ("device", "source")
    op = "to"

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.source = device_of(x)
        return to_device(x, self.device)

    def backward(self, dout):
        if isinstance(dout, Tensor):  # create_graph: record the move back
            return ToDevice(self.source)(dout)
        return to_device(dout, self.source)
