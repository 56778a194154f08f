"""Tensor: a value in the graph, with the gradient that flows back to it.

A tensor made by ``gg.tensor`` is a *leaf*; one made by an operation remembers the
node that made it in ``.creator``, so the whole graph can be walked from a result.
Nodes hold their inputs strongly and their output weakly: dropping the result frees
the graph by reference counting alone, with no cycle for the collector.
"""
import math
import numbers
import operator
import warnings

import numpy as np

from .numpy_warnings import ENTRY, keep_first
from .recording import clock, mode, refuse_in_compile, writes


class Tensor:
    """A numpy value with ``.grad``, ``.name`` and the node that created it."""

    __slots__ = ("_data", "written_at", "grad", "name", "creator", "requires_grad",
                 "__weakref__")
    __hash__ = object.__hash__  # by identity (``==`` compares values, as in numpy)

    def __init__(self, data, requires_grad=False, name=None, creator=None):
        self._data = data
        self.written_at = 0  # tick of the last write to .data (0: never rewritten)
        self.grad = None
        self.name = name
        self.creator = creator
        self.requires_grad = requires_grad

    @property
    def data(self):
        """The value: a numpy array, or a numpy scalar for a 0-d tensor; on another
        device, an array of its namespace (a CuPy array on "cuda")."""
        if mode().tapes:
            _check_read(self, ".data")
        return self._data

    @data.setter
    def data(self, value):
        # ``t.data -= x`` ends with this assignment too, so in-place updates are seen
        self._data = value
        self.written_at = writes.last_write = next(clock)

    # -- numpy-like properties -------------------------------------------------
    @property
    def shape(self):
        return getattr(self._data, "shape", ())

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def dtype(self):
        dtype = getattr(self._data, "dtype", None)  # (a dtype is falsy: test for None)
        return np.result_type(self._data) if dtype is None else dtype

    @property
    def T(self):
        return transpose(self)

    @property
    def device(self):
        """Where the value lives: "cpu" (numpy), "cuda" (CuPy) or a registered name."""
        return backend.device_of(self._data)

    def to(self, device):
        """This tensor on ``device``: itself if already there, else a copy that
        gradients flow back through (a ``ToDevice`` node)."""
        if backend.namespace_for(device) is backend.get_namespace(self._data):
            return self
        return to_device(self, device)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        """The rows ``t[0], t[1], …`` (each recorded, as indexing is); a 0-d tensor is
        not iterable, as in numpy (without this, Python would iterate by indexing and
        stop at once: ``list(t)`` would be empty)."""
        if not self.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def __bool__(self):
        """The truth of a one-element tensor; of more (or none) it is ambiguous, as in
        numpy."""
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.size} elements is "
                             f"ambiguous; use .data.any() or .data.all()")
        return bool(self.item())

    def __float__(self):
        return float(self._number("float()"))

    def __int__(self):
        return int(self._number("int()"))

    def _number(self, how):
        if self.size != 1:
            raise TypeError(f"{how}: only one-element tensors convert to Python numbers "
                            f"(this one has shape {self.shape})")
        return self.item()

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)``: the value (on the host), nothing recorded. As numpy 2's
        protocol asks, ``copy=False`` raises ValueError where a copy is needed (another
        dtype, or a value on another device)."""
        value = self.numpy()
        if copy:
            return np.array(value, dtype=dtype, copy=True)
        if copy is False and (value is not self._data or (
                dtype is not None and np.dtype(dtype) != value.dtype)):
            raise ValueError(f"Unable to avoid copy while creating an array of a tensor "
                             f"({self.dtype} on {self.device}) as requested")
        return value if dtype is None else value.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """numpy ufuncs on tensors: ``np.exp(t)`` and ``ndarray * t`` record the nodes
        that ``gg.exp`` and ``gg.mul`` record; others (``np.greater``, …) compute on
        the values. See ``graphgrad.numpy_protocol``."""
        return numpy_protocol.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """numpy functions on tensors: ``np.dot``, ``np.sum``, … record graphgrad's
        nodes; others (``np.argmax``, …) return plain arrays of the values. See
        ``graphgrad.numpy_protocol``."""
        return numpy_protocol.array_function(func, types, args, kwargs)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        return self.numpy().item()

    def numpy(self):
        """The value as a numpy array (0-d for a scalar tensor), copied to the host
        from another device."""
        if mode().tapes:
            _check_read(self, ".numpy()")
        return np.asarray(backend.to_numpy(self._data))

    def to_numpy(self):
        """``numpy()`` by pandas' name, which matplotlib looks for: ``plt.plot(x, t)``
        plots the values and keeps no graph."""
        return self.numpy()

    def _repr_svg_(self):
        """Jupyter shows a computed tensor as its graph (see ``viz.repr_svg``)."""
        from viz import repr_svg
        return repr_svg(self)

    def __repr__(self):
        text = np.array2string(np.asarray(backend.to_numpy(self._data)), prefix="tensor(",
                               threshold=20)
        extras = "".join(f", {k}={v!r}" for k, v in (
            ("name", self.name), ("device", self.device)) if v not in (None, "cpu"))
        if self.creator is not None:
            extras += f", op={self.creator.op!r}"
        return f"tensor({text}{extras})"

    # -- gradients --------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Backpropagate from this tensor: every tensor of its graph gets ``.grad``.

        ``grad`` seeds the sweep (default: ones of this tensor's shape, the DLFS
        ``dout = 1``). Gradients accumulate into existing ``.grad`` values.
        Saved forward values are freed afterwards unless ``retain_graph=True``.
        """
        from .autograd import backward
        backward(self, grad, retain_graph=retain_graph)

    # -- operators (each records one node; called directly, as the hottest path) --
    def __add__(self, other):
        return nodes.Add().apply(self, other)

    def __radd__(self, other):
        return nodes.Add().apply(other, self)

    def __sub__(self, other):
        return nodes.Sub().apply(self, other)

    def __rsub__(self, other):
        return nodes.Sub().apply(other, self)

    def __mul__(self, other):
        return nodes.Mul().apply(self, other)

    def __rmul__(self, other):
        return nodes.Mul().apply(other, self)

    def __truediv__(self, other):
        return nodes.Div().apply(self, other)

    def __rtruediv__(self, other):
        return nodes.Div().apply(other, self)

    def __pow__(self, other):
        return nodes.Pow().apply(self, other)

    def __rpow__(self, other):
        return nodes.Pow().apply(other, self)

    def __matmul__(self, other):
        return nodes.MatMul().apply(self, other)

    def __rmatmul__(self, other):
        return nodes.MatMul().apply(other, self)

    def __neg__(self):
        return nodes.Neg().apply(self)

    def __getitem__(self, index):
        return getitem(self, index)

    def __setitem__(self, index, value):
        """``x[index] = value``: a recorded ``SetItem`` where a gradient flows
        through it, else a write into the array (see ``graphgrad.inplace``)."""
        from .inplace import setitem
        setitem(self, index, value)

    # -- comparisons: boolean arrays of the values, nothing recorded -------------
    def __eq__(self, other):
        return _compare(operator.eq, self, other)

    def __ne__(self, other):
        return _compare(operator.ne, self, other)

    def __lt__(self, other):
        return _compare(operator.lt, self, other)

    def __le__(self, other):
        return _compare(operator.le, self, other)

    def __gt__(self, other):
        return _compare(operator.gt, self, other)

    def __ge__(self, other):
        return _compare(operator.ge, self, other)

    # -- numpy-like methods ----------------------------------------------------
    def reshape(self, *shape):
        if not shape:  # as numpy: reshape() is no shape (a 0-d shape is reshape(()))
            raise TypeError("reshape() takes exactly 1 argument (0 given)")
        return reshape(self, shape[0] if len(shape) == 1 else shape)

    def astype(self, dtype, copy=True):
        """This tensor in ``dtype`` (a ``Cast`` node), as numpy's ``astype``: with
        ``copy=False``, itself when it has that dtype already."""
        return self if not copy and self.dtype == dtype else astype(self, dtype)

    def transpose(self, *axes):
        """As numpy's method: ``t.transpose()`` reverses the axes; ``t.transpose(1, 0)``
        and ``t.transpose((1, 0))`` permute them (one axis for each of t's)."""
        if not axes:
            return transpose(self)
        if len(axes) == 1 and (axes[0] is None or np.iterable(axes[0])):
            axes = axes[0]
        return transpose(self, axes)

    def sum(self, axis=None, keepdims=False):
        return sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return max(self, axis, keepdims)

    def copy(self):
        """A copy with its own array, as ``ndarray.copy()`` (a ``Copy`` node: the
        gradient passes through unchanged)."""
        return copy(self)

    def argmax(self, axis=None):
        """The index of the largest value (along ``axis``): an integer array, as
        ``np.argmax`` gives; nothing recorded."""
        return self.numpy().argmax(axis)


def _compare(op, a, b):
    """``op`` (==, <, …) on the values of tensors or numbers ``a`` and ``b``: a boolean
    array (a numpy bool for 0-d), as numpy gives; not differentiable, not recorded."""
    return op(a.data if isinstance(a, Tensor) else a, b.data if isinstance(b, Tensor) else b)


def _check_read(t, how):
    """Inside ``gg.compile``'s recording, refuse to hand out the value of ``t`` when it
    changes from call to call: numpy code on it would be replayed with this value."""
    refuse_in_compile(f"reading {how} of a tensor whose value changes from call to "
                      f"call (computed from the step's inputs or parameters) takes "
                      f"it as a constant", [t])


def tensor(data, name=None, requires_grad=True, device=None):
    """Make a leaf tensor.

    Python numbers and lists become float64; numpy arrays keep their dtype (float32
    stays float32). A 0-d value is held as a numpy scalar (``np.float64``): it follows
    numpy's rules (1/0 is inf, with a warning) at a tenth of a 0-d array's cost.
    Integer and boolean arrays are allowed as constant inputs (labels) and never
    require grad. Complex, string and object data are rejected.

    ``device``: "cpu" (numpy, the default), "cuda" (CuPy; ValueError when CuPy or a
    GPU is missing) or a name given to ``graphgrad.backend.register``. An array of
    such a namespace (a CuPy array, …) stays on its device when ``device`` is None.
    """
    filters = warnings.filters  # numpy's warnings in nodes said again: see numpy_warnings
    if not filters or filters[0] is not ENTRY:  # moved by a catch_warnings block
        keep_first()
    if device is None:  # the fast paths: a Python float, a numpy float array
        if type(data) is float:
            return Tensor(np.float64(data), requires_grad, name)
        if type(data) is np.ndarray and data.dtype.kind == "f":
            return Tensor(data, requires_grad, name)
    if isinstance(data, Tensor):
        data = data.data
    elif isinstance(data, numbers.Number) and not isinstance(data, (np.generic, complex)):
        data = np.float64(data)
    elif not isinstance(data, (np.ndarray, np.generic)) and not backend.is_array(data):
        data = _array(data, name)
    if device is not None:
        data = _on_device(data, device, name)
    xp = backend.get_namespace(data)
    if not xp.isdtype(data.dtype, ("real floating", "integral", "bool")):
        raise TypeError(
            f"tensor{_named(name)}: data of dtype {data.dtype} (shape "
            f"{backend.shape_of(data)}) is not a real number type; graphgrad "
            f"differentiates float arrays")
    differentiable = xp.isdtype(data.dtype, "real floating")
    return Tensor(data, requires_grad=requires_grad and differentiable, name=name)


def _on_device(data, device, name):
    """``data`` moved to ``device``; ValueError naming the tensor if it is unknown or
    unavailable (for "cuda": CuPy missing, or no GPU)."""
    try:
        return backend.to_device(data, device)
    except ValueError as error:
        raise ValueError(f"tensor{_named(name)}: {error}") from error


def _array(data, name):
    """A (nested) list or other array-like as an array; integers become float64."""
    try:
        array = np.asarray(data)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"tensor{_named(name)}: cannot make an array of this "
                         f"{type(data).__name__}: {error}") from error
    return array.astype(np.float64) if array.dtype.kind in "iub" else array


def _named(name):
    return f" {name!r}" if name is not None else ""


# The operator functions live in graphgrad.functions, which needs Tensor first,
# as does graphgrad.backend (used here at call time only).
from . import backend  # noqa: E402
from .functions import (  # noqa: E402
    astype, copy, getitem, max, mean, reshape, sum, to_device, transpose,
)
from . import nodes  # noqa: E402
from . import numpy_protocol  # noqa: E402
