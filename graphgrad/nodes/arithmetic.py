"""Arithmetic nodes: + − × / and powers, with numpy broadcasting.

When broadcasting stretched an input, its gradient is summed back to the input's
shape (``sum_to``), so ``x.grad.shape == x.shape`` always.
"""
import numpy as np

from ..backend import get_namespace, shape_of, sum_to
from ..node import Node, needs_grad


class Add(Node):
    """z = x + y;   ∂L/∂x = ∂L/∂z,  ∂L/∂y = ∂L/∂z."""

    __slots__ = ("x_shape", "y_shape")
    op = "+"

    def forward(self, x, y):
        self.x_shape, self.y_shape = shape_of(x), shape_of(y)
        return x + y

    def backward(self, dout):
        if self.x_shape == self.y_shape:  # no broadcasting: ∂L/∂z has both shapes
            return dout, dout
        return (sum_to(dout, self.x_shape) if needs_grad(self, 0) else None,
                sum_to(dout, self.y_shape) if needs_grad(self, 1) else None)


class Sub(Node):
    """z = x − y;   ∂L/∂x = ∂L/∂z,  ∂L/∂y = −∂L/∂z."""

    __slots__ = ("x_shape", "y_shape")
    op = "−"

    def forward(self, x, y):
        self.x_shape, self.y_shape = shape_of(x), shape_of(y)
        return x - y

    def backward(self, dout):
        gy = -dout if needs_grad(self, 1) else None  # not for ``x - 1``
        if self.x_shape == self.y_shape:  # no broadcasting: ∂L/∂z has both shapes
            return dout, gy
        return sum_to(dout, self.x_shape), sum_to(gy, self.y_shape)


class Mul(Node):
    """z = x · y;   ∂L/∂x = ∂L/∂z · y,  ∂L/∂y = ∂L/∂z · x   (the DLFS MulLayer)."""

    __slots__ = ("x", "y")
    op = "×"
    saved = ("x", "y")
    saved_inputs = {"x": 0, "y": 1}

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, dout):
        x, y = self.x, self.y
        gx = dout * y if needs_grad(self, 0) else None
        gy = dout * x if needs_grad(self, 1) else None
        if shape_of(x) == shape_of(y):  # no broadcasting
            return gx, gy
        return sum_to(gx, shape_of(x)), sum_to(gy, shape_of(y))


class Div(Node):
    """z = x / y;   ∂L/∂x = ∂L/∂z / y,  ∂L/∂y = −∂L/∂z · x / y²."""

    __slots__ = ("x", "y")
    op = "/"
    saved = ("x", "y")
    saved_inputs = {"x": 0, "y": 1}

    def forward(self, x, y):
        self.x, self.y = x, y
        return x / y

    def backward(self, dout):
        x, y = self.x, self.y
        gx = dout / y
        gy = sum_to(-gx * x / y, shape_of(y)) if needs_grad(self, 1) else None
        return (sum_to(gx, shape_of(x)) if needs_grad(self, 0) else None), gy  # 1 / y


class Neg(Node):
    """z = −x;   ∂L/∂x = −∂L/∂z."""

    __slots__ = ()
    op = "−"

    def forward(self, x):
        return -x

    def backward(self, dout):
        return -dout


class Pow(Node):
    """z = x ** y;   ∂L/∂x = ∂L/∂z · y · x^(y−1),  ∂L/∂y = ∂L/∂z · z · log x.

    The exponent's gradient (which needs log x, so x > 0) is computed only when the
    exponent requires one: ``x ** 2`` never takes a logarithm.
    """

    __slots__ = ("x", "y", "out")
    op = "**"
    saved = ("x", "y", "out")
    saved_inputs = {"x": 0, "y": 1}
    saved_output = "out"

    def forward(self, x, y):
        self.x, self.y = x, y
        self.out = x ** y
        return self.out

    def backward(self, dout):
        xp = get_namespace(dout)
        x, y = self.x, self.y
        gx = sum_to(dout * y * x ** (y - 1), shape_of(x)) if needs_grad(self, 0) else None
        if not needs_grad(self, 1):
            return gx, None
        with np.errstate(divide="ignore", invalid="ignore"):
            gy = dout * self.out * xp.log(x)
        return gx, xp.sum_to(gy, shape_of(y))
