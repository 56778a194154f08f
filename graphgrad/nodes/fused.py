"""Fused nodes: one node with a closed-form backward where a composite takes many.

``graphgrad.activations`` builds the same functions from primitive nodes (so the
graph shows every step); these are what the layers use for speed. The tests prove
the two forms agree in value and gradient.
"""
import math

import numpy as np

from ..backend import get_namespace, to_numpy
from ..node import Node
from ..tensor import Tensor


class Sigmoid(Node):
    """y = 1 / (1 + e^−x);   ∂L/∂x = ∂L/∂y · y (1 − y)   (the DLFS Sigmoid layer).

    1 − y is computed as σ(−x) rather than subtracted, so y (1 − y) stays accurate
    where y ≈ 1. Where e^±x overflows to inf, 1 / (1 + inf) = 0 is the right value.
    """

    __slots__ = ("out", "complement")
    op = "sigmoid"
    saved = ("out", "complement")
    saved_output = "out"

    def forward(self, x):
        xp = get_namespace(x)
        with np.errstate(over="ignore"):  # e^±x = inf gives the right limit 0
            self.out = 1 / (1 + xp.exp(-x))
            self.complement = 1 / (1 + xp.exp(x))
        return self.out

    def backward(self, dout):
        y = self.out
        complement = 1 - y if isinstance(y, Tensor) else self.complement
        return dout * y * complement


class SoftmaxWithLoss(Node):
    """L = −(1/N) Σₙ log softmax(xₙ)[tₙ];   ∂L/∂x = (softmax(x) − t) / N · ∂L.

    ``x`` holds scores, one row per sample (N rows; a 1-D ``x`` is one sample);
    ``t`` holds integer labels (one per row) or one-hot rows. The loss is computed
    with log-sum-exp, so it stays finite for any finite scores. DLFS instead takes
    −log(p + 1e-7) of the label's probability p, which is log(1 + 1e-7/p) less: close
    while p ≫ 1e-7 (p = 0.12: 4e-7 relative), but capped at −log 1e-7 ≈ 16.1 for a
    confidently wrong sample, whose loss here is the true −log p (scores [25, 0],
    label 1: 25.0 here, 16.1 in DLFS; ``gg.cross_entropy_error`` is DLFS's).
    """

    __slots__ = ("x", "y", "t", "labels", "n")
    op = "softmax_with_loss"
    saved = ("x", "y", "t")
    saved_inputs = {"x": 0, "t": 1}  # t too: a write into it after forward is refused

    def forward(self, x, t):
        xp = get_namespace(x)
        x, t = xp.asarray(x), xp.asarray(t)
        self.labels = are_labels(x, t)
        if not self.labels:  # one-hot rows compute in the scores' dtype
            t = xp.astype(t, x.dtype, copy=False)
        self.n = x.shape[0] if x.ndim > 1 else 1
        z = x - xp.max(x, axis=-1, keepdims=True)
        y = xp.exp(z)
        s = xp.sum(y, axis=-1, keepdims=True)
        y /= s  # in place: e^z becomes softmax(x) without another array
        self.x, self.t, self.y = x, t, y
        log_s = xp.log(s)  # −log softmax(x) = log s − z
        if self.labels:
            labels = t if t.ndim == 1 else xp.reshape(t, (-1,))
            picked = rows(z)[xp.arange(labels.shape[0]), labels]
            return (xp.sum(log_s) - xp.sum(picked)) / self.n
        return xp.sum(t * (log_s - z)) / self.n

    def backward(self, dout):
        if isinstance(dout, Tensor):  # create_graph: let softmax(x) be differentiated
            from ..activations import softmax
            # the rows by a node on the targets, so a traced recording (gg.compile,
            # onnx.export) recomputes them from new labels
            targets = OneHot(self.x._data)(self.inputs[1])
            return (softmax(self.x) - targets) * (dout / self.n), None
        t = label_rows(self.t, self.y) if self.labels else self.t
        return (self.y - t) * (dout / self.n), None


class OneHot(Node):
    """Targets as one-hot rows: integer labels tₙ → rows eₜₙ, one-hot rows cast, in the
    dtype of the scores ``like`` (an array of their shape, dtype and device), checked
    against their shape. Targets are constants of a loss: no gradient flows back
    (``None``, as ``SoftmaxWithLoss`` gives). A node, so that a compiled step
    (``gg.compile``) recomputes the rows from each call's labels."""

    __slots__ = ("like",)
    op = "one-hot"

    def __init__(self, like):
        self.like = like

    def forward(self, t):
        return one_hot(self.like, t)

    def backward(self, dout):
        return None


def rows(a):
    """``a`` as a matrix with one row per sample (a view)."""
    return a if a.ndim == 2 else get_namespace(a).reshape(a, (-1, a.shape[-1]))


def are_labels(x, t):
    """True for integer labels (one per row of ``x``), False for one-hot rows;
    anything else raises ValueError."""
    xp = get_namespace(x)
    classes = x.shape[-1]
    if xp.isdtype(t.dtype, "integral") and t.shape == x.shape[:-1]:
        if math.prod(t.shape) and (xp.min(t) < 0 or xp.max(t) >= classes):
            t = to_numpy(t)
            bad = t[(t < 0) | (t >= classes)].flat[0]
            raise ValueError(f"label {bad} is out of range for {classes} classes")
        return True
    if t.shape != x.shape:
        raise ValueError(
            f"targets of shape {t.shape} match neither labels {x.shape[:-1]} "
            f"(integers) nor one-hot rows {x.shape}")
    return False


def one_hot(x, t):
    """Targets ``t`` (labels or one-hot rows) as one-hot rows in ``x``'s dtype."""
    x = getattr(x, "data", x)
    xp = get_namespace(x)
    x, t = xp.asarray(x), xp.asarray(t)
    return label_rows(t, x) if are_labels(x, t) else xp.astype(t, x.dtype, copy=False)


def label_rows(labels, like):
    """Integer ``labels`` as one-hot rows shaped and typed like ``like``."""
    xp = get_namespace(like)
    hits = xp.reshape(labels, labels.shape + (1,)) == xp.arange(like.shape[-1])
    return xp.astype(hits, like.dtype)
