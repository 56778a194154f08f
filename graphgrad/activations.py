"""Sigmoid, softmax and the cross-entropy loss, each as a composite of primitive
nodes (grouped in a scope, so the graph shows every step) and, where DLFS fuses
them into one layer, as a fused node with the closed-form backward."""
import numpy as np

from . import functions as F
from .nodes.fused import Sigmoid, SoftmaxWithLoss, one_hot
from .recording import scope
from .tensor import Tensor


def sigmoid(x, fused=True):
    """σ(x) = 1 / (1 + e^−x), element-wise.

    ``fused=False`` records the DLFS step graph: ``× −1``, ``exp``, ``+ 1``, ``1 /``,
    in a scope named "sigmoid". Its first node clamps x at −(log(max float) − 1) so
    that ``exp`` never overflows (a node in the graph, as max-subtraction is for
    softmax); σ there is below 1e-300 (float64) or 1e-38 (float32) either way.
    ``fused=True`` records one ``Sigmoid`` node whose backward is dout·y(1 − y).
    """
    if fused:
        return Sigmoid()(x)
    with scope("sigmoid"):
        floor = -(np.log(np.finfo(_float_dtype(x)).max) - 1)
        return 1 / (1 + F.exp(F.maximum(x, floor) * -1))


def softmax(x, axis=-1):
    """softmax(x) = e^(x − max x) / Σ e^(x − max x) along ``axis`` (a composite)."""
    with scope("softmax"):
        e = F.exp(x - F.max(x, axis=axis, keepdims=True))
        return e / F.sum(e, axis=axis, keepdims=True)


def cross_entropy_error(y, t):
    """The DLFS cross-entropy error: −(1/N) Σₙ log(yₙ[tₙ] + 1e-7) (a composite).

    ``y`` holds probabilities, one row per sample (1-D: one sample); ``t`` holds
    integer labels or one-hot rows.
    """
    y = y if isinstance(y, Tensor) else Tensor(np.asarray(y))
    t = _labels(y.data, t)
    with scope("cross_entropy_error"):
        rows = y.reshape(1, -1) if y.ndim == 1 else y
        picked = rows[np.arange(rows.shape[0]), t.reshape(-1)]
        return F.sum(F.log(picked + 1e-7)) * (-1 / rows.shape[0])


def softmax_with_loss(x, t, fused=True):
    """Softmax then cross-entropy: −(1/N) Σₙ log softmax(xₙ)[tₙ]; ∂/∂x = (y − t)/N.

    ``t``: integer labels or one-hot rows. ``fused=True`` records one
    ``SoftmaxWithLoss`` node. ``fused=False`` records the same function from
    primitives, in log space (max-subtraction, exp, sum, log, then the targets'
    log-probabilities), so that it stays finite where softmax underflows to 0.
    """
    if fused:
        return SoftmaxWithLoss()(x, t)
    with scope("softmax_with_loss"):
        z = x - F.max(x, axis=-1, keepdims=True)
        log_p = z - F.log(F.sum(F.exp(z), axis=-1, keepdims=True))
        n = log_p.shape[0] if log_p.ndim > 1 else 1
        return F.sum(log_p * one_hot(x, _data(t))) * (-1 / n)


def _labels(y, t):
    """Integer labels from labels or one-hot rows."""
    t = np.asarray(_data(t))
    return t.argmax(axis=-1) if t.shape == np.shape(y) and np.ndim(y) else t


def _data(v):
    return v.data if isinstance(v, Tensor) else v


def _float_dtype(x):
    dtype = np.result_type(_data(x))
    return dtype if dtype.kind == "f" else np.float64
