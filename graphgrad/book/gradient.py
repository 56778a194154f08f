"""The book's numerical derivatives and gradient descent (ch4)."""
import numpy as np

from ..testing import numerical_gradient

__all__ = ["gradient_descent", "numerical_diff", "numerical_gradient"]


def numerical_diff(f, x):
    """df/dx ≈ (f(x + h) − f(x − h)) / 2h with h = 1e-4 (the central difference)."""
    h = 1e-4
    return (f(x + h) - f(x - h)) / (2 * h)


def gradient_descent(f, init_x, lr=0.01, step_num=100):
    """x ← x − lr · ∇f(x), ``step_num`` times from ``init_x``, with the gradient by
    ``numerical_gradient``; returns the last x. ``init_x`` is left as it was (the
    book's version updated it in place)."""
    x = np.array(init_x, dtype=float)
    for _ in range(step_num):
        x -= lr * numerical_gradient(f, x)
    return x
