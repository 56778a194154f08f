"""Reductions and their adjoints: sum, mean, max over axes; broadcast_to and sum_to.

Summing over axes and broadcasting back are each other's adjoints: the gradient of a
sum is the output gradient broadcast back to the input's shape, and vice versa.
"""
import math

import numpy as np

from ..backend import get_namespace, shape_of
from ..node import Node


def reduced_axes(ndim, axis):
    """The axes a reduction over ``axis`` (None: all) removes, counted from 0. An
    axis out of range raises numpy's AxisError (a ValueError); a 0-d value has none
    to remove, and takes axis 0 or -1 as numpy's sum and max do."""
    if axis is None:
        return range(ndim)
    axes = axis if isinstance(axis, tuple) else (axis,)
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise _AxisError(a, ndim)
    return [a % ndim for a in axes] if ndim else []


_AxisError = getattr(getattr(np, "exceptions", np), "AxisError")


def checked_axis(shape, axis):
    """``axis`` for a reduction of a value of ``shape``, checked (``reduced_axes``);
    None for a 0-d value, which has no axis to reduce."""
    reduced_axes(len(shape), axis)
    return axis if shape else None


def kept_shape(shape, axis):
    """The shape of a reduction over ``axis`` with ``keepdims=True``."""
    axes = reduced_axes(len(shape), axis)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def reduced_shape(shape, axis):
    """The shape of a reduction over ``axis`` without ``keepdims``."""
    axes = reduced_axes(len(shape), axis)
    return tuple(n for i, n in enumerate(shape) if i not in axes)


class Sum(Node):
    """y = Σ_axis x;   ∂L/∂x = ∂L/∂y broadcast back over the summed axes."""

    __slots__ = ("axis", "keepdims", "x_shape", "kept")
    op = "sum"

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axis = checked_axis(shape_of(x), self.axis)
        out = get_namespace(x).sum(x, axis=self.axis, keepdims=self.keepdims)
        self.x_shape = shape_of(x)
        self.kept = kept_shape(self.x_shape, self.axis)
        return out

    def backward(self, dout):
        xp = get_namespace(dout)
        return xp.broadcast_to(xp.reshape(dout, self.kept), self.x_shape)


class Mean(Sum):
    """y = (1/n) Σ_axis x;   ∂L/∂x = ∂L/∂y / n broadcast back (n: elements averaged).

    An empty x (a side of 0) has an empty ∂L/∂x: ∂L/∂y broadcast back, with nothing to
    divide (n is 0 where a side of 0 is averaged: y is NaN there, numpy's empty mean).
    """

    __slots__ = ()
    op = "mean"

    def forward(self, x):
        self.x_shape = shape_of(x)
        self.axis = checked_axis(self.x_shape, self.axis)
        self.kept = kept_shape(self.x_shape, self.axis)
        return get_namespace(x).mean(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, dout):
        if 0 in self.x_shape:  # x is empty: so is ∂L/∂x
            return super().backward(dout)
        n = math.prod(self.x_shape) // math.prod(self.kept)
        return super().backward(dout / n)


class Max(Node):
    """y = max_axis x;   ∂L/∂x = ∂L/∂y where x is the maximum (split evenly on ties)."""

    __slots__ = ("axis", "keepdims", "share", "kept")
    op = "max"
    saved = ("share",)

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        xp = get_namespace(x)
        x = xp.asarray(x)
        self.axis = checked_axis(x.shape, self.axis)
        out = xp.max(x, axis=self.axis, keepdims=True)
        mask = xp.astype(x == out, x.dtype)
        self.share = mask / xp.sum(mask, axis=self.axis, keepdims=True)
        self.kept = out.shape
        return out if self.keepdims else xp.reshape(out, reduced_shape(x.shape, self.axis))

    def backward(self, dout):
        return get_namespace(dout).reshape(dout, self.kept) * self.share

    def kinks(self, x):
        """d = x − the largest other element of its slice (``max_margin``)."""
        return max_margin(x, self.axis)


def max_margin(x, axis):
    """x − the largest *other* element along ``axis``: positive at a slice's unique
    maximum, negative elsewhere, 0 where the maximum is tied (the kinks of max)."""
    xp = get_namespace(x)
    x = xp.asarray(x)
    top = xp.max(x, axis=axis, keepdims=True)
    is_top = x == top
    ties = xp.sum(xp.astype(is_top, x.dtype), axis=axis, keepdims=True) > 1
    runner_up = xp.max(xp.where(is_top, -math.inf, x), axis=axis, keepdims=True)
    return x - xp.where(is_top & ~ties, runner_up, top)


def broadcasts(shape, target):
    """Whether ``shape`` broadcasts to ``target`` (numpy's rule): it has no more axes,
    and each of its sides, aligned from the last, is 1 or the side of ``target``."""
    lead = len(target) - len(shape)
    return lead >= 0 and all(n in (1, m) for n, m in zip(shape, target[lead:]))


class SumTo(Node):
    """y = x summed down to ``shape`` (undoing a broadcast);  ∂L/∂x = ∂L/∂y broadcast."""

    __slots__ = ("shape", "x_shape")
    op = "sum_to"

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = shape_of(x)
        if not broadcasts(self.shape, self.x_shape):
            raise ValueError(f"cannot sum shape {self.x_shape} to {self.shape}, which "
                             f"does not broadcast to it")
        return get_namespace(x).sum_to(x, self.shape)

    def backward(self, dout):
        return get_namespace(dout).broadcast_to(dout, self.x_shape)


class BroadcastTo(Node):
    """y = x broadcast to ``shape``;   ∂L/∂x = ∂L/∂y summed back to x's shape."""

    __slots__ = ("shape", "x_shape")
    op = "broadcast"

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.x_shape = shape_of(x)
        if len(self.x_shape) > len(self.shape):  # numpy's out[...] = x drops leading 1s
            raise ValueError(f"cannot broadcast shape {self.x_shape} to {self.shape}, "
                             f"which has fewer axes")
        return get_namespace(x).broadcast_to(x, self.shape)

    def backward(self, dout):
        return get_namespace(dout).sum_to(dout, self.x_shape)
