"""Central differences over an N-d array, as in "Deep Learning from Scratch"."""
import numpy as np

from ..backend import get_namespace


def numerical_gradient(f, x, h=1e-4):
    """∂f/∂x by central differences, for each element i:

        (f(x₊) − f(x₋)) / (x₊ᵢ − x₋ᵢ),    x± = x ± h·eᵢ as x's dtype stores it

    (2h, as in DLFS, where x's dtype holds xᵢ ± h exactly; float32 stores 1000 ± 1e-4
    as 1000 ± 1.22e-4, and dividing by 2h would give 1.22 for a slope of 1).

    ``f(x)`` returns a number; ``x`` is a float array (numpy, or of any registered
    device) perturbed in place and restored afterwards, as in DLFS. ``f`` may ignore
    its argument and read ``x`` elsewhere (a network's weights), so ``x`` is never
    replaced by a float copy: an integer or bool ``x``, which cannot hold x ± h, is a
    TypeError, a read-only one a ValueError; an element where x ± h rounds back to x
    (float16 at 1, float32 at 3e4: h is below the dtype's precision there) is a
    ValueError.
    """
    _require_float(x)
    grad_ = get_namespace(x).zeros_like(x)
    for idx in np.ndindex(x.shape):
        original = x[idx]
        try:
            x[idx] = original + h
            x_plus, f_plus = float(x[idx]), float(f(x))
            x[idx] = original - h
            x_minus, f_minus = float(x[idx]), float(f(x))
        finally:
            x[idx] = original
        grad_[idx] = (f_plus - f_minus) / _step(x_plus, x_minus, x, idx, h)
    return grad_


def _step(x_plus, x_minus, x, idx, h):
    """x₊ − x₋, or ValueError where both round back to x[idx]."""
    if x_plus == x_minus:
        raise ValueError(
            f"numerical_gradient: x[{idx}] = {float(x[idx]):g} ± h = {h:g} rounds "
            f"back to {x_plus:g} in {x.dtype}: h is below its precision there; pass a "
            f"wider float array or a larger h")
    return x_plus - x_minus


def _require_float(x):
    """TypeError unless ``x`` is a float array, ValueError if it is read-only (a
    numpy array with ``writeable`` off, or a broadcast view), naming its dtype and
    shape."""
    if not get_namespace(x).isdtype(x.dtype, "real floating"):
        raise TypeError(
            f"numerical_gradient: x has dtype {x.dtype} and shape {tuple(x.shape)}; it is "
            f"perturbed in place by ±h, which {x.dtype} cannot hold: pass a float array "
            f"(x.astype(float))")
    if not getattr(getattr(x, "flags", None), "writeable", True):
        raise ValueError(f"numerical_gradient: x ({x.dtype}, shape {tuple(x.shape)}) is "
                         f"read-only; it is perturbed in place: pass x.copy()")
