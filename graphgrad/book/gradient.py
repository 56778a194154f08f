"""The book's numerical derivatives and gradient descent (ch4)."""
import numpy as np

from ..backend import get_namespace
from ..testing.numeric import _require_float

__all__ = ["gradient_descent", "numerical_diff", "numerical_gradient"]


def numerical_diff(f, x):
    """df/dx ≈ (f(x + h) − f(x − h)) / 2h with h = 1e-4 (the central difference)."""
    h = 1e-4
    return (f(x + h) - f(x - h)) / (2 * h)


def numerical_gradient(f, x):
    """∂f/∂x as the book computes it: (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h for each
    element, h = 1e-4, with x perturbed in place and restored. Where x's dtype cannot
    hold xᵢ ± h (float16, or |xᵢ| ≳ 1e12 in float64) this is not the slope
    (``graphgrad.testing.numerical_gradient`` divides by the step x really took, and
    refuses one that rounds away); the book's ``gradient_descent`` with lr=10 runs
    into that, as it does in the book. An integer ``x`` is a TypeError, as there."""
    _require_float(x)
    h = 1e-4
    grad = get_namespace(x).zeros_like(x)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        try:
            x[idx] = float(original) + h
            f_plus = f(x)
            x[idx] = original - h
            f_minus = f(x)
        finally:
            x[idx] = original
        grad[idx] = (f_plus - f_minus) / (2 * h)
    return grad


def gradient_descent(f, init_x, lr=0.01, step_num=100):
    """x ← x − lr · ∇f(x), ``step_num`` times from ``init_x``, with the gradient by
    ``numerical_gradient``; returns the last x, in ``init_x``'s float dtype (float32
    stays float32, as in the book; other values become float64). ``init_x`` is left
    as it was (the book's version updated it in place)."""
    x = np.array(init_x)  # a copy
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(float)
    for _ in range(step_num):
        x -= lr * numerical_gradient(f, x)
    return x
