"""Any Python array API namespace (array-api-strict, …) as a graphgrad namespace.

``ArrayAPINamespace(xp, device="name")`` adapts a namespace that follows the array
API standard: it answers every standard name from ``xp`` itself, makes new arrays on
its device, and adds graphgrad's extras written in standard terms only:

* ``sum_to`` and ``getitem_grad``, the adjoints of broadcasting and indexing;
* ``windows``, the image windows that convolution and pooling read;
* ``astype`` and ``exp``/``log``/``tanh`` that accept Python numbers;
* ``to_numpy`` / ``from_numpy`` to move values between devices.

Register an instance with ``graphgrad.backend.register`` and tensors can live on
its device: ``gg.tensor(data, device="name")``.
"""
import numpy as np


def weak_numbers(function, host=None):
    """``function``, except that a Python number gives a Python float: a number
    operand takes the other operand's dtype (numpy's rule), so ``2 ** x`` with
    float32 ``x`` keeps float32 gradients (∂/∂x involves log 2). ``host`` computes
    the number's value (default: ``function`` itself)."""
    host = function if host is None else host

    def apply(x):
        if type(x) in (int, float):  # not np.float64, a float subclass with a dtype
            return float(host(x))
        return function(x)
    apply.__name__ = apply.__qualname__ = function.__name__
    return apply


def sum_to(xp, x, shape):
    """Sum ``x`` down to ``shape``: the adjoint of ``broadcast_to(·, shape)``.

    Leading axes that broadcasting added are summed away; axes where ``shape`` has
    1 and ``x`` does not are summed with ``keepdims``.
    """
    xshape = tuple(getattr(x, "shape", ()))
    shape = tuple(shape)
    if xshape == shape:
        return x
    lead = len(xshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and xshape[lead + i] != 1)
    y = xp.sum(x, axis=axes, keepdims=True)
    return xp.reshape(y, shape) if lead else y


def is_basic_index(index):
    """Whether ``index`` uses only integers, slices, ``...`` and ``None``."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice)) for p in parts)


def strided_windows(xp, zeros, x, filter_h, filter_w, stride=1, pad=0):
    """(N, C, OH, OW, FH, FW): the window under each output position of zero-padded
    ``x`` (N, C, H, W), gathered from FH·FW strided slices (a copy, not a view)."""
    n, c, h, w = x.shape
    if pad:
        padded = zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=x.dtype)
        padded[:, :, pad:pad + h, pad:pad + w] = x
        x = padded
    oh = (h + 2 * pad - filter_h) // stride + 1
    ow = (w + 2 * pad - filter_w) // stride + 1
    slices = [x[:, :, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride]
              for i in range(filter_h) for j in range(filter_w)]
    return xp.reshape(xp.stack(slices, axis=-1), (n, c, oh, ow, filter_h, filter_w))


class ArrayAPINamespace:
    """The array API namespace ``xp`` as graphgrad's namespace for device ``device``.

    ``native_device``: the device object ``xp``'s creation functions take (None: its
    default). ``array_type``: the type of ``xp``'s arrays (default: found by making
    one). Names not defined here come from ``xp`` unchanged.
    """

    def __init__(self, xp, device, native_device=None, array_type=None):
        self.xp = xp
        self.device = device
        self.native_device = native_device
        self._on = {} if native_device is None else {"device": native_device}
        if array_type is None:
            array_type = type(xp.zeros((), **self._on))
        self.array_types = (array_type,)
        self.exp, self.log, self.tanh = (
            weak_numbers(getattr(xp, name), getattr(np, name))
            for name in ("exp", "log", "tanh"))

    def __getattr__(self, name):
        if name == "xp" or name.startswith("__"):  # not set yet (copy, pickle)
            raise AttributeError(name)
        value = getattr(self.xp, name)
        setattr(self, name, value)  # found once, then a plain attribute
        return value

    def __repr__(self):
        return f"<graphgrad namespace {self.device!r}: {self.xp.__name__}>"

    # -- new arrays on this device ---------------------------------------------
    def asarray(self, obj, dtype=None, copy=None):
        return self.xp.asarray(obj, dtype=dtype, copy=copy, **self._on)

    def zeros(self, shape, dtype=None):
        return self.xp.zeros(shape, dtype=dtype, **self._on)

    def ones(self, shape, dtype=None):
        return self.xp.ones(shape, dtype=dtype, **self._on)

    def eye(self, n, dtype=None):
        return self.xp.eye(n, dtype=dtype, **self._on)

    def arange(self, *args, dtype=None):
        return self.xp.arange(*args, dtype=dtype, **self._on)

    def astype(self, x, dtype, copy=True):
        """``x`` cast to ``dtype``; a Python number becomes a 0-d array."""
        if isinstance(x, (bool, int, float)):
            return self.asarray(x, dtype=dtype)
        return self.xp.astype(x, dtype, copy=copy)

    def mask(self, condition, dtype):
        """``condition`` as a 0/1 factor of ``dtype`` (the standard multiplies no
        booleans with numbers)."""
        return self.astype(condition, dtype)

    # -- moving between devices ------------------------------------------------
    def from_numpy(self, array):
        """A numpy array (or scalar) as an array on this device."""
        return self.asarray(np.asarray(array))

    def to_numpy(self, x):
        """An array of this device as a numpy array (by DLPack)."""
        return np.from_dlpack(x)

    # -- graphgrad's extras ----------------------------------------------------
    def sum_to(self, x, shape):
        return sum_to(self.xp, x, shape)

    def getitem_grad(self, gy, index, shape):
        """Zeros of ``shape`` with ``gy`` at ``index`` (basic indexing only: integer
        arrays may repeat, which needs a scatter-add the standard does not have)."""
        if not is_basic_index(index):
            raise TypeError(
                f"the gradient of integer-array indexing needs a scatter-add, which "
                f"device {self.device!r} ({self.xp.__name__}) does not provide")
        gx = self.zeros(shape, dtype=gy.dtype)
        gx[index] = gy
        return gx

    def windows(self, x, filter_h, filter_w, stride=1, pad=0):
        return strided_windows(self.xp, self.zeros, x, filter_h, filter_w, stride, pad)
