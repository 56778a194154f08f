"""Fused nodes: one node with a closed-form backward where a composite takes many.

``graphgrad.activations`` builds the same functions from primitive nodes (so the
graph shows every step); these are what the layers use for speed. The tests prove
the two forms agree in value and gradient.
"""
import numpy as np

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
        with np.errstate(over="ignore"):  # e^±x = inf gives the right limit 0
            self.out = 1 / (1 + np.exp(-x))
            self.complement = 1 / (1 + np.exp(x))
        return self.out

    def backward(self, dout):
        y = self.out
        complement = 1 - y if isinstance(y, Tensor) else self.complement
        return dout * y * complement


class SoftmaxWithLoss(Node):
    """L = −(1/N) Σₙ log softmax(xₙ)[tₙ];   ∂L/∂x = (softmax(x) − t) / N · ∂L.

    ``x`` holds scores, one row per sample (N rows; a 1-D ``x`` is one sample);
    ``t`` holds integer labels (one per row) or one-hot rows. The loss is computed
    with log-sum-exp, so it stays finite for any finite scores. (DLFS adds 1e-7
    inside the log; that changes the loss by less than 1e-6 relative.)
    """

    __slots__ = ("x", "y", "t", "labels", "n")
    op = "softmax_with_loss"
    saved = ("x", "y", "t")
    saved_inputs = {"x": 0}

    def forward(self, x, t):
        x, t = np.asarray(x), np.asarray(t)
        self.labels = are_labels(x, t)
        self.n = x.shape[0] if x.ndim > 1 else 1
        z = x - x.max(axis=-1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=-1, keepdims=True)
        self.x, self.t, self.y = x, t, e / s
        log_s = np.log(s)  # −log softmax(x) = log s − z
        if self.labels:
            return (log_s.sum() - rows(z)[np.arange(t.size), t.reshape(-1)].sum()) / self.n
        return (t * (log_s - z)).sum() / self.n

    def backward(self, dout):
        if isinstance(dout, Tensor):  # create_graph: let softmax(x) be differentiated
            from ..activations import softmax
            return (softmax(self.x) - one_hot(self.x, self.t)) * (dout / self.n), None
        if self.labels:
            dx = self.y.copy()
            rows(dx)[np.arange(self.t.size), self.t.reshape(-1)] -= 1
        else:
            dx = self.y - self.t
        dx *= dout / self.n
        return dx, None


def rows(a):
    """``a`` as a matrix with one row per sample (a view)."""
    return a.reshape(-1, a.shape[-1])


def are_labels(x, t):
    """True for integer labels (one per row of ``x``), False for one-hot rows;
    anything else raises ValueError."""
    classes = x.shape[-1]
    if t.dtype.kind in "iu" and t.shape == x.shape[:-1]:
        if t.size and (t.max() >= classes or t.min() < 0):
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
    x, t = np.asarray(getattr(x, "data", x)), np.asarray(t)
    if are_labels(x, t):
        return np.eye(x.shape[-1], dtype=x.dtype)[t]
    return t.astype(x.dtype, copy=False)
