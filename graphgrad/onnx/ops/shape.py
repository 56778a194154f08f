"""ONNX forms of the nodes that move values: Reshape, Transpose, and indexing.

``x[index]`` with integers and slices only is a Slice (then a Reshape dropping the
integer-indexed axes); any other index (integer arrays, None, …) is a Gather of
the flattened x at the positions numpy's own indexing picks from ``arange``. Its
adjoint ``GetItemGrad`` scatters the same positions, adding repeats
(ScatterElements with ``reduction="add"``). A write at an index (``SetItem``)
scatters the value there, replacing (the positions are distinct); a ``Copy`` is
the Identity.
"""
import math
import numbers

import numpy as np

from ...nodes import Copy, GetItem, GetItemGrad, Reshape, SetItem, Transpose

INT64_MIN = np.iinfo(np.int64).min  # a Slice end before position 0 (negative steps)


def reshape(ctx, node, out):
    """Reshape(x, the output's shape)"""
    (x,) = ctx.operands(node)
    return ctx.g.reshape(x, out.shape)


def transpose(ctx, node, out):
    """Transpose(x, perm)"""
    (x,) = ctx.operands(node)
    ndim = node.inputs[0].ndim
    if ndim == 0:  # nothing to permute (and ONNX has no empty attribute)
        return ctx.g.op("Identity", [x])
    perm = range(ndim)[::-1] if node.axes is None else [a % ndim for a in node.axes]
    return ctx.g.op("Transpose", [x], perm=list(perm))


def positions(shape, index):
    """The flat positions that ``index`` picks from an array of ``shape``."""
    return np.arange(math.prod(shape), dtype=np.int64).reshape(shape)[index]


def getitem(ctx, node, out):
    """Slice for integers and slices, else Gather of the flat positions."""
    (x,) = ctx.operands(node)
    shape = node.inputs[0].shape
    parts = node.index if isinstance(node.index, tuple) else (node.index,)
    if len(parts) <= len(shape) and all(_basic(part) for part in parts):
        sliced = _slice(ctx.g, x, shape, parts) if parts else x
        return ctx.g.reshape(sliced, out.shape)
    flat = ctx.g.reshape(x, (math.prod(shape),))
    return ctx.g.op("Gather", [flat, ctx.g.constant(positions(shape, node.index))], axis=0)


def _basic(part):
    return isinstance(part, slice) or (
        isinstance(part, numbers.Integral) and not isinstance(part, (bool, np.bool_)))


def _slice(g, x, shape, parts):
    """Slice(x, starts, ends, axes, steps) for the integers and slices ``parts``."""
    starts, ends, steps = [], [], []
    for part, side in zip(parts, shape):
        if isinstance(part, slice):
            start, stop, step = part.indices(side)
            stop = INT64_MIN if stop < 0 else stop
        else:
            start, stop, step = part % side, part % side + 1, 1
        starts.append(start)
        ends.append(stop)
        steps.append(step)
    axes = list(range(len(parts)))
    return g.op("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])


def getitem_grad(ctx, node, out):
    """Zeros with x added at the flat positions of ``index`` (ScatterElements, add)."""
    (x,) = ctx.operands(node)
    zeros = ctx.g.op("Expand", [ctx.g.constant(0, out.dtype), ctx.g.ints([out.size])])
    return _scatter(ctx.g, zeros, node.shape, node.index, x, node.inputs[0].shape, "add")


def setitem(ctx, node, out):
    """x with v put at the flat positions of ``index`` (ScatterElements)."""
    x, v = ctx.operand(node.inputs[0]), ctx.operand(node.inputs[1], out.dtype)
    return _scatter(ctx.g, x, out.shape, node.index, v, node.inputs[1].shape, "none")


def _scatter(g, x, shape, index, v, v_shape, reduction):
    """``x`` (of ``shape``) with ``v`` broadcast to ``x[index]`` scattered onto the
    flat positions ``index`` picks, replacing or adding (``reduction``)."""
    picked = positions(shape, index)
    updates = v
    if tuple(v_shape) != picked.shape:  # broadcast to the region, as numpy does
        updates = g.op("Expand", [v, g.ints(picked.shape)])
    scattered = g.op("ScatterElements", [
        g.reshape(x, (math.prod(shape),)), g.constant(picked.reshape(-1)),
        g.reshape(updates, (picked.size,))], axis=0, reduction=reduction)
    return g.reshape(scattered, shape)


def copy(ctx, node, out):
    """Identity(x)"""
    return ctx.g.op("Identity", ctx.operands(node))


EXPORTS = {Reshape: reshape, Transpose: transpose, GetItem: getitem,
           GetItemGrad: getitem_grad, SetItem: setitem, Copy: copy}
