"""The ONNX operators ``load`` knows, each as graphgrad code: ``OPERATORS[op_type]``.

Each entry takes the node's input values (Tensors, numpy arrays for constants, or
None for an omitted optional input), its attributes as a dict and its number of
outputs, and returns the output value (a list for several). Differentiable
operators build graphgrad nodes (``Add`` → ``gg.add``, ``Slice`` → ``getitem``,
``ScatterElements`` with ``add`` → ``getitem_grad``, without → ``setitem``,
MaxPool → the ``MaxPool`` node); the others (comparisons, Cast to bool or int,
OneHot) have zero gradient and are computed in numpy on the values, so the graph is
rebuilt on every call.
"""
import math

import numpy as np
from onnx import helper

from .. import functions as F
from ..activations import sigmoid
from ..nodes import MaxPool
from ..tensor import Tensor
from .ops.conv import flat_positions


def value(v):
    """The numpy value of an operand (a Tensor's data, or the array itself)."""
    return np.asarray(v.data) if isinstance(v, Tensor) else np.asarray(v)


def ints(v):
    return [int(i) for i in value(v).reshape(-1)]


def elementwise(fn):
    """An operator computing ``fn`` on all its inputs."""
    return lambda inputs, attrs, outputs: fn(*inputs)


def reduction(fn):
    """ReduceSum, ReduceMean, ReduceMax: axes from the second input (ReduceSum;
    the others from opset 18) or the ``axes`` attribute; none: all axes."""
    def build(inputs, attrs, outputs):
        axes = attrs.get("axes")
        if len(inputs) > 1 and inputs[1] is not None:
            axes = ints(inputs[1])
        if not axes and attrs.get("noop_with_empty_axes", 0):
            return inputs[0]
        axis = tuple(axes) if axes else None
        return fn(inputs[0], axis, bool(attrs.get("keepdims", 1)))
    return build


def reshape(inputs, attrs, outputs):
    """Reshape; a 0 in the shape copies the input's side unless ``allowzero``."""
    x, shape = inputs[0], ints(inputs[1])
    if not attrs.get("allowzero", 0):
        shape = [np.shape(x)[i] if side == 0 else side for i, side in enumerate(shape)]
    if -1 in shape:  # the side that makes the size match
        known = math.prod(side for side in shape if side != -1)
        shape[shape.index(-1)] = math.prod(np.shape(x)) // known
    return F.reshape(x, tuple(shape))


def transpose(inputs, attrs, outputs):
    return F.transpose(inputs[0], attrs.get("perm"))


def expand(inputs, attrs, outputs):
    """Expand: broadcast both ways (ONNX's rule), as ``broadcast_to``."""
    x = inputs[0]
    return F.broadcast_to(x, np.broadcast_shapes(np.shape(x), tuple(ints(inputs[1]))))


def slice_(inputs, attrs, outputs):
    """Slice as ``x[start:end:step, …]`` (ONNX clamps as Python does)."""
    x, starts, ends = inputs[0], ints(inputs[1]), ints(inputs[2])
    ndim = _ndim(x)
    axes = ints(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else range(len(starts))
    steps = ints(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    index = [slice(None)] * ndim
    for axis, start, end, step in zip(axes, starts, ends, steps):
        index[axis % ndim] = slice(start, end, step)
    return F.getitem(x, tuple(index))


def gather(inputs, attrs, outputs):
    """Gather along ``axis`` as ``x[:, …, indices]``."""
    axis = attrs.get("axis", 0) % _ndim(inputs[0])
    return F.getitem(inputs[0], (slice(None),) * axis + (value(inputs[1]),))


def _element_index(indices, axis):
    """The numpy index picking ``x[…, indices[i, j, …], …]`` along ``axis``."""
    grid = np.indices(indices.shape, sparse=True)
    return tuple(indices if d == axis else grid[d] for d in range(indices.ndim))


def gather_elements(inputs, attrs, outputs):
    indices = value(inputs[1])
    return F.getitem(inputs[0], _element_index(indices, attrs.get("axis", 0) % indices.ndim))


def scatter_elements(inputs, attrs, outputs):
    """ScatterElements putting ``updates`` (``reduction="none"``) as ``setitem``, or
    adding them (``"add"``) as ``getitem_grad``."""
    data, indices, updates = inputs[0], value(inputs[1]), inputs[2]
    reduction = attrs.get("reduction", "none")
    if reduction not in ("none", "add"):
        raise NotImplementedError(f"ScatterElements: reduction={reduction!r} has no "
                                  f"graphgrad form (only 'none' and 'add')")
    index = _element_index(indices, attrs.get("axis", 0) % indices.ndim)
    if reduction == "none":
        return F.setitem(data, index, updates)
    added = F.getitem_grad(updates, index, np.shape(value(data)))
    return added if _is_zero(data) else F.add(data, added)


def _is_zero(v):
    return not isinstance(v, Tensor) and not np.any(v)


def cast(inputs, attrs, outputs):
    """Cast: a tensor that requires grad to a float dtype is the ``Cast`` node (so
    gradients flow); anything else is computed on the values."""
    x, dtype = inputs[0], helper.tensor_dtype_to_np_dtype(attrs["to"])
    if isinstance(x, Tensor) and x.requires_grad and dtype.kind == "f":
        return x.astype(dtype, copy=False)
    return _scalar(value(x).astype(dtype))


def max_pool(inputs, attrs, outputs):
    """MaxPool without padding, one stride: the ``MaxPool`` node; its Indices are
    the node's window positions made flat (``flat_positions``)."""
    (kh, kw), strides = attrs["kernel_shape"], attrs.get("strides", [1, 1])
    if any(attrs.get("pads", [0])) or len(set(strides)) != 1 or attrs.get("ceil_mode", 0) \
            or any(d != 1 for d in attrs.get("dilations", [1])) \
            or attrs.get("auto_pad", "NOTSET") != "NOTSET":
        raise NotImplementedError("MaxPool: only unpadded 2-D windows with one stride "
                                  "have a graphgrad form (graphgrad pads with zeros)")
    node = MaxPool(kh, kw, strides[0])
    x = inputs[0] if isinstance(inputs[0], Tensor) else Tensor(value(inputs[0]))
    y = node(x)
    if outputs == 1:
        return y
    return [y, flat_positions(node.arg, x.shape, kw, strides[0], 0)]


def pad(inputs, attrs, outputs):
    """Zero padding (mode "constant", value 0) as ``getitem_grad`` into zeros."""
    x, pads = inputs[0], ints(inputs[1])
    fill = inputs[2] if len(inputs) > 2 else None
    if attrs.get("mode", "constant") != "constant" or (
            fill is not None and np.any(value(fill))) or len(inputs) > 3:
        raise NotImplementedError("Pad: only zero padding of all axes has a graphgrad form")
    shape = np.shape(value(x))
    before, after = pads[:len(shape)], pads[len(shape):]
    padded = tuple(b + side + a for b, side, a in zip(before, shape, after))
    index = tuple(slice(b, b + side) for b, side in zip(before, shape))
    return F.getitem_grad(x, index, padded)


def one_hot(inputs, attrs, outputs):
    indices, depth, values = value(inputs[0]), int(value(inputs[1])), value(inputs[2])
    indices = np.where(indices < 0, indices + depth, indices)
    hits = np.expand_dims(indices, -1) == np.arange(depth)
    rows = np.where(hits, values[1], values[0])
    return np.moveaxis(rows, -1, attrs.get("axis", -1))


def numeric(fn):
    """An operator without gradient, computed in numpy on the values."""
    return lambda inputs, attrs, outputs: _scalar(fn(*(value(v) for v in inputs)))


def _scalar(array):
    """A 0-d result as a numpy scalar, as graphgrad holds 0-d values."""
    return array[()] if np.ndim(array) == 0 else array


def _ndim(v):
    return v.ndim if isinstance(v, Tensor) else np.ndim(v)


def _maximum(*inputs):
    out = inputs[0]
    for x in inputs[1:]:
        out = F.maximum(out, x)
    return out


OPERATORS = {
    "Identity": elementwise(lambda x: x),
    "Add": elementwise(F.add), "Sub": elementwise(F.sub), "Mul": elementwise(F.mul),
    "Div": elementwise(F.div), "Pow": elementwise(F.pow), "Neg": elementwise(F.neg),
    "Exp": elementwise(F.exp), "Log": elementwise(F.log), "Tanh": elementwise(F.tanh),
    "Relu": elementwise(F.relu), "Sigmoid": elementwise(sigmoid),
    "Max": elementwise(_maximum), "MatMul": elementwise(F.matmul),
    "ReduceSum": reduction(F.sum), "ReduceMean": reduction(F.mean),
    "ReduceMax": reduction(F.max),
    "Reshape": reshape, "Transpose": transpose, "Expand": expand, "Slice": slice_,
    "Gather": gather, "GatherElements": gather_elements,
    "ScatterElements": scatter_elements, "Cast": cast, "MaxPool": max_pool, "Pad": pad,
    "OneHot": one_hot,
    "Greater": numeric(np.greater), "Less": numeric(np.less), "Equal": numeric(np.equal),
    "Not": numeric(np.logical_not), "And": numeric(np.logical_and),
    "Or": numeric(np.logical_or),
}
