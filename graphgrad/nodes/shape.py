"""Nodes that move values without changing them: reshape, transpose, indexing."""
from ..backend import get_namespace, shape_of
from ..node import Node


class Reshape(Node):
    """y = x reshaped;   ∂L/∂x = ∂L/∂y reshaped back."""

    __slots__ = ("shape", "x_shape")
    op = "reshape"

    def __init__(self, shape):
        self.shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)

    def forward(self, x):
        self.x_shape = shape_of(x)
        return get_namespace(x).reshape(x, self.shape)

    def backward(self, dout):
        return get_namespace(dout).reshape(dout, self.x_shape)


class Transpose(Node):
    """y = x with axes permuted (reversed when ``axes`` is None);
    ∂L/∂x = ∂L/∂y with the inverse permutation."""

    __slots__ = ("axes",)
    op = "T"

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, x):
        ndim = len(shape_of(x))
        axes = tuple(range(ndim))[::-1] if self.axes is None else self.axes
        return get_namespace(x).permute_dims(x, axes)

    def backward(self, dout):
        ndim = len(shape_of(dout))
        if self.axes is None:
            inverse = tuple(range(ndim))[::-1]
        else:  # negative axes count from the end, as in np.transpose
            inverse = tuple(sorted(range(ndim), key=lambda i: self.axes[i] % ndim))
        return get_namespace(dout).permute_dims(dout, inverse)


class GetItem(Node):
    """y = x[index] (basic or integer-array indexing);
    ∂L/∂x = zeros with ∂L/∂y added at ``index`` (repeats accumulate)."""

    __slots__ = ("index", "x_shape")
    op = "[]"

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.x_shape = shape_of(x)
        return get_namespace(x).getitem(x, self.index)

    def backward(self, dout):
        return get_namespace(dout).getitem_grad(dout, self.index, self.x_shape)


class GetItemGrad(Node):
    """y = zeros(shape) with x added at ``index``: the adjoint of ``GetItem``;
    ∂L/∂x = ∂L/∂y[index]."""

    __slots__ = ("index", "shape")
    op = "scatter"

    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, x):
        return get_namespace(x).getitem_grad(x, self.index, self.shape)

    def backward(self, dout):
        return get_namespace(dout).getitem(dout, self.index)
