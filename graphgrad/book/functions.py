"""The book's activation and loss functions (ch3–4, its ``common/functions.py``).

Each takes numpy values or tensors. Given numpy values it returns numpy values, as
the book's do (``sigmoid(np.array([-1.0, 1.0, 2.0]))`` is an array); given a tensor
it records graphgrad's nodes and returns a tensor, so the result can be
differentiated.
"""
import functools

import numpy as np

from .. import activations
from .. import functions as F
from ..tensor import Tensor


def _numpy_unless_tensors(graph_fn):
    """``graph_fn``, returning its value (numpy) when no argument is a tensor."""
    @functools.wraps(graph_fn)
    def book_fn(*args):
        out = graph_fn(*args)
        return out if any(isinstance(a, Tensor) for a in args) else out.data

    return book_fn


def step_function(x):
    """h(x) = 1 where x > 0, else 0, element-wise: an integer array (the book's
    ``np.array(x > 0, dtype=int)``). Its derivative is 0 wherever it exists, so it
    is not recorded: the reason ch3 moves on to the sigmoid."""
    return np.array(x > 0, dtype=int)


def identity_function(x):
    """σ(x) = x: the output layer's activation for regression."""
    return x


@_numpy_unless_tensors
def sigmoid(x):
    """σ(x) = 1 / (1 + e^−x), element-wise; on a tensor one ``Sigmoid`` node,
    ∂σ/∂x = σ(x)(1 − σ(x)), finite for any x."""
    return activations.sigmoid(x)


@_numpy_unless_tensors
def relu(x):
    """relu(x) = max(0, x), element-wise;  ∂/∂x = [x > 0]."""
    return F.relu(x)


@_numpy_unless_tensors
def softmax(x):
    """softmax(x)ₖ = e^(xₖ − max x) / Σⱼ e^(xⱼ − max x) along the last axis (one row
    per sample)."""
    return activations.softmax(x)


@_numpy_unless_tensors
def mean_squared_error(y, t):
    """E = ½ Σₖ (yₖ − tₖ)²  (summed over every element, as the book's)."""
    return 0.5 * F.sum((y - t) ** 2)


@_numpy_unless_tensors
def cross_entropy_error(y, t):
    """E = −(1/N) Σₙ log(yₙ[tₙ] + 1e-7): y holds probabilities (one row per sample, or
    one sample), t one-hot rows or integer labels."""
    return activations.cross_entropy_error(y, t)
