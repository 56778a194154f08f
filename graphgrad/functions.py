"""One lowercase function per node: ``exp(x)`` is ``Exp()(x)``.

These take tensors, arrays or numbers and return tensors. With the same names and
signatures as numpy's, this module is also the array namespace that node ``backward``
code uses on tensors when ``create_graph=True`` (see ``graphgrad.backend``).
"""
import copy as copy_module

import numpy as np

from . import backend, nodes
from .recording import refuse_in_compile
from .tensor import Tensor


def add(x, y):
    """x + y"""
    return nodes.Add().apply(x, y)


def sub(x, y):
    """x − y"""
    return nodes.Sub().apply(x, y)


def mul(x, y):
    """x · y"""
    return nodes.Mul().apply(x, y)


def div(x, y):
    """x / y"""
    return nodes.Div().apply(x, y)


def neg(x):
    """−x"""
    return nodes.Neg().apply(x)


def pow(x, y):
    """x ** y"""
    return nodes.Pow().apply(x, y)


def exp(x):
    """eˣ"""
    return nodes.Exp().apply(x)


def log(x):
    """natural logarithm"""
    return nodes.Log().apply(x)


def tanh(x):
    """hyperbolic tangent"""
    return nodes.Tanh().apply(x)


def relu(x):
    """max(x, 0)"""
    return nodes.Relu().apply(x)


def maximum(x, y):
    """element-wise maximum, broadcasting"""
    return nodes.Maximum().apply(x, y)


def matmul(x, y):
    """x @ y"""
    return nodes.MatMul().apply(x, y)


def matmul_add(x, y, b):
    """x @ y + b, the bias added into the product's array"""
    return nodes.MatMulAdd().apply(x, y, b)


def dot(x, y):
    """np.dot(x, y)"""
    return nodes.Dot().apply(x, y)


def sum(x, axis=None, keepdims=False):
    """Σ over ``axis`` (all axes when None)"""
    return nodes.Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """mean over ``axis`` (all axes when None)"""
    return nodes.Mean(axis, keepdims)(x)


def max(x, axis=None, keepdims=False):
    """maximum over ``axis`` (all axes when None)"""
    return nodes.Max(axis, keepdims)(x)


def reshape(x, shape):
    """x with a new shape of the same size"""
    shape = tuple(shape) if np.iterable(shape) else (shape,)
    if isinstance(x, Tensor) and x.shape == shape:
        return x
    return nodes.Reshape(shape)(x)


def transpose(x, axes=None):
    """x with its axes permuted (reversed when ``axes`` is None)"""
    return nodes.Transpose(axes)(x)


def permute_dims(x, axes):
    """x with its axes permuted (the array API's name for ``transpose``)"""
    return nodes.Transpose(axes)(x)


def matrix_transpose(x):
    """x with its last two axes exchanged"""
    return swapaxes(x, -1, -2)


def swapaxes(x, axis1, axis2):
    """x with two axes exchanged"""
    axes = list(range(np.ndim(x)))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, axes)


def broadcast_to(x, shape):
    """x broadcast to ``shape`` (a number n is the shape (n,), as in numpy)"""
    shape = tuple(shape) if np.iterable(shape) else (shape,)
    if isinstance(x, Tensor) and x.shape == shape:
        return x
    return nodes.BroadcastTo(shape)(x)


def sum_to(x, shape):
    """x summed down to ``shape`` (the adjoint of broadcast_to)"""
    if isinstance(x, Tensor) and x.shape == tuple(shape):
        return x
    return nodes.SumTo(shape)(x)


def getitem(x, index):
    """x[index]; tensors inside ``index`` are used by value"""
    return nodes.GetItem(_index_values(index))(x)


def setitem(x, index, value):
    """a copy of x with ``value`` written at ``index`` (x is left as it is);
    tensors inside ``index`` are used by value"""
    return nodes.SetItem(_index_values(index))(x, value)


def _index_values(index):
    """``index`` with each tensor in it replaced by its value, and each array or
    list in it copied: the node keeps the index for its backward, so a later write
    into the caller's index array must not change it"""
    parts = index if isinstance(index, tuple) else (index,)
    if not any(isinstance(i, (Tensor, list)) or _is_array(i) for i in parts):
        return index  # integers, slices, None, Ellipsis: immutable
    tensors = [i for i in parts if isinstance(i, Tensor)]
    if tensors:
        refuse_in_compile("x[index] takes the values of an index tensor computed "
                          "from the step's inputs as constants", tensors)
    values = tuple(_index_copy(i.data if isinstance(i, Tensor) else i) for i in parts)
    return values if isinstance(index, tuple) else values[0]


def _index_copy(part):
    """A copy of a mutable part of an index (an array or a list); others as they are."""
    if isinstance(part, list):
        return copy_module.deepcopy(part)
    if _is_array(part):
        return backend.get_namespace(part).asarray(part, copy=True)
    return part


def _is_array(part):
    """Whether ``part`` is an array (of any library; a numpy scalar is none)."""
    return hasattr(part, "shape") and not isinstance(part, (np.generic, Tensor))


def copy(x):
    """a copy of x (a new array); the gradient passes through unchanged"""
    return nodes.Copy()(x)


def getitem_grad(x, index, shape):
    """zeros of ``shape`` with x added at ``index`` (the adjoint of getitem)"""
    return nodes.GetItemGrad(index, shape)(x)


def astype(x, dtype):
    """x in ``dtype`` (numpy's, or x's array library's own); gradients flow back
    in x's dtype"""
    return nodes.Cast(backend.numpy_dtype(dtype))(x)


def to_device(x, device):
    """x copied to ``device`` ("cpu", "cuda", …); gradients flow back"""
    return nodes.ToDevice(device)(x)
