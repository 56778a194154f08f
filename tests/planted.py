"""Nodes with a deliberate mistake, for the tests of ``graphgrad.testing``."""
from graphgrad.node import Node


class DetachedSquare(Node):
    """y = x², with the right backward 2x·dout, but no ``saved_inputs``: under
    ``create_graph`` it reads x as a plain array, so ∂y/∂x = 2x is recorded as a
    constant and the second derivative is lost (2 by central differences)."""

    __slots__ = ("x",)
    op = "sq"
    saved = ("x",)

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, dout):
        return 2 * self.x * dout


class WrongSquare(DetachedSquare):
    """y = x², with a backward that is off by one at element (1, 0)."""

    __slots__ = ()

    def backward(self, dout):
        dx = super().backward(dout)
        dx[1, 0] += 1.0  # the deliberate mistake
        return dx
