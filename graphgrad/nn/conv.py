"""Convolution and max pooling layers on (N, C, H, W) images (DLFS ch7).

The convolution is im2col per image (one ``Unfold`` node) followed by one matrix
product with the bias; pooling is one ``MaxPool`` node. Both record under a scope
named after the layer. The book's attributes in the book's layouts (``col``,
``col_W``, ``arg_max``) are computed from the latest input when read, so that a
training step makes no copy for them.
"""
from .. import functions as F
from ..backend import get_namespace
from ..nodes.conv import MaxPool, Unfold, im2col, output_size
from .layer import Layer, value_of


class Convolution(Layer):
    """out[n, f] = Σ_c W[f, c] ⋆ x[n, c] + b[f]  (cross-correlation, zero padding):
    x: (N, C, H, W),  W: (FN, C, FH, FW),  b: (FN,) → (N, FN, OH, OW),
    OH = (H + 2·pad − FH) // stride + 1 (OW likewise).

    As a graph: col = unfold(x): (N, C·FH·FW, OH·OW) (DLFS's im2col, per image);
    out[n] = W_col col[n] + b with W_col = W reshaped to (FN, C·FH·FW), one matrix
    product broadcast over the images, the bias added into it (``MatMulAdd``). Its
    (N, FN, OH·OW) is NCHW as it stands: the output is a reshape, never a transposed
    copy, and so is the gradient coming back.
    """

    param_names = ("W", "b")
    _input = _filters = None  # the latest input's and filters' values

    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad
        self.dW = self.db = None  # the gradients of the latest backward, as in the book

    def graph(self, x, W, b):
        fn, c, fh, fw = W.shape
        stride, pad = self.stride, self.pad
        if x.ndim != 4 or x.shape[1] != c:  # (a window too large: output_size says so)
            raise self.shape_error(x, f"(N, {c}, H, W)")
        self._input, self._filters = value_of(x), value_of(W)
        n, _, h, w = x.shape
        oh, ow = output_size(h, fh, stride, pad), output_size(w, fw, stride, pad)
        col = Unfold(fh, fw, stride, pad)(x)
        out = F.matmul_add(F.reshape(W, (fn, -1)), col, F.reshape(b, (fn, 1)))
        return F.reshape(out, (n, fn, oh, ow))

    @property
    def col(self):
        """The book's ``col``: im2col of the latest input, (N·OH·OW, C·FH·FW); None
        before the first call."""
        if self._input is None:
            return None
        _, _, fh, fw = self._filters.shape
        return im2col(self._input, fh, fw, self.stride, self.pad)

    @property
    def col_W(self):
        """The book's ``col_W``: the latest filters as columns, (C·FH·FW, FN); None
        before the first call."""
        if self._filters is None:
            return None
        xp = get_namespace(self._filters)
        return xp.matrix_transpose(xp.reshape(self._filters, (self._filters.shape[0], -1)))


class Pooling(Layer):
    """out[n, c, i, j] = max of the pool_h × pool_w window (i, j) of x[n, c], zero
    padded by ``pad``, windows ``stride`` apart:  (N, C, H, W) → (N, C, OH, OW).

    ∂L/∂x: each ∂L/∂out goes to the first maximum of its window (DLFS's argmax).
    """

    _input = None  # the latest input's value

    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad

    def graph(self, x):
        if x.ndim != 4:
            raise self.shape_error(x, "(N, C, H, W)")
        self._input = value_of(x)
        return MaxPool(self.pool_h, self.pool_w, self.stride, self.pad)(x)

    @property
    def arg_max(self):
        """The book's ``arg_max``: the first maximum of each window of the latest
        input, one per row (n, i, j, c) of its im2col, (N·OH·OW·C,); None before the
        first call."""
        if self._input is None:
            return None
        col = im2col(self._input, self.pool_h, self.pool_w, self.stride, self.pad)
        xp = get_namespace(col)
        return xp.argmax(xp.reshape(col, (-1, self.pool_h * self.pool_w)), axis=1)
