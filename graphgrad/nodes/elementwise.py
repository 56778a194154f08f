"""Element-wise nodes: exp, log, tanh, relu and the element-wise maximum."""
import numpy as np

from ..backend import get_namespace, shape_of, sum_to
from ..node import Node, needs_grad
from ..tensor import Tensor


class Exp(Node):
    """y = exp(x);   ∂L/∂x = ∂L/∂y · y."""

    __slots__ = ("out",)
    op = "exp"
    saved = ("out",)
    saved_output = "out"

    def forward(self, x):
        self.out = get_namespace(x).exp(x)
        return self.out

    def backward(self, dout):
        return dout * self.out


class OverflowingExp(Exp):
    """y = exp(x) where overflow to inf is part of the plan: the composite sigmoid's
    step e^−x, whose inf gives 1 / (1 + inf) = 0, the right limit of σ(x) as x → −∞.

    Forward: numpy's e^x, inf past the float range (x > 709.78 in float64, 88.72 in
    float32), without numpy's overflow warning. Backward: ∂L/∂x = ∂L/∂y · y, except
    that ∂L/∂y = 0 gives 0 even where y is inf: e^x is a finite number for every
    real x (inf only says it overflowed), and 0 · e^x = 0. (The sigmoid's ∂L/∂y is
    −1/(1 + y)², which reaches 0 exactly there.) A nonzero ∂L/∂y times an overflowed
    y stays ±inf: that product does overflow.
    """

    __slots__ = ()

    def forward(self, x):
        with np.errstate(over="ignore"):
            return super().forward(x)

    def backward(self, dout):
        y = self.out
        if isinstance(y, Tensor):  # create_graph: recorded as Exp's rule
            return dout * y
        xp = get_namespace(y)
        return dout * xp.where(dout == 0, xp.zeros_like(y), y)


class Log(Node):
    """y = log(x);   ∂L/∂x = ∂L/∂y / x."""

    __slots__ = ("x",)
    op = "log"
    saved = ("x",)
    saved_inputs = {"x": 0}

    def forward(self, x):
        self.x = x
        return get_namespace(x).log(x)

    def backward(self, dout):
        return dout / self.x


class Tanh(Node):
    """y = tanh(x);   ∂L/∂x = ∂L/∂y · (1 − y²)."""

    __slots__ = ("out",)
    op = "tanh"
    saved = ("out",)
    saved_output = "out"

    def forward(self, x):
        self.out = get_namespace(x).tanh(x)
        return self.out

    def backward(self, dout):
        y = self.out
        return dout * (1 - y * y)


class Relu(Node):
    """y = max(x, 0);   ∂L/∂x = ∂L/∂y · [x > 0]   (the DLFS Relu layer's mask)."""

    __slots__ = ("mask",)
    op = "relu"
    saved = ("mask",)

    def forward(self, x):
        xp = get_namespace(x)
        out = xp.maximum(x, 0)
        self.mask = xp.mask(x > 0, out.dtype)
        return out

    def backward(self, dout):
        return dout * self.mask

    def kinks(self, x):
        """d = x: the kink of max(x, 0) is x = 0."""
        return x


class Maximum(Node):
    """z = max(x, y) element-wise;  the gradient goes to the larger input, split
    evenly where they tie (as the central difference sees it)."""

    __slots__ = ("x_share", "x_shape", "y_shape")
    op = "maximum"
    saved = ("x_share",)

    def forward(self, x, y):
        self.x_shape, self.y_shape = shape_of(x), shape_of(y)
        xp = get_namespace(x, y)
        out = xp.maximum(x, y)
        dtype = out.dtype
        self.x_share = xp.astype(x > y, dtype) + 0.5 * xp.astype(x == y, dtype)
        return out

    def backward(self, dout):
        gx = dout * self.x_share
        gy = dout - gx if needs_grad(self, 1) else None  # not for a constant floor
        return sum_to(gx, self.x_shape), sum_to(gy, self.y_shape)

    def kinks(self, x, y):
        """d = x − y: max(x, y) has its kink where they tie."""
        return x - y
