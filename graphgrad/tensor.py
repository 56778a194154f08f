"""Tensor: a value in the graph, with the gradient that flows back to it.

A tensor made by ``gg.tensor`` is a *leaf*; one made by an operation remembers the
node that made it in ``.creator``, so the whole graph can be walked from a result.
Nodes hold their inputs strongly and their output weakly: dropping the result frees
the graph by reference counting alone, with no cycle for the collector.
"""
import numbers

import numpy as np

from .recording import clock, state


class Tensor:
    """A numpy value with ``.grad``, ``.name`` and the node that created it."""

    __slots__ = ("_data", "written_at", "grad", "name", "creator", "requires_grad",
                 "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad=False, name=None):
        self._data = data
        self.written_at = 0  # tick of the last write to .data (0: never rewritten)
        self.grad = None
        self.name = name
        self.creator = None
        self.requires_grad = requires_grad

    @property
    def data(self):
        """The value: a numpy array, or a numpy scalar for a 0-d tensor."""
        return self._data

    @data.setter
    def data(self, value):
        # ``t.data -= x`` ends with this assignment too, so in-place updates are seen
        self._data = value
        self.written_at = state.last_write = next(clock)

    # -- numpy-like properties -------------------------------------------------
    @property
    def shape(self):
        return getattr(self._data, "shape", ())

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return np.size(self.data)

    @property
    def dtype(self):
        return getattr(self._data, "dtype", None) or np.result_type(self._data)

    @property
    def T(self):
        return transpose(self)

    def __len__(self):
        return len(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        return np.asarray(self.data).item()

    def numpy(self):
        """The value as a numpy array (0-d for a scalar tensor)."""
        return np.asarray(self.data)

    def _repr_svg_(self):
        """Jupyter shows a computed tensor as its graph (see ``viz.repr_svg``)."""
        from viz import repr_svg
        return repr_svg(self)

    def __repr__(self):
        text = np.array2string(np.asarray(self.data), prefix="tensor(", threshold=20)
        extras = "".join(
            f", {k}={v!r}" for k, v in (("name", self.name),) if v is not None)
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

    # -- operators (each records one node) -------------------------------------
    def __add__(self, other):
        return add(self, other)

    def __radd__(self, other):
        return add(other, self)

    def __sub__(self, other):
        return sub(self, other)

    def __rsub__(self, other):
        return sub(other, self)

    def __mul__(self, other):
        return mul(self, other)

    def __rmul__(self, other):
        return mul(other, self)

    def __truediv__(self, other):
        return div(self, other)

    def __rtruediv__(self, other):
        return div(other, self)

    def __pow__(self, other):
        return pow(self, other)

    def __rpow__(self, other):
        return pow(other, self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def __neg__(self):
        return neg(self)

    def __getitem__(self, index):
        return getitem(self, index)

    # -- numpy-like methods ----------------------------------------------------
    def reshape(self, *shape):
        return reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):
        return transpose(self, (axes[0] if len(axes) == 1 else axes) or None)

    def sum(self, axis=None, keepdims=False):
        return sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return max(self, axis, keepdims)


def tensor(data, name=None, requires_grad=True, device=None):
    """Make a leaf tensor.

    Python numbers and lists become float64; numpy arrays keep their dtype (float32
    stays float32). A 0-d value is held as a numpy scalar (``np.float64``): it follows
    numpy's rules (1/0 is inf, with a warning) at a tenth of a 0-d array's cost. Integer and boolean arrays are allowed as constant inputs (labels)
    and never require grad. Complex, string and object data are rejected.
    """
    if type(data) is float:  # the fast path: scalars are numpy scalars (see below)
        return Tensor(np.float64(data), requires_grad, name)
    if device not in (None, "cpu"):
        raise ValueError(f"tensor: device {device!r} is not available; only 'cpu' is")
    if isinstance(data, Tensor):
        data = data.data
    elif isinstance(data, numbers.Number) and not isinstance(data, np.generic):
        data = np.float64(_python_number(data, name))
    elif not isinstance(data, (np.ndarray, np.generic)):
        data = np.asarray(data, dtype=np.float64 if _is_real_list(data) else None)
    kind = np.result_type(data).kind
    if kind not in "fiub":
        raise TypeError(
            f"tensor{_named(name)}: data of dtype {np.result_type(data)} is not a real "
            f"number type; graphgrad differentiates float arrays")
    return Tensor(data, requires_grad=requires_grad and kind == "f", name=name)


def _python_number(value, name):
    if isinstance(value, complex):
        raise TypeError(f"tensor{_named(name)}: complex value {value!r} is not supported")
    return float(value)


def _is_real_list(data):
    """A (nested) list or tuple of Python ints, floats and bools."""
    try:
        return np.asarray(data).dtype.kind in "iub"
    except (ValueError, TypeError):
        return False


def _named(name):
    return f" {name!r}" if name is not None else ""


# The operator functions live in graphgrad.functions, which needs Tensor first.
from .functions import (  # noqa: E402
    add, div, getitem, matmul, max, mean, mul, neg, pow, reshape, sub, sum, transpose,
)
