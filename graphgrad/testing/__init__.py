"""Helpers for checking gradients, public so users can test their own nodes.

* ``numerical_gradient(f, x)`` — the DLFS central difference over an N-d array;
* ``gradcheck(fn, inputs)`` — backprop against central differences, or a
  ``GradcheckError`` naming the input, the element and both values;
* ``gradgradcheck(fn, inputs)`` — the same for second derivatives;
* ``backprop_gradients(fn, *values)`` — ∂ Σ fn / ∂ each value, as arrays;
* ``graphgrad.testing.strategies`` — hypothesis strategies for arrays, tensors and
  random expression graphs.
* ``graphgrad.testing.differential`` — those expression graphs checked against
  numpy, HIPS autograd and central differences.
"""
import numpy as np

from ..autograd import grad
from ..backend import get_namespace, to_device, to_numpy
from ..tensor import Tensor, tensor
from .numeric import numerical_gradient


def backprop_gradients(fn, *values):
    """∂ Σ fn(*values) / ∂ value for each value, by backprop, as arrays: the values
    (arrays or numbers) are wrapped in fresh leaf tensors first."""
    inputs = [tensor(v) for v in values]
    return [g.data for g in grad(fn(*inputs).sum(), inputs)]


def check_float32(fn, x, rtol=1e-6):
    """Assert that ``fn`` keeps float32 in float32: its output and the gradient of
    Σ fn(x) w.r.t. a float32 ``x`` are float32, and that gradient agrees with the
    float64 one to ``rtol`` (0: exactly, for ops that only move values)."""
    x = np.asarray(x, dtype=np.float64)
    assert fn(tensor(x.astype(np.float32))).dtype == np.float32, "output is not float32"
    (g32,), (g64,) = backprop_gradients(fn, x.astype(np.float32)), backprop_gradients(fn, x)
    assert g32.dtype == np.float32, f"gradient is {g32.dtype}"
    np.testing.assert_allclose(g32, g64, rtol=rtol, atol=0)


class GradcheckError(AssertionError):
    """Backprop and central differences disagree."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check backprop of ``fn(*inputs)`` against central differences; return True.

    The output is projected on a fixed random direction ``v`` (so ``fn`` may return
    any shape, and sums that are constant, like Σ softmax, still test something):
    backprop computes ∂(v·fn)/∂input, compared element by element with the central
    difference of v·fn, to ``|a − n| <= atol + rtol·|n|``. An output that does not
    require grad (``fn`` recorded nothing: a constant, or the first derivative of an
    affine function) has backprop gradient 0, checked like any other. Inputs that do
    not require grad (integer labels, constants) are passed through unchecked.

    The check runs in float64: float32 and float16 inputs are upcast (``fn`` gets
    float64 copies, with the same name, ``requires_grad`` and device), as central
    differences in float32 are too coarse for these tolerances; ``check_float32``
    tests that an op keeps float32. Inputs may live on any device; the central
    differences are taken on the host.
    """
    inputs = [_in_float64(x if isinstance(x, Tensor) else tensor(x)) for x in inputs]
    out = fn(*inputs)
    v = _direction(out, seed)
    checked = [x for x in inputs if x.requires_grad]
    analytic = _backprop(out, checked, v)
    for i, x in enumerate(inputs):
        if x.requires_grad:
            _compare(fn, inputs, x, i, analytic[checked.index(x)], v, eps, atol, rtol)
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check second derivatives: ``gradcheck`` of the first derivatives of ``fn``,
    as computed by ``grad(..., create_graph=True)`` (projected on fixed random
    directions, so the result is one number whose gradient is a Hessian product).
    Where ``fn`` is affine its first derivatives are constants, recorded by nothing:
    their backprop gradient 0 is checked against central differences all the same.
    As in ``gradcheck``, float32 and float16 inputs are checked in float64."""
    def first_derivatives(*xs):
        out = fn(*xs)
        wrt = [x for x in xs if x.requires_grad]
        grads = grad(out, wrt, grad_outputs=_direction(out, seed), create_graph=True)
        total = 0.0
        for k, g in enumerate(grads):
            total = total + (g * _direction(g, seed + 1 + k)).sum()
        return total

    return gradcheck(first_derivatives, inputs, eps, atol, rtol, seed)


def _in_float64(x):
    """Tensor ``x``, or a float64 copy of it where it holds float32 or float16."""
    xp = get_namespace(x.data)
    if not xp.isdtype(x.dtype, "real floating") or xp.finfo(x.dtype).bits >= 64:
        return x
    return tensor(to_numpy(x.data).astype(np.float64), name=x.name,
                  requires_grad=x.requires_grad, device=x.device)


def _backprop(out, checked, v):
    """∂(v·out)/∂x for each tensor x of ``checked``, as host arrays: zeros where
    ``out`` does not require grad (it is constant in every x)."""
    if not out.requires_grad:
        return [np.zeros(x.shape) for x in checked]
    return [to_numpy(g.data) for g in grad(out, checked, grad_outputs=v)]


def _direction(like, seed):
    """A fixed random direction shaped, typed and placed like tensor ``like``:
    magnitudes in [0.5, 1.5], alternating signs (a numpy scalar when 0-d on numpy)."""
    shape = like.shape
    v = np.random.default_rng(seed).uniform(0.5, 1.5, shape)
    v = v * np.where(np.arange(v.size).reshape(shape) % 2, -1, 1)
    xp = get_namespace(like.data)
    v = xp.astype(xp.from_numpy(v), like.dtype)
    return v[()] if v.ndim == 0 else v


def _compare(fn, inputs, x, position, analytic, v, eps, atol, rtol):
    original, device = x.data, x.device
    base = np.array(to_numpy(original))  # a host copy to perturb
    v = np.asarray(to_numpy(v))

    def projected(values):
        value = values.reshape(base.shape) if base.ndim else values[()]
        x.data = to_device(value, device)
        return float(np.sum(np.asarray(to_numpy(fn(*inputs).data)) * v))

    try:
        numeric = numerical_gradient(projected, base.copy(), eps)
    finally:
        x.data = original
    if np.shape(analytic) != base.shape:
        raise GradcheckError(
            f"gradcheck: input {position} has shape {base.shape} but its backprop "
            f"gradient has shape {np.shape(analytic)}")
    bad = ~(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        name = f" {x.name!r}" if x.name is not None else ""
        raise GradcheckError(
            f"gradcheck: input {position}{name} (shape {base.shape}) at index {idx}: "
            f"backprop {analytic[idx]!r} vs numerical {numeric[idx]!r} "
            f"({int(bad.sum())} of {bad.size} elements differ)")
