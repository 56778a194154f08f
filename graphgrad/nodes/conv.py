"""Nodes for convolution and max pooling on (N, C, H, W) images, as in DLFS ch7.

``im2col`` unrolls every filter-sized window of a zero-padded image into one row, so
a convolution becomes one matrix product; ``col2im`` is its adjoint (overlapping
windows add up). ``unfold`` / ``fold`` are the same per image, windows as columns,
the layout the Convolution layer multiplies. Max pooling works on the windows
directly: it keeps, per window, the position of the first maximum (DLFS's argmax)
and sends the gradient there.

Every function takes the windows as one strided view of the image and copies it
once; the adjoints add back one kernel offset at a time (FH·FW whole-array passes).

Each node's backward is the forward of its adjoint node, so with ``create_graph``
the backward pass is itself recorded and can be differentiated again:

```text
Im2col  ⟷  Col2im     Unfold  ⟷  Fold     MaxPool / PoolGather  ⟷  PoolScatter
```
"""
from ..backend import get_namespace, shape_of
from ..node import Node
from .reduction import max_margin
from ..tensor import Tensor


def output_size(size, filter_size, stride, pad):
    """(size + 2·pad − filter_size) // stride + 1: output positions along one axis."""
    out = (size + 2 * pad - filter_size) // stride + 1
    if out < 1 or stride < 1 or pad < 0:
        raise ValueError(
            f"a window of {filter_size} with stride {stride} and pad {pad} does not fit "
            f"an input of size {size}")
    return out


def windows(x, filter_h, filter_w, stride=1, pad=0):
    """(N, C, OH, OW, FH, FW): the window under each output position of ``x``
    zero-padded by ``pad`` (a view where the namespace can make one)."""
    return get_namespace(x).windows(x, filter_h, filter_w, stride, pad)


def im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    """(N, C, H, W) → (N·OH·OW, C·FH·FW): row (n, i, j) is the window of output (i, j).

    The DLFS function, with the windows taken as one strided view and copied once.
    """
    xp = get_namespace(input_data)
    n, c, h, w = shape_of(input_data)
    oh, ow = output_size(h, filter_h, stride, pad), output_size(w, filter_w, stride, pad)
    view = windows(input_data, filter_h, filter_w, stride, pad)
    rows = xp.permute_dims(view, (0, 2, 3, 1, 4, 5))
    return xp.reshape(rows, (n * oh * ow, c * filter_h * filter_w))


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """(N·OH·OW, C·FH·FW) → (N, C, H, W): the adjoint of ``im2col``.

    Each row is added back onto its window; where windows overlap the values sum.
    """
    xp = get_namespace(col)
    n, c, h, w = input_shape
    oh, ow = output_size(h, filter_h, stride, pad), output_size(w, filter_w, stride, pad)
    col = xp.reshape(col, (n, oh, ow, c, filter_h, filter_w))
    return add_windows(xp.permute_dims(col, (0, 3, 4, 5, 1, 2)), input_shape, stride, pad)


def unfold(x, filter_h, filter_w, stride=1, pad=0):
    """(N, C, H, W) → (N, C·FH·FW, OH·OW): im2col per image, windows as columns
    (PyTorch's ``unfold``): col[n, (c, y, x), (i, j)] = x_pad[n, c, i·s + y, j·s + x].

    With it a convolution is one matrix product per image, W_col (FN, C·FH·FW) @
    col[n], whose (N, FN, OH·OW) result is already NCHW. One copy of the strided
    window view, whose inner loop runs along image rows.
    """
    xp = get_namespace(x)
    n, c, h, w = shape_of(x)
    oh, ow = output_size(h, filter_h, stride, pad), output_size(w, filter_w, stride, pad)
    view = xp.permute_dims(windows(x, filter_h, filter_w, stride, pad), (0, 1, 4, 5, 2, 3))
    return xp.reshape(view, (n, c * filter_h * filter_w, oh * ow))


def fold(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """(N, C·FH·FW, OH·OW) → (N, C, H, W): the adjoint of ``unfold``; where
    windows overlap the values sum."""
    n, c, h, w = input_shape
    oh, ow = output_size(h, filter_h, stride, pad), output_size(w, filter_w, stride, pad)
    col = get_namespace(col).reshape(col, (n, c, filter_h, filter_w, oh, ow))
    return add_windows(col, input_shape, stride, pad)


def add_windows(cols, input_shape, stride, pad):
    """img[n, c, i·s + y, j·s + x] += cols[n, c, y, x, i, j] on zeros of the padded
    ``input_shape``, then the padding cut off: FH·FW strided additions, one per
    kernel offset (y, x), each over every window at once."""
    xp = get_namespace(cols)
    n, c, h, w = input_shape
    _, _, filter_h, filter_w, oh, ow = shape_of(cols)
    img = xp.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=cols.dtype)
    for y in range(filter_h):
        for x in range(filter_w):
            img[:, :, strided(y, oh, stride), strided(x, ow, stride)] += cols[:, :, y, x, :, :]
    return img[:, :, pad:h + pad, pad:w + pad]


def strided(start, count, stride):
    """The slice of ``count`` positions ``stride`` apart from ``start`` (its stop is
    the last position + 1, never past the end)."""
    return slice(start, start + stride * (count - 1) + 1, stride)


def window_planes(x, pool_h, pool_w, stride=1, pad=0):
    """(PH·PW, N, C, OH, OW): plane k holds element k (row-major) of every window of
    zero-padded ``x``, one contiguous copy of the window view.

    Pooling reduces over the planes, a reduction over the leading axis that numpy
    runs as whole-array passes (a reduction over the window's own short axes, or
    over a reshape's split axes, runs an element at a time: ~15× slower).
    """
    xp = get_namespace(x)
    view = windows(x, pool_h, pool_w, stride, pad)
    n, c, oh, ow = shape_of(view)[:4]
    planes = xp.permute_dims(view, (4, 5, 0, 1, 2, 3))
    return xp.reshape(planes, (pool_h * pool_w, n, c, oh, ow))


def first_max(planes, y):
    """arg = the smallest k with planes[k] = y: the first maximum of each window
    (DLFS's argmax), in int8 (int64 for windows of more than 127 positions).

    Visiting the planes from the last to the first, each hit overwrites:
    arg ← arg + [planes[k] = y]·(k − arg) (integer arithmetic: numpy's ``where``
    with a scalar is several times slower).
    """
    xp = get_namespace(planes)
    count = shape_of(planes)[0]
    arg = xp.zeros(shape_of(y), dtype=xp.int8 if count <= 127 else xp.int64)
    for k in reversed(range(count)):
        hit = xp.mask(planes[k, ...] == y, arg.dtype)
        arg += hit * (k - arg)
    return arg


def _apply(node, value):
    """``node`` on ``value``: recorded when it is a Tensor (create_graph), else plain."""
    return node(value) if isinstance(value, Tensor) else node.forward(value)


class Im2col(Node):
    """col = im2col(x): (N, C, H, W) → (N·OH·OW, C·FH·FW);   ∂L/∂x = col2im(∂L/∂col)."""

    __slots__ = ("filter_h", "filter_w", "stride", "pad", "x_shape")
    op = "im2col"

    def __init__(self, filter_h, filter_w, stride=1, pad=0):
        self.filter_h, self.filter_w, self.stride, self.pad = filter_h, filter_w, stride, pad

    def forward(self, x):
        self.x_shape = shape_of(x)
        return im2col(x, self.filter_h, self.filter_w, self.stride, self.pad)

    def backward(self, dout):
        return _apply(
            Col2im(self.x_shape, self.filter_h, self.filter_w, self.stride, self.pad), dout)


class Col2im(Node):
    """x = col2im(col) onto ``input_shape``;   ∂L/∂col = im2col(∂L/∂x)."""

    __slots__ = ("input_shape", "filter_h", "filter_w", "stride", "pad")
    op = "col2im"

    def __init__(self, input_shape, filter_h, filter_w, stride=1, pad=0):
        self.input_shape = tuple(input_shape)
        self.filter_h, self.filter_w, self.stride, self.pad = filter_h, filter_w, stride, pad

    def forward(self, col):
        return col2im(col, self.input_shape, self.filter_h, self.filter_w, self.stride, self.pad)

    def backward(self, dout):
        return _apply(Im2col(self.filter_h, self.filter_w, self.stride, self.pad), dout)


class Unfold(Im2col):
    """col = unfold(x): (N, C, H, W) → (N, C·FH·FW, OH·OW);  ∂L/∂x = fold(∂L/∂col)."""

    __slots__ = ()
    op = "unfold"

    def forward(self, x):
        self.x_shape = shape_of(x)
        return unfold(x, self.filter_h, self.filter_w, self.stride, self.pad)

    def backward(self, dout):
        return _apply(
            Fold(self.x_shape, self.filter_h, self.filter_w, self.stride, self.pad), dout)


class Fold(Col2im):
    """x = fold(col) onto ``input_shape``;   ∂L/∂col = unfold(∂L/∂x)."""

    __slots__ = ()
    op = "fold"

    def forward(self, col):
        return fold(col, self.input_shape, self.filter_h, self.filter_w, self.stride, self.pad)

    def backward(self, dout):
        return _apply(Unfold(self.filter_h, self.filter_w, self.stride, self.pad), dout)


class PoolGather(Node):
    """y[n, c, i, j] = x at position ``arg[n, c, i, j]`` (0 … PH·PW − 1, row-major) of
    window (i, j) of the zero-padded x: (N, C, H, W) → (N, C, OH, OW);
    ∂L/∂x = PoolScatter(∂L/∂y)."""

    __slots__ = ("pool_h", "pool_w", "stride", "pad", "arg", "x_shape")
    op = "pool_gather"
    saved = ("arg",)

    def __init__(self, pool_h, pool_w, stride=1, pad=0, arg=None):
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad
        self.arg = arg

    def forward(self, x):
        xp = get_namespace(x)
        self.x_shape = shape_of(x)
        planes = window_planes(x, self.pool_h, self.pool_w, self.stride, self.pad)
        y = xp.zeros(shape_of(self.arg), dtype=x.dtype)
        for k in range(self.pool_h * self.pool_w):
            y = xp.where(self.arg == k, planes[k, ...], y)
        return y

    def backward(self, dout):
        return _apply(PoolScatter(self.x_shape, self.pool_h, self.pool_w, self.stride,
                                  self.pad, self.arg), dout)


class MaxPool(PoolGather):
    """y[n, c, i, j] = max of window (i, j) of the zero-padded x (DLFS max pooling);
    ∂L/∂x = ∂L/∂y sent to the first maximum of each window (DLFS's argmax).

    Forward: the windows copied once into planes, y their maximum over the leading
    axis, ``arg`` the first plane that holds it.
    """

    __slots__ = ()
    op = "max_pool"

    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        super().__init__(pool_h, pool_w, stride, pad)

    def forward(self, x):
        self.x_shape = shape_of(x)
        planes = window_planes(x, self.pool_h, self.pool_w, self.stride, self.pad)
        y = get_namespace(x).max(planes, axis=0)
        self.arg = first_max(planes, y)
        return y

    def kinks(self, x):
        """d = each window element − the largest other one of its window (the kinks
        of max: ``max_margin``), shaped (N, C, OH, OW, PH·PW)."""
        view = windows(x, self.pool_h, self.pool_w, self.stride, self.pad)
        flat = get_namespace(x).reshape(view, shape_of(view)[:4] + (-1,))
        return max_margin(flat, -1)


class PoolScatter(Node):
    """dx = zeros of ``input_shape`` with each dy[n, c, i, j] added at position
    ``arg[n, c, i, j]`` of window (i, j): the adjoint of PoolGather;
    ∂L/∂dy = PoolGather(∂L/∂dx).

    One strided pass per window position k, dy·[arg = k] put at the k-th element of
    every window: added where windows overlap (stride < window), written once where
    they do not (the DLFS case, stride = window).
    """

    __slots__ = ("input_shape", "pool_h", "pool_w", "stride", "pad", "arg")
    op = "pool_scatter"
    saved = ("arg",)

    def __init__(self, input_shape, pool_h, pool_w, stride, pad, arg):
        self.input_shape = tuple(input_shape)
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad
        self.arg = arg

    def forward(self, dy):
        xp = get_namespace(dy)
        n, c, h, w = self.input_shape
        p, s = self.pad, self.stride
        oh, ow = shape_of(dy)[2:]
        overlapping = s < max(self.pool_h, self.pool_w)
        dx = xp.zeros((n, c, h + 2 * p, w + 2 * p), dtype=dy.dtype)
        for k in range(self.pool_h * self.pool_w):
            y, x = divmod(k, self.pool_w)
            at = (slice(None), slice(None), strided(y, oh, s), strided(x, ow, s))
            part = dy * xp.mask(self.arg == k, dy.dtype)
            if overlapping:
                dx[at] += part
            else:
                dx[at] = part
        return dx[:, :, p:h + p, p:w + p]

    def backward(self, dout):
        return _apply(PoolGather(self.pool_h, self.pool_w, self.stride, self.pad, self.arg),
                      dout)
