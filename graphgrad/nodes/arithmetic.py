"""Arithmetic nodes: + − × / and powers, with numpy broadcasting.

When broadcasting stretched an input, its gradient is summed back to the input's
shape (``sum_to``), so ``x.grad.shape == x.shape`` always.
"""
import numpy as np

from ..backend import get_namespace, shape_of, sum_to
from ..node import Node, needs_grad
from ..tensor import Tensor


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


_SCALARS = (int, float, np.generic)  # Python numbers and numpy scalars


def value_of(value):
    """The array or number that ``value`` holds when it is a tensor (a node's saved
    inputs are, while ``create_graph`` records its backward), else ``value``."""
    return value.data if isinstance(value, Tensor) else value


def zero_one(condition, like):
    """[condition] as 0 and 1 of the dtype of ``like``: a Python int for a bool, else
    a cast array (numpy's bool array + Python float would be float64)."""
    if type(condition) is bool:
        return int(condition)
    return get_namespace(condition).astype(condition, like.dtype)


class Pow(Node):
    """z = x ** y;   ∂L/∂x = ∂L/∂z · y · x^(y−1),  ∂L/∂y = ∂L/∂z · z · log x.

    Where these read 0 · ∞, the gradients are PyTorch's:

    * ∂z/∂x = 0 where y = 0 (z = x⁰ = 1 for every x), not 0 · 0⁻¹ = NaN at x = 0:
      there the exponent y − 1 is taken as 0, and y · x⁰ = 0;
    * ∂z/∂y = 0 where x = 0 and y ≥ 0 (z = 0^y = 0 for y > 0), not z · log 0 = NaN,
      or −∞ at y = 0: there the logarithm is taken of 1, and z · log 1 = 0.

    Only those points change, so second derivatives (``create_graph``) elsewhere are
    the formulas'; at x = 0, y < 0 the formulas stand (∂z/∂y = ∞ · (−∞) = −∞, as in
    PyTorch). The exponent's gradient (which needs log x) is computed only when the
    exponent requires one, and a nonzero number exponent is lowered in Python: ``x ** 2``
    takes no logarithm and makes no pass over x beyond the formula's.
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
        gx = None
        if needs_grad(self, 0):
            gx = sum_to(dout * y * x ** self.lowered_exponent(), shape_of(x))
        if not needs_grad(self, 1):
            return gx, None
        with np.errstate(divide="ignore", invalid="ignore"):
            gy = dout * self.out * xp.log(self.log_base())
        return gx, xp.sum_to(gy, shape_of(y))

    def lowered_exponent(self):
        """y − 1, but 0 where x = y = 0: the exponent of x in ∂z/∂x = y · x^(y−1)."""
        y = value_of(self.y)
        if isinstance(y, _SCALARS) and y != 0:  # x ** 2, or a graph of scalars
            return self.y - 1
        return self.y - zero_one((value_of(self.x) != 0) | (y != 0), self.out)

    def log_base(self):
        """x, but 1 where x = 0 and y ≥ 0: the argument of log in ∂z/∂y = z · log x."""
        x = value_of(self.x)
        if isinstance(x, _SCALARS) and x != 0:  # 2 ** y: log 2 is finite (y unread)
            return self.x
        return self.x + zero_one((x == 0) & (value_of(self.y) >= 0), self.out)
