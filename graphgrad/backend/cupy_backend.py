"""CuPy as a graphgrad array namespace: the "cuda" device.

``graphgrad.backend`` imports this module only when a CuPy array or
``device="cuda"`` shows up, so graphgrad itself never imports CuPy. CuPy mirrors
numpy's API; the array-API names older CuPy releases lack fall back to their numpy
spellings, and the extras use CuPy's own tools (``scatter_add``, strided views).

Importing fails with ImportError when CuPy is missing or finds no CUDA GPU.
"""
import numpy as np

try:
    import cupy
    import cupyx
except ImportError as error:
    raise ImportError(
        "CuPy is not installed (pip install 'graphgrad[cuda]' installs the CUDA 12 "
        "wheel, cupy-cuda12x)") from error

from .array_api import ArrayAPINamespace, strided_windows
from .numpy_backend import isdtype as _numpy_isdtype


def _gpu_count():
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError:
        return 0


if not _gpu_count():
    raise ImportError("CuPy is installed but finds no CUDA GPU")


def _on_device(index):
    """``index`` with its numpy integer arrays (labels) copied to the GPU."""
    if isinstance(index, tuple):
        return tuple(_on_device(part) for part in index)
    return cupy.asarray(index) if isinstance(index, np.ndarray) else index


class CupyNamespace(ArrayAPINamespace):
    """CuPy, adapted: arrays on the current CUDA device."""

    def __init__(self):
        super().__init__(cupy, "cuda", array_type=cupy.ndarray)
        sliding = getattr(cupy.lib.stride_tricks, "sliding_window_view", None)
        self._sliding_window_view = sliding

    # names missing from older CuPy (before its numpy 2 API)
    def permute_dims(self, x, axes):
        return cupy.transpose(x, axes)

    def matrix_transpose(self, x):
        return cupy.swapaxes(x, -1, -2)

    def astype(self, x, dtype, copy=True):
        if isinstance(x, (bool, int, float)):
            return cupy.asarray(x, dtype=dtype)
        return x.astype(dtype, copy=copy)

    def isdtype(self, dtype, kind):
        return _numpy_isdtype(dtype, kind)  # CuPy's dtypes are numpy's

    def numpy_dtype(self, dtype):
        return None  # CuPy's dtypes are numpy's: none of its own to name

    def asarray(self, obj, dtype=None, copy=None):
        return cupy.array(obj, dtype=dtype) if copy else cupy.asarray(obj, dtype=dtype)

    def mask(self, condition, dtype):
        return condition  # CuPy multiplies booleans as numpy does

    def to_numpy(self, x):
        return cupy.asnumpy(x)

    def from_numpy(self, array):
        return cupy.asarray(array)

    def getitem(self, x, index):
        return x[_on_device(index)]  # CuPy indexes as numpy does

    def setitem(self, x, index, value):
        """A copy of ``x`` with ``value`` written at ``index``."""
        out = x.copy()
        out[_on_device(index)] = value
        return out

    def getitem_grad(self, gy, index, shape):
        """Zeros of ``shape`` with ``gy`` added at ``index`` (repeats accumulate)."""
        gx = cupy.zeros(shape, dtype=gy.dtype)
        cupyx.scatter_add(gx, _on_device(index), gy)
        return gx

    def windows(self, x, filter_h, filter_w, stride=1, pad=0):
        """(N, C, OH, OW, FH, FW) windows of zero-padded ``x``: a view where CuPy
        has ``sliding_window_view``, else gathered from strided slices."""
        if self._sliding_window_view is None:
            return strided_windows(cupy, self.zeros, x, filter_h, filter_w, stride, pad)
        if pad:
            x = cupy.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
        view = self._sliding_window_view(x, (filter_h, filter_w), axis=(2, 3))
        return view[:, :, ::stride, ::stride]


namespace = CupyNamespace()
