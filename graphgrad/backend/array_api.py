"""Any Python array API namespace (array-api-strict, …) as a graphgrad namespace.

``ArrayAPINamespace(xp, device="name")`` adapts a namespace that follows the array
API standard: it answers every standard name from ``xp`` itself, makes new arrays on
its device, and adds graphgrad's extras written in standard terms only:

* ``getitem`` by numpy's rules and ``getitem_grad``, its adjoint: an index the
  standard leaves unspecified (integer arrays mixed with slices, ``None`` in an
  assignment, …) is worked out on the host, with numpy, as flat positions that
  ``take`` gathers; the gradient's scatter-add, which the standard lacks, sorts
  and scans; ``setitem``, assignment into a copy, likewise;
* ``sum_to``, the adjoint of broadcasting;
* ``windows``, the image windows that convolution and pooling read;
* ``broadcast_to`` as a new array, not a view (numpy's namespace's contract);
* ``astype`` and ``exp``/``log``/``tanh`` that accept Python numbers;
* ``to_numpy`` / ``from_numpy`` to move values between devices.

Register an instance with ``graphgrad.backend.register`` and tensors can live on
its device: ``gg.tensor(data, device="name")``.
"""
import math
from functools import cached_property

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


def with_ellipsis(index):
    """Basic ``index`` as a tuple ending in ``...`` if it has none: numpy reads the
    axes an index leaves out as ``:``, the standard wants the ``...`` written."""
    parts = index if isinstance(index, tuple) else (index,)
    return parts if any(p is Ellipsis for p in parts) else parts + (Ellipsis,)


def flat_positions(index, shape):
    """The row-major flat positions of the elements that ``x[index]`` takes from an
    ``x`` of ``shape``: a numpy integer array shaped like ``x[index]``, by numpy's
    indexing rules (``index`` holds host values only). It takes memory for the
    result, once per axis, never for all of ``shape``."""
    positions = np.broadcast_to(np.zeros((), np.int64), shape)[index]
    stride = 1
    for axis in reversed(range(len(shape))):
        along = np.arange(shape[axis]).reshape([-1 if k == axis else 1 for k in range(len(shape))])
        positions = positions + np.broadcast_to(along, shape)[index] * stride
        stride *= shape[axis]
    return positions


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

    def broadcast_to(self, x, shape):
        """``x`` broadcast to ``shape`` as a new array, as numpy's namespace gives:
        the library's own is a view whose broadcast elements share memory (read-only
        in some libraries, in CuPy writable, so that a write into one element of a
        gradient would change them all)."""
        return self.asarray(self.xp.broadcast_to(x, shape), copy=True)

    def astype(self, x, dtype, copy=True):
        """``x`` cast to ``dtype`` (the library's own, or numpy's, as a ``Cast`` node
        holds it); a Python number becomes a 0-d array."""
        dtype = self.own_dtype(dtype)
        if isinstance(x, (bool, int, float)):
            return self.asarray(x, dtype=dtype)
        return self.xp.astype(x, dtype, copy=copy)

    @cached_property
    def dtypes(self):
        """The library's dtypes by name: ``{"float32": its float32, …}``."""
        return self.xp.__array_namespace_info__().dtypes()

    def own_dtype(self, dtype):
        """The library's dtype for ``dtype``: itself, or, for numpy's (a dtype, type
        or name), the library's of the same name."""
        try:
            name = np.dtype(dtype).name
        except TypeError:  # not numpy's: the library's own
            return dtype
        return self.dtypes[name]

    def numpy_dtype(self, dtype):
        """numpy's dtype of the same name as the library's ``dtype`` (None if it is
        not one of the library's)."""
        return next((np.dtype(name) for name, own in self.dtypes.items() if own == dtype),
                    None)

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

    def getitem(self, x, index):
        """``x[index]`` by numpy's rules. A basic index is the standard's own (with
        ``...`` added) where the standard accepts it; any other (integer or boolean
        arrays, of numpy or of this namespace, mixed with slices; a slice bound
        outside the axis) is resolved on the host to flat positions, which ``take``
        gathers."""
        if is_basic_index(index):
            try:
                return x[with_ellipsis(index)]
            except IndexError:  # numpy's, not the standard's: resolved below
                pass
        positions = flat_positions(self._on_host(index), x.shape)
        gathered = self.xp.take(self.xp.reshape(x, (-1,)), self.asarray(positions.ravel()))
        return self.xp.reshape(gathered, positions.shape)

    def getitem_grad(self, gy, index, shape):
        """Zeros of ``shape`` with ``gy`` added at ``index``: assigned where the
        standard accepts the index (basic, without ``None``, in range), else added
        at the flat positions, where repeats of an integer array accumulate (see
        ``_scatter_add``)."""
        if is_basic_index(index):
            gx = self.zeros(shape, dtype=gy.dtype)
            try:
                gx[with_ellipsis(index)] = gy
                return gx
            except IndexError:  # numpy's, not the standard's: added below
                pass
        positions = flat_positions(self._on_host(index), shape).ravel()
        gx = self._scatter_add(self.xp.reshape(gy, (-1,)), positions, math.prod(shape))
        return self.xp.reshape(gx, shape)

    def setitem(self, x, index, value):
        """A copy of ``x`` with ``value`` written at ``index`` by numpy's rules: the
        standard's own assignment where it accepts the index (basic, in range), else
        each flat position that the index picks takes its value by ``take`` (the
        positions distinct: no order of writes to choose). ``value`` is cast to
        ``x``'s dtype, as numpy's assignment casts."""
        out = self.asarray(x, copy=True)
        value = self.astype(value, x.dtype, copy=False)
        if is_basic_index(index):
            try:
                out[with_ellipsis(index)] = value
                return out
            except IndexError:  # numpy's, not the standard's: resolved below
                pass
        positions = flat_positions(self._on_host(index), x.shape)
        if not positions.size:
            return out
        size = math.prod(x.shape)
        source, written = np.zeros(size, np.int64), np.zeros(size, bool)
        source[positions.ravel()], written[positions.ravel()] = np.arange(positions.size), True
        values = self.xp.broadcast_to(value, positions.shape)
        taken = self.xp.take(self.xp.reshape(values, (-1,)), self.asarray(source))
        flat = self.xp.where(self.asarray(written), taken, self.xp.reshape(out, (-1,)))
        return self.xp.reshape(flat, x.shape)

    def _on_host(self, index):
        """``index`` with this namespace's arrays copied to numpy."""
        if isinstance(index, tuple):
            return tuple(self._on_host(part) for part in index)
        return self.to_numpy(index) if isinstance(index, self.array_types) else index

    def _scatter_add(self, values, positions, size):
        """Zeros of shape (size,) with ``values[i]`` added at ``positions[i]`` (host
        integers; repeats accumulate), in standard terms, as the standard has no
        scatter-add and no assignment through integer arrays: the values are sorted
        by position, each run of one position summed by a segmented scan (as many
        steps as log₂ of the longest run), and each position gathers its run's sum
        from the run's last element."""
        xp = self.xp
        zeros = self.zeros((size,), dtype=values.dtype)
        if not positions.size:
            return zeros
        order = np.argsort(positions, kind="stable")
        values, positions = xp.take(values, self.asarray(order)), positions[order]
        longest = int(np.unique(positions, return_counts=True)[1].max())
        step = 1
        while step < longest:  # values[i] sums its run's last 2·step values, up to i
            same = self.asarray(positions[step:] == positions[:-step])
            earlier = xp.where(same, values[:-step], xp.zeros_like(values[:-step]))
            values = xp.concat([values[:step], values[step:] + earlier])
            step *= 2
        targets = self.arange(size, dtype=xp.int64)
        runs = self.asarray(positions)
        last = xp.clip(xp.searchsorted(runs, targets, side="right") - 1, min=0)
        return xp.where(xp.take(runs, last) == targets, xp.take(values, last), zeros)

    def windows(self, x, filter_h, filter_w, stride=1, pad=0):
        return strided_windows(self.xp, self.zeros, x, filter_h, filter_w, stride, pad)
