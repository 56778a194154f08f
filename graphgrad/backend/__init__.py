"""Array namespaces: the functions node code calls on arrays *or* on tensors.

A node is written once, against a namespace ``xp = get_namespace(value)``:

* on numpy values (the default, device "cpu") ``xp`` is
  :mod:`graphgrad.backend.numpy_backend`;
* on CuPy arrays (device "cuda") it is :mod:`graphgrad.backend.cupy_backend`,
  imported the first time a CuPy array or ``device="cuda"`` shows up;
* on the arrays of a namespace given to ``register`` (e.g. array-api-strict wrapped
  in :class:`~graphgrad.backend.array_api.ArrayAPINamespace`), that namespace;
* on tensors (``create_graph=True``) it is :mod:`graphgrad.functions`, so the same
  backward code records a differentiable graph of the backward pass.

Every data namespace offers ``NAMES``: the array API names that nodes, layers and
optimizers use, and graphgrad's extras (``getitem``, ``sum_to``, ``getitem_grad``,
``setitem``, ``windows``, ``mask``, ``to_numpy``, ``from_numpy``), with its
``device`` name and ``array_types``.
"""
import importlib

import numpy as np

from ..tensor import Tensor
from . import numpy_backend
from .array_api import ArrayAPINamespace  # noqa: F401  (for register)

NAMES = (  # what a data namespace offers (the array API's names, then the extras)
    "exp", "log", "tanh", "sqrt", "maximum", "where", "matmul", "sum", "mean", "max",
    "min", "argmax", "reshape", "permute_dims", "matrix_transpose", "broadcast_to",
    "stack", "astype", "isdtype", "isfinite", "all", "zeros", "ones", "zeros_like",
    "ones_like", "eye", "arange", "asarray", "finfo", "int8", "int64",
    "getitem", "sum_to", "getitem_grad", "setitem", "windows", "mask", "to_numpy",
    "from_numpy",
    "device", "array_types",
)

__all__ = ["ArrayAPINamespace", "get_namespace", "namespace_for", "register",
           "unregister", "device_of", "to_device", "to_numpy", "is_array", "shape_of",
           "numpy_dtype"]

_by_device = {"cpu": numpy_backend}  # device name -> namespace
_by_type = {t: numpy_backend for t in (np.ndarray, np.float64, np.float32, np.bool_)}
_LAZY = {"cuda": "graphgrad.backend.cupy_backend"}  # device -> module, imported on use
_LAZY_ARRAYS = {"cupy": "cuda"}  # top-level module of an array type -> its device


def register(namespace):
    """Make ``namespace`` (with ``device`` and ``array_types``) a device for tensors:
    ``gg.tensor(data, device=namespace.device)``. One namespace per array type."""
    _by_device[namespace.device] = namespace
    for array_type in namespace.array_types:
        _by_type[array_type] = namespace


def unregister(device):
    """Forget the namespace registered for ``device``."""
    namespace = _by_device.pop(device)
    for array_type, known in list(_by_type.items()):
        if known is namespace:
            del _by_type[array_type]


def get_namespace(value, *more):
    """The namespace of the first value that is an array or a tensor (Python
    numbers go with any); numpy's when there is none."""
    namespace = _by_type.get(type(value))  # the usual case: one value, a known type
    if namespace is not None:
        return namespace
    for value in (value, *more):
        namespace = _find(value)
        if namespace is not None:
            return namespace
    return numpy_backend


def _find(value):
    """The namespace of an array or tensor of a type not met yet, or None."""
    kind = type(value)
    if isinstance(value, Tensor):
        from .. import functions
        namespace = functions
    elif isinstance(value, (np.ndarray, np.generic)):
        namespace = numpy_backend
    elif kind.__module__.partition(".")[0] in _LAZY_ARRAYS:
        namespace = namespace_for(_LAZY_ARRAYS[kind.__module__.partition(".")[0]])
    else:
        namespace = next((ns for ns in _by_device.values()
                          if isinstance(value, ns.array_types)), None)
    if namespace is not None:
        _by_type[kind] = namespace
    return namespace


def is_array(value):
    """Whether ``value`` is a numpy value or an array of a known namespace."""
    return not isinstance(value, Tensor) and (
        type(value) in _by_type or _find(value) is not None)


def namespace_for(device):
    """The namespace of ``device`` ("cpu", "cuda" or a registered name).

    Raises ValueError for an unknown device, or "cuda" without CuPy and a GPU.
    """
    device = "cpu" if device is None else device
    namespace = _by_device.get(device)
    if namespace is None and device in _LAZY:
        try:
            namespace = importlib.import_module(_LAZY[device]).namespace
        except ImportError as error:
            raise ValueError(f"device {device!r} is not available: {error}; only "
                             f"{_available()} can be used") from error
        register(namespace)
    if namespace is None:
        raise ValueError(f"unknown device {device!r}; devices: {_available()}, or "
                         f"'cuda' with CuPy")
    return namespace


def _available():
    return ", ".join(repr(name) for name in _by_device)


def device_of(value):
    """The device of an array, not a tensor (a Python number's is "cpu")."""
    return get_namespace(value).device


def to_numpy(value):
    """``value`` as a numpy value (a copy from another device)."""
    return get_namespace(value).to_numpy(value)


def to_device(value, device):
    """``value`` on ``device``: itself if already there, else a copy (via numpy)."""
    source, target = get_namespace(value), namespace_for(device)
    if source is target:
        return value
    return target.from_numpy(source.to_numpy(value))


def numpy_dtype(dtype):
    """numpy's dtype for ``dtype``: numpy's own (a dtype, type or name), or that of
    a registered array library (array-api-strict's ``float32``: numpy's float32)."""
    try:
        return np.dtype(dtype)
    except TypeError:  # another library's: the namespace that knows it names it
        for namespace in _by_device.values():
            found = getattr(namespace, "numpy_dtype", _unknown)(dtype)
            if found is not None:
                return found
        raise


def _unknown(dtype):
    return None


def shape_of(value):
    """The shape of an array, tensor or scalar (a number has shape ``()``)."""
    return getattr(value, "shape", ())


def sum_to(x, shape):
    """``x`` summed down to ``shape`` in its own namespace (the adjoint of
    broadcasting); None (a gradient not wanted) stays None."""
    return None if x is None else get_namespace(x).sum_to(x, shape)
