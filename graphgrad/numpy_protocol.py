"""numpy functions on tensors: numpy's dispatch protocols (``__array_ufunc__``,
NEP 13, and ``__array_function__``, NEP 18), as MyGrad implements them.

* A numpy function graphgrad has a node for records that node, exactly as the
  graphgrad function does: ``np.dot(x, W)`` is ``gg.dot(x, W)``, ``np.exp(t)`` is
  ``gg.exp(t)``, ``np.sum(t, axis=1)`` is ``gg.sum(t, axis=1)``, ``a * t`` with a
  numpy array ``a`` first is ``gg.mul(a, t)``. So the book's code, written with
  ``np.`` calls, builds a differentiable graph when given tensors.
* Any other numpy function computes on the values and returns what numpy returns
  for them: a plain ndarray or numpy scalar (``np.argmax(t)``, ``np.abs(t)``,
  ``np.greater(t, 0)``, ``np.concatenate([t, t])``), never a tensor, never an object
  array. Nothing is recorded, so no gradient flows through it.
* ``np.shape``, ``np.ndim`` and ``np.size`` read the tensor's shape, not its value.
* On a recorded function, arguments graphgrad cannot record (``where=``,
  ``dtype=``, ``initial=``, ``casting=``, …) raise TypeError naming the function.
  ``out=`` a numpy array computes on the values into that array and returns it, as
  numpy does (nothing recorded: an array holds no graph). ``out=`` a tensor, and
  ``ufunc.at`` on a tensor, raise TypeError: numpy would write into the tensor's
  array behind the graph's back (nodes that saved it would compute wrong
  gradients); ``t[index] = v`` is the write graphgrad records (``graphgrad.inplace``).
"""
import inspect

import numpy as np

from . import functions as F
from .tensor import Tensor


def _sqrt(x):
    """√x = x ** 0.5 (one ``Pow`` node)"""
    return F.pow(x, 0.5)


def _square(x):
    """x² = x ** 2 (one ``Pow`` node)"""
    return F.pow(x, 2)


UFUNCS = {  # numpy ufunc -> the graphgrad function recording it
    np.add: F.add, np.subtract: F.sub, np.multiply: F.mul, np.divide: F.div,
    np.negative: F.neg, np.power: F.pow, np.exp: F.exp, np.log: F.log,
    np.tanh: F.tanh, np.maximum: F.maximum, np.matmul: F.matmul,
    np.sqrt: _sqrt, np.square: _square,
}

FUNCTIONS = {  # numpy function -> the graphgrad function recording it
    np.dot: F.dot, np.sum: F.sum, np.mean: F.mean, np.max: F.max, np.amax: F.max,
    np.reshape: F.reshape, np.transpose: F.transpose, np.swapaxes: F.swapaxes,
    np.broadcast_to: F.broadcast_to, np.copy: F.copy,
}

def _size(a, axis=None):
    """np.size of tensor ``a``, asked of a stand-in of its shape that holds no memory
    (a broadcast scalar), so ``axis`` means what numpy takes it to mean."""
    return np.size(np.broadcast_to(False, a.shape), axis)


METADATA = {  # numpy function -> its answer from the tensor's shape alone
    np.shape: lambda a: a.shape,
    np.ndim: lambda a: a.ndim,
    np.size: _size,
}

_RENAMED = {"a": "x", "b": "y", "array": "x", "newshape": "shape"}  # numpy's -> graphgrad's


def _dot(a, b, out=None):
    """np.dot's signature: numpy before 2.0 gives none for this builtin."""


def array_ufunc(ufunc, method, inputs, kwargs):
    """``ufunc.method(*inputs, **kwargs)`` with a tensor among the operands."""
    graph_fn = UFUNCS.get(ufunc)
    if graph_fn is not None and method == "__call__":
        if not kwargs:
            return graph_fn(*inputs)
        _refuse_unrecordable(f"np.{ufunc.__name__}", set(kwargs) - {"out"})
    if method == "at":
        raise TypeError(f"np.{ufunc.__name__}.at writes into its first operand in place, "
                        f"which a tensor's graph cannot record; write t[index] = v, or "
                        f"set t.data = ...")
    _refuse_tensor_out(f"np.{ufunc.__name__}", kwargs.get("out", ()))
    return getattr(ufunc, method)(*values(inputs), **values(kwargs))


def array_function(func, types, args, kwargs):
    """``func(*args, **kwargs)`` (a numpy function, not a ufunc) with a tensor among
    the arguments; NotImplemented when another array type takes part."""
    if not all(issubclass(t, (Tensor, np.ndarray)) for t in types):
        return NotImplemented
    if func in METADATA:
        return METADATA[func](*args, **kwargs)
    graph_fn = FUNCTIONS.get(func)
    if graph_fn is not None:
        given = _given_arguments(func, args, kwargs)
        if "out" not in given:
            return graph_fn(**{_RENAMED.get(k, k): v for k, v in given.items()})
        _refuse_tensor_out(f"np.{func.__name__}", given["out"])
    return func(*values(args), **values(kwargs))


def values(obj):
    """``obj`` with every tensor replaced by its value as a numpy array (inside lists,
    tuples and dicts too, as ``np.concatenate([t, t])`` passes them)."""
    if isinstance(obj, Tensor):
        return np.asarray(obj)
    if type(obj) in (list, tuple):
        return type(obj)(values(v) for v in obj)
    if type(obj) is dict:
        return {k: values(v) for k, v in obj.items()}
    return obj


def _given_arguments(func, args, kwargs):
    """The arguments of the call bound to numpy's parameter names, leaving out those
    at numpy's default; TypeError naming any that the graphgrad function lacks."""
    numpy_params, graph_params = _signatures(func)
    bound = numpy_params.bind(*args, **kwargs)  # numpy's own errors for a wrong call
    given = {name: value for name, value in bound.arguments.items()
             if not _is_default(value, numpy_params.parameters[name].default)}
    unsupported = {n for n in given if _RENAMED.get(n, n) not in graph_params} - {"out"}
    _refuse_unrecordable(f"np.{func.__name__}", unsupported)
    return given


_signature_cache = {}


def _signatures(func):
    """numpy's signature of ``func`` and the parameter names of its graphgrad function."""
    if func not in _signature_cache:
        numpy_signature = inspect.signature(_dot if func is np.dot else func)
        _signature_cache[func] = (numpy_signature,
                                  set(inspect.signature(FUNCTIONS[func]).parameters))
    return _signature_cache[func]


def _is_default(value, default):
    """Whether an argument leaves numpy's default as it is (``out=None``,
    ``order='C'``, numpy's "no value" marker)."""
    return value is None or value is np._NoValue or value is default or (
        isinstance(value, (str, bool)) and value == default)


def _refuse_unrecordable(name, arguments):
    """TypeError for arguments of a recorded numpy function graphgrad cannot record."""
    if arguments:
        listed = ", ".join(f"{a}=" for a in sorted(arguments))
        raise TypeError(
            f"{name} on tensors records a graphgrad node, which takes no {listed}; "
            f"call it without, or on the values (np.asarray(t)) for a plain array")


def _refuse_tensor_out(name, out):
    """TypeError when ``out`` (an array, a tuple of them, or None) holds a tensor."""
    outs = out if type(out) is tuple else (out,)
    if any(isinstance(o, Tensor) for o in outs):
        raise TypeError(
            f"{name}(..., out=tensor): a tensor's value is not written in place by numpy "
            f"(nodes that saved it would compute wrong gradients); write "
            f"y = {name}(...) for a new tensor, or give out= a numpy array")
