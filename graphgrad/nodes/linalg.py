"""Matrix products: ``matmul`` (the ``@`` operator) and ``dot`` (np.dot)."""
from ..backend import get_namespace, shape_of
from ..node import Node, needs_grad
from .reduction import broadcasts


class MatMul(Node):
    """Z = X @ Y (numpy matmul: 1-D operands promoted, batch axes broadcast);
    ∂L/∂X = ∂L/∂Z @ Yᵀ,  ∂L/∂Y = Xᵀ @ ∂L/∂Z   (the DLFS Affine layer's products).

    A gradient is computed only for inputs that need one: ``X @ W`` with a constant
    batch ``X`` skips the (often largest) product ∂L/∂X.
    """

    __slots__ = ("x", "y")
    op = "@"
    saved = ("x", "y")
    saved_inputs = {"x": 0, "y": 1}

    def forward(self, x, y):
        self.x, self.y = x, y
        return get_namespace(x).matmul(x, y)

    def backward(self, dout):
        x, y = self.x, self.y
        x_shape, y_shape = shape_of(x), shape_of(y)
        if len(x_shape) == 2 and len(y_shape) == 2:  # the common case, kept short
            return (dout @ y.T if needs_grad(self, 0) else None,
                    x.T @ dout if needs_grad(self, 1) else None)
        if len(x_shape) == 1 and len(y_shape) == 1:  # inner product
            return dout * y, dout * x
        xp = get_namespace(dout)
        # promote 1-D operands to matrices, as matmul does, and dout to match
        x2 = x if len(x_shape) > 1 else xp.reshape(x, (1,) + x_shape)
        y2 = y if len(y_shape) > 1 else xp.reshape(y, y_shape + (1,))
        d_shape = shape_of(dout)
        if len(x_shape) == 1:
            d_shape = d_shape[:-1] + (1,) + d_shape[-1:]
        if len(y_shape) == 1:
            d_shape = d_shape + (1,)
        d2 = xp.reshape(dout, d_shape)
        gx = gy = None
        if needs_grad(self, 0):
            gx = xp.reshape(xp.sum_to(d2 @ xp.matrix_transpose(y2), shape_of(x2)), x_shape)
        if needs_grad(self, 1):
            gy = xp.reshape(xp.sum_to(xp.matrix_transpose(x2) @ d2, shape_of(y2)), y_shape)
        return gx, gy


class Dot(MatMul):
    """Z = np.dot(X, Y) for operands of at least one axis and Y of at most two,
    where it equals ``X @ Y``; gradients as for MatMul."""

    __slots__ = ()
    op = "dot"

    def forward(self, x, y):
        x_ndim, y_ndim = len(shape_of(x)), len(shape_of(y))
        if x_ndim == 0 or y_ndim == 0 or y_ndim > 2:
            raise ValueError(
                "dot supports operands with 1 or more axes and a second operand with "
                "at most 2 axes (use * for scalars, matmul or tensordot beyond)")
        self.x, self.y = x, y
        return get_namespace(x).matmul(x, y)  # equal to np.dot for these operands


class MatMulAdd(MatMul):
    """Z = X @ Y + B, B broadcast onto the product (never beyond it);
    ∂L/∂X = ∂L/∂Z @ Yᵀ,  ∂L/∂Y = Xᵀ @ ∂L/∂Z,  ∂L/∂B = ∂L/∂Z summed down to B's shape.

    The bias is added into the product's own new array, so the result is one array,
    not two (the output of a convolution, the largest array of its step). A B of
    another dtype (or a number) is added the plain way, with numpy's promotion.
    """

    __slots__ = ("b_shape",)
    op = "@+"

    def forward(self, x, y, b):
        product = super().forward(x, y)
        self.b_shape = shape_of(b)
        if not broadcasts(self.b_shape, product.shape):
            raise ValueError(f"bias of shape {self.b_shape} does not broadcast to the "
                             f"product's shape {product.shape}")
        if getattr(b, "dtype", None) != product.dtype:
            return product + b
        product += b
        return product

    def backward(self, dout):
        return (*super().backward(dout), get_namespace(dout).sum_to(dout, self.b_shape))
