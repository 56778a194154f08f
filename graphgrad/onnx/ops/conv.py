"""ONNX forms of im2col, col2im, unfold, fold and max pooling on (N, C, H, W) images.

``im2col`` moves values without arithmetic, so it is written in its own form, a
Gather: each row's positions in the zero-padded image are ``im2col`` applied to
``arange`` (one small int64 table per image, shared by the batch). ``col2im`` is its
adjoint, a ScatterElements that adds rows onto the same positions. ``unfold`` and
``fold`` are the same per image, with the table transposed (windows as columns). Max
pooling is
ONNX MaxPool (after a zero Pad, since DLFS pools over zero padding where ONNX pads
with −inf); the window position of each maximum (``arg``) becomes a position in the
flattened padded input, which is what ONNX MaxPool's second output, Indices, holds.
"""
import math

import numpy as np

from ...nodes import Col2im, Im2col, MaxPool, PoolGather, PoolScatter
from ...nodes.conv import Fold, Unfold
from ...nodes.conv import im2col as im2col_rows
from ..builder import INT64


def padded_shape(shape, pad):
    n, c, h, w = shape
    return n, c, h + 2 * pad, w + 2 * pad


def pad(g, x, pad):
    """x zero-padded by ``pad`` on both sides of its last two axes."""
    if not pad:
        return x
    zero = g.constant(0, g.dtypes[x])
    return g.op("Pad", [x, g.ints([0, 0, pad, pad, 0, 0, pad, pad]), zero], mode="constant")


def crop(g, x, shape, pad):
    """The inverse of ``pad``: the (H, W) window of the padded ``x``."""
    if not pad:
        return x
    h, w = shape[2:]
    return g.op("Slice", [x, g.ints([pad, pad]), g.ints([pad + h, pad + w]), g.ints([2, 3])])


def window_positions(shape, fh, fw, stride, pad):
    """(OH·OW, C·FH·FW): the position in one flattened padded image of each entry
    of its ``im2col`` rows."""
    _, c, hp, wp = padded_shape(shape, pad)
    image = np.arange(c * hp * wp, dtype=INT64).reshape(1, c, hp, wp)
    return im2col_rows(image, fh, fw, stride, 0)


def im2col(ctx, node, out):
    """Gather of each window from the flattened padded images, then Reshape."""
    return ctx.g.reshape(_gather_windows(ctx, node, lambda table: table), out.shape)


def unfold(ctx, node, out):
    """Gather of each window, as a column, from the flattened padded images."""
    return _gather_windows(ctx, node, lambda table: table.T)


def _gather_windows(ctx, node, layout):
    """The window entries of the images, in ``layout`` of the positions table."""
    g = ctx.g
    (x,) = ctx.operands(node)
    shape = node.inputs[0].shape
    n, c, hp, wp = padded_shape(shape, node.pad)
    images = g.reshape(pad(g, x, node.pad), (n, c * hp * wp))
    table = layout(window_positions(shape, node.filter_h, node.filter_w, node.stride,
                                    node.pad))
    return g.op("Gather", [images, g.constant(np.ascontiguousarray(table))], axis=1)


def col2im(ctx, node, out):
    """ScatterElements adding each row entry onto its position, then a crop."""
    return _scatter_windows(ctx, node, out, lambda table: table)


def fold(ctx, node, out):
    """ScatterElements adding each column entry onto its position, then a crop."""
    return _scatter_windows(ctx, node, out, lambda table: table.T)


def _scatter_windows(ctx, node, out, layout):
    """The images that window entries (in ``layout`` of the positions table) add up to."""
    g = ctx.g
    (col,) = ctx.operands(node)
    shape = node.input_shape
    n, c, hp, wp = padded_shape(shape, node.pad)
    table = layout(window_positions(shape, node.filter_h, node.filter_w, node.stride,
                                    node.pad))
    per_image = (n, table.size)
    where = g.op("Expand", [g.constant(table.reshape(1, -1)), g.ints(per_image)])
    zeros = g.op("Expand", [g.constant(0, out.dtype), g.ints((n, c * hp * wp))])
    images = g.op("ScatterElements", [zeros, where, g.reshape(col, per_image)],
                  axis=1, reduction="add")
    return crop(g, g.reshape(images, (n, c, hp, wp)), shape, node.pad)


def max_pool(ctx, node, out):
    """MaxPool(zero-padded x)"""
    g = ctx.g
    (x,) = ctx.operands(node)
    return g.op("MaxPool", [pad(g, x, node.pad)], **_window(node))


def max_pool_arg(ctx, node):
    """The position of each window's first maximum in the flattened padded input:
    MaxPool's Indices (ties go to the first maximum, as in graphgrad)."""
    g = ctx.g
    (x,) = ctx.operands(node)
    return g.op("MaxPool", [pad(g, x, node.pad)], outputs=2, **_window(node))[1]


def _window(node):
    return {"kernel_shape": [node.pool_h, node.pool_w], "strides": [node.stride] * 2}


def flat_positions(arg, shape, pool_w, stride, pad):
    """Window positions ``arg`` (0 … PH·PW − 1, row-major; (N, C, OH, OW)) as
    positions in the flattened zero-padded input of ``shape`` (ONNX's Indices)."""
    n, c, hp, wp = padded_shape(shape, pad)
    arg = np.asarray(arg, dtype=INT64)
    dy, dx = np.divmod(arg, pool_w)
    oh, ow = arg.shape[2:]
    rows = np.arange(oh).reshape(oh, 1) * stride + dy
    cols = np.arange(ow) * stride + dx
    image = np.arange(n * c, dtype=INT64).reshape(n, c, 1, 1)
    return (image * hp + rows) * wp + cols


def pool_positions(ctx, node, shape):
    """The flat positions of ``node.arg``: MaxPool's Indices when the forward pass
    computed them (followed with new inputs), else a constant table."""
    derived = ctx.derived(node.arg)
    if derived is not None:
        return derived
    return ctx.g.constant(flat_positions(node.arg, shape, node.pool_w, node.stride, node.pad))


def pool_gather(ctx, node, out):
    """Gather of the flattened padded x at the pooled positions."""
    g = ctx.g
    (x,) = ctx.operands(node)
    shape = node.inputs[0].shape
    flat = g.reshape(pad(g, x, node.pad), (math.prod(padded_shape(shape, node.pad)),))
    return g.op("Gather", [flat, pool_positions(ctx, node, shape)], axis=0)


def pool_scatter(ctx, node, out):
    """ScatterElements adding dy onto the pooled positions, then a crop."""
    g = ctx.g
    (dy,) = ctx.operands(node)
    shape = node.input_shape
    padded = padded_shape(shape, node.pad)
    count = math.prod(node.inputs[0].shape)
    zeros = g.op("Expand", [g.constant(0, out.dtype), g.ints([math.prod(padded)])])
    where = g.reshape(pool_positions(ctx, node, shape), (count,))
    flat = g.op("ScatterElements", [zeros, where, g.reshape(dy, (count,))],
                axis=0, reduction="add")
    return crop(g, g.reshape(flat, padded), shape, node.pad)


EXPORTS = {Im2col: im2col, Col2im: col2im, Unfold: unfold, Fold: fold, MaxPool: max_pool,
           PoolGather: pool_gather, PoolScatter: pool_scatter}
SAVED = {(MaxPool, "arg"): max_pool_arg}
