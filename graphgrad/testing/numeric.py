"""Central differences over an N-d array, as in "Deep Learning from Scratch"."""
import numpy as np

from ..backend import get_namespace


def numerical_gradient(f, x, h=1e-4):
    """∂f/∂x by central differences: (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h for each element.

    ``f(x)`` returns a number; ``x`` is a float array (numpy, or of any registered
    device) perturbed in place and restored afterwards, as in DLFS. ``f`` may ignore
    its argument and read ``x`` elsewhere (a network's weights), so ``x`` is never
    replaced by a float copy: an integer or bool ``x``, which cannot hold x ± h, is a
    TypeError. h = 1e-4 (DLFS's) suits float64 and float32; float16 rounds 1 ± h to 1.
    """
    _require_float(x)
    grad_ = get_namespace(x).zeros_like(x)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        try:
            x[idx] = original + h
            f_plus = float(f(x))
            x[idx] = original - h
            f_minus = float(f(x))
        finally:
            x[idx] = original
        grad_[idx] = (f_plus - f_minus) / (2 * h)
    return grad_


def _require_float(x):
    """TypeError unless ``x`` is a float array, naming its dtype and shape."""
    if not get_namespace(x).isdtype(x.dtype, "real floating"):
        raise TypeError(
            f"numerical_gradient: x has dtype {x.dtype} and shape {tuple(x.shape)}; it is "
            f"perturbed in place by ±h, which {x.dtype} cannot hold: pass a float array "
            f"(x.astype(float))")
