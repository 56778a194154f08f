"""Nodes that move values without changing them: reshape, transpose, indexing,
copying and writing at an index."""
import numpy as np

from ..backend import get_namespace, shape_of, to_numpy
from ..backend.array_api import flat_positions
from ..node import Node, constant_unless_float, needs_grad


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


class Copy(Node):
    """y = x, a new array;   ∂L/∂x = ∂L/∂y."""

    __slots__ = ()
    op = "copy"

    def forward(self, x):
        if isinstance(x, (np.generic, float, int)):  # immutable: shared, as numpy does
            return x
        return get_namespace(x).asarray(x, copy=True)

    def backward(self, dout):
        return dout


class SetItem(Node):
    """y = x with y[index] = v;   ∂L/∂x = ∂L/∂y with zeros at index,
    ∂L/∂v = ∂L/∂y[index] summed to v's shape.

    ``v`` is broadcast to the region ``x[index]``, as numpy assigns; ``x`` itself is
    left as it is (``y`` is a new array). A tensor's ``x[index] = v`` records this
    node (``graphgrad.inplace``). An index that picks one position twice is
    refused: numpy keeps the last value written there, CuPy any of them. Written
    into an integer or boolean x, v is truncated: y is a constant.
    """

    __slots__ = ("index", "v_shape")
    op = "[]="

    def __init__(self, index):
        self.index = index

    def apply(self, x, v):
        """``Node.apply``; an integer or boolean result is a constant."""
        return constant_unless_float(Node.apply(self, x, v))

    __call__ = apply

    def forward(self, x, v):
        refuse_repeats(self.index, shape_of(x))
        self.v_shape = shape_of(v)
        return get_namespace(x).setitem(x, self.index, v)

    def backward(self, dout):
        xp = get_namespace(dout)
        gx = xp.setitem(dout, self.index, 0) if needs_grad(self, 0) else None
        if not needs_grad(self, 1):
            return gx, None
        return gx, summed_to(xp.getitem(dout, self.index), self.v_shape)


def summed_to(g, shape):
    """``g``, the gradient of a region, summed down to the ``shape`` of the value
    broadcast over it (a value may have more leading axes than the region, of 1)."""
    xp = get_namespace(g)
    extra = len(shape) - len(shape_of(g))
    if extra > 0:
        g = xp.reshape(g, (1,) * extra + tuple(shape_of(g)))
    return xp.sum_to(g, shape)


def refuse_repeats(index, shape):
    """ValueError when integer arrays in ``index`` pick one position of an array of
    ``shape`` more than once (slices, integers and boolean masks never do)."""
    parts = index if isinstance(index, tuple) else (index,)
    if not any(_integer_array(part) for part in parts):
        return
    host = tuple(to_numpy(p) if _integer_array(p) else p for p in parts)
    positions, counts = np.unique(flat_positions(host, shape), return_counts=True)
    if counts.size and counts.max() > 1:
        where = tuple(int(i) for i in np.unravel_index(positions[counts > 1][0], shape))
        raise ValueError(
            f"the index picks position {where[0] if len(where) == 1 else where} twice; "
            f"which value would stay there is up to the array library, so is its "
            f"gradient: write each position once")


def _integer_array(part):
    """Whether an index part is an array (or list) of integers."""
    if part is None or part is Ellipsis or isinstance(part, (slice, int, np.integer)):
        return False
    if not hasattr(part, "dtype"):
        part = np.asarray(part)
    return get_namespace(part).isdtype(part.dtype, "integral")
