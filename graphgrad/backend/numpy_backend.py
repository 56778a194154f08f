"""numpy as a graphgrad array namespace: the "cpu" device, and the default.

numpy 2 has the array API's names; for numpy 1.x thin adapters stand in. Beside
them come graphgrad's extras: ``getitem``, ``sum_to`` and ``getitem_grad`` (the
adjoints of broadcasting and indexing), ``setitem`` (assignment into a copy),
``windows`` (for convolution and pooling), ``mask``, and ``to_numpy`` /
``from_numpy`` (the identity here).

numpy scalars (``np.float64``) are the 0-d values of a graph of scalars: every
function here keeps them scalars, so scalar graphs stay fast.
"""
import numpy as np
from numpy import (  # noqa: F401  (the namespace's public functions)
    all, arange, argmax, eye, finfo, int8, int64, isfinite, matmul,
    mean, ones, ones_like, sqrt, stack, where, zeros, zeros_like,
)
from numpy.lib.stride_tricks import sliding_window_view

from .array_api import weak_numbers

device = "cpu"
array_types = (np.ndarray, np.generic)

exp, log, tanh = (weak_numbers(f) for f in (np.exp, np.log, np.tanh))
_NUMBERS = (np.float64, float, int)


def maximum(x, y):
    """``np.maximum``; on a float64 scalar and a number, a comparison: a ufunc call on
    scalars costs ~1.5 µs, six times this (and a relu of a scalar graph does this)."""
    if type(x) is np.float64 and type(y) in _NUMBERS:
        return x if x >= y or x != x else np.float64(y)  # x != x: NaN wins, as in numpy
    return np.maximum(x, y)


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` as a new writable array: numpy's own returns a
    read-only view (a gradient that must be copied before it lands in ``.grad``)
    and costs twice as much for small arrays."""
    out = np.empty(shape, dtype=np.result_type(x))
    out[...] = x
    return out


# np.sum, np.max, np.min and np.reshape wrap the ufunc reductions and the method
# in Python code that costs more than the work on a small array: called directly
def sum(x, axis=None, keepdims=False):
    return _reduce(np.add, x, axis, keepdims)


def max(x, axis=None, keepdims=False):
    return _reduce(np.maximum, x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    return _reduce(np.minimum, x, axis, keepdims)


def _reduce(ufunc, x, axis, keepdims):
    """``ufunc.reduce``. Over the last axis of a tall, narrow matrix (the scores of a
    batch: ≥ 64 rows of ≤ 16 classes) it reduces a transposed copy instead, which
    numpy runs across rows at once: the row max of 100 × 10 float32 scores takes
    ~3 µs instead of ~9 µs, at 1000 × 10 ~9 µs instead of ~95 µs."""
    if (type(x) is np.ndarray and x.ndim == 2 and axis in (-1, 1)
            and x.shape[1] <= 16 and x.shape[0] >= 64):
        out = ufunc.reduce(np.ascontiguousarray(x.T), axis=0)
        return out[:, None] if keepdims else out
    return ufunc.reduce(x, axis=axis, keepdims=keepdims)


def reshape(x, shape):
    try:
        return x.reshape(shape)
    except AttributeError:  # a Python number
        return np.reshape(x, shape)


_KINDS = {"bool": "b", "signed integer": "i", "unsigned integer": "u", "integral": "iu",
          "real floating": "f", "complex floating": "c", "numeric": "iufc"}


def isdtype(dtype, kind):
    """Whether ``dtype`` is of ``kind`` (a name as in the array API, a dtype, or a
    tuple of them): ``np.isdtype``, quicker, and for numpy 1.x too."""
    dtype = np.dtype(dtype)
    if type(kind) is str:  # the usual case, without a generator (~0.5 µs)
        return dtype.kind in _KINDS[kind]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return any(dtype.kind in _KINDS[k] if type(k) is str else dtype == k for k in kinds)


permute_dims = getattr(np, "permute_dims", np.transpose)


def _asarray(obj, dtype=None, copy=None):
    """``np.asarray`` with numpy 2's ``copy`` argument, for numpy 1.x."""
    return np.array(obj, dtype=dtype) if copy else np.asarray(obj, dtype=dtype)


asarray = np.asarray if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else _asarray


def matrix_transpose(x):
    """``x`` with its last two axes swapped."""
    return np.swapaxes(x, -1, -2)


def astype(x, dtype, copy=True):
    """``x`` cast to ``dtype``: numpy scalars stay scalars, Python numbers become them."""
    try:
        return x.astype(dtype, copy=copy)
    except AttributeError:  # a Python number
        return np.dtype(dtype).type(x)


def mask(condition, dtype):
    """``condition`` as a 0/1 factor for arrays of ``dtype``: numpy multiplies
    booleans as they are, so it is returned unchanged (other namespaces cast)."""
    return condition


def to_numpy(x):
    """The value as numpy: itself (a numpy scalar stays a scalar)."""
    return x


def from_numpy(array):
    """A numpy value on this device: itself."""
    return array


def sum_to(x, shape):
    """Sum ``x`` down to ``shape``: the adjoint of ``np.broadcast_to(·, shape)``.

    Leading axes that broadcasting added are summed away; axes where ``shape`` has
    1 and ``x`` does not are summed with ``keepdims``.
    """
    xshape = getattr(x, "shape", ())
    if xshape == shape:
        return x
    shape = tuple(shape)
    lead = len(xshape) - len(shape)
    if lead:  # one reduction without keepdims: the common bias case, (N, n) -> (n,)
        x = np.add.reduce(x, axis=0 if lead == 1 else tuple(range(lead)))
        if x.shape == shape:
            return x
    kept = tuple(i for i, n in enumerate(shape) if n == 1 and x.shape[i] != 1)
    return np.add.reduce(x, axis=kept, keepdims=True) if kept else x


def getitem(x, index):
    """``x[index]``, numpy's indexing (a numpy scalar is indexed as a 0-d array)."""
    return np.asarray(x)[index]


def setitem(x, index, value):
    """A copy of ``x`` with ``value`` written at ``index`` (numpy's assignment:
    ``value`` broadcast to the region); a numpy scalar stays a scalar."""
    out = np.array(x)
    out[index] = value
    return out[()] if out.ndim == 0 else out


def getitem_grad(gy, index, shape):
    """Scatter ``gy`` into zeros of ``shape`` at ``index``: the adjoint of ``x[index]``.

    Repeated integer indices accumulate (``np.add.at``).
    """
    gx = np.zeros(shape, dtype=np.result_type(gy))
    np.add.at(gx, index, gy)
    return gx


def windows(x, filter_h, filter_w, stride=1, pad=0):
    """A view of shape (N, C, OH, OW, FH, FW): the window under each output position
    of ``x`` (N, C, H, W) zero-padded by ``pad``."""
    if pad:
        x = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    view = sliding_window_view(x, (filter_h, filter_w), axis=(2, 3))
    return view[:, :, ::stride, ::stride]
