"""Sigmoid, softmax and the cross-entropy loss, each as a composite of primitive
nodes (grouped in a scope, so the graph shows every step) and, where DLFS fuses
them into one layer, as a fused node with the closed-form backward."""
import numpy as np

from . import functions as F
from .backend import device_of, get_namespace, is_array, to_device
from .node import describe_operands
from .nodes.elementwise import OverflowingExp
from .nodes.fused import OneHot, Sigmoid, SoftmaxWithLoss
from .recording import scope
from .tensor import Tensor


def sigmoid(x, fused=True):
    """σ(x) = 1 / (1 + e^−x), element-wise.

    ``fused=False`` records the DLFS step graph (figure 5-19), exactly its four
    nodes, in a scope named "sigmoid": ``× −1``, ``exp``, ``+ 1``, ``1 /``. Where
    e^−x overflows (x < −709.78 in float64) the ``exp`` step gives inf, quietly, and
    1 / (1 + inf) = 0 is σ's limit; its backward keeps the gradient finite there
    (``OverflowingExp``). ``fused=True`` records one ``Sigmoid`` node whose backward
    is dout·y(1 − y).
    """
    if fused:
        return Sigmoid()(x)
    with scope("sigmoid"):
        return 1 / (1 + OverflowingExp()(F.mul(x, -1)))


def softmax(x, axis=-1):
    """softmax(x) = e^(x − max x) / Σ e^(x − max x) along ``axis`` (a composite)."""
    with scope("softmax"):
        e = F.exp(x - F.max(x, axis=axis, keepdims=True))
        return e / F.sum(e, axis=axis, keepdims=True)


def cross_entropy_error(y, t):
    """The DLFS cross-entropy error: −(1/N) Σₙ log(yₙ[tₙ] + 1e-7) (a composite),
    recorded as the book's one-hot form −(1/N) Σ t ⊙ log(y + 1e-7).

    ``y`` holds probabilities, one row per sample (1-D: one sample); ``t`` holds
    integer labels (one per row) or one-hot rows; labels outside the classes raise
    ValueError.
    """
    y = y if isinstance(y, Tensor) else Tensor(y if is_array(y) else np.asarray(y))
    with scope("cross_entropy_error"):
        n = y.shape[0] if y.ndim > 1 else 1
        targets = _one_hot("cross_entropy_error", y, t)
        return F.sum(targets * F.log(y + 1e-7)) * (-1 / n)


def softmax_with_loss(x, t, fused=True):
    """Softmax then cross-entropy: −(1/N) Σₙ log softmax(xₙ)[tₙ]; ∂/∂x = (y − t)/N.

    ``t``: integer labels or one-hot rows (copied to x's device if they are not
    a tensor). ``fused=True`` records one ``SoftmaxWithLoss`` node. ``fused=False``
    records the book's two blocks (figure 5-29) as scopes inside a
    "softmax_with_loss" scope:

    * "Softmax": z = x − max x, then log y = z − log Σ e^z (exp, sum, log), the
      log of the softmax, which stays finite where y itself underflows to 0;
    * "Cross Entropy Error": −(1/N) Σ t ⊙ log y, the targets as one-hot rows (a
      ``OneHot`` node, so that ``gg.compile`` recomputes them from new labels).
    """
    if fused:
        return SoftmaxWithLoss()(x, _targets_near(x, t))
    with scope("softmax_with_loss"):
        with scope("Softmax"):
            z = x - F.max(x, axis=-1, keepdims=True)
            log_y = z - F.log(F.sum(F.exp(z), axis=-1, keepdims=True))
            log_y.name = "log y"
        with scope("Cross Entropy Error"):
            n = log_y.shape[0] if log_y.ndim > 1 else 1
            return F.sum(_one_hot("softmax_with_loss", x, t) * log_y) * (-1 / n)


def _one_hot(op, x, t):
    """The targets ``t`` (labels or one-hot rows) as one-hot rows like ``x``, by a
    ``OneHot`` node; its ValueError (labels out of range, targets of the wrong
    shape) is raised again naming ``op`` and both operands."""
    xp = get_namespace(_data(x))
    like = xp.broadcast_to(xp.zeros((), dtype=x.dtype), x.shape)  # no memory
    t = _targets_near(x, t)
    try:
        return OneHot(like)(t if isinstance(t, Tensor) else Tensor(t))
    except ValueError as error:
        raise ValueError(f"{op} on {describe_operands((x, t))}: {error}") from error


def _targets_near(x, t):
    """Targets (constants: numpy labels, …) on the scores' device, as the composite
    forms take them; a target tensor stays where it is."""
    return t if isinstance(t, Tensor) else to_device(t, device_of(_data(x)))


def _data(v):
    return v._data if isinstance(v, Tensor) else v
