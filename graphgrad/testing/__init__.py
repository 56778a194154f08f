"""Helpers for checking gradients, public so users can test their own nodes.

* ``numerical_gradient(f, x)`` — the DLFS central difference over an N-d array;
* ``gradcheck(fn, inputs)`` — backprop against central differences, or a
  ``GradcheckError`` naming the input, the element and both values, the node to
  blame and the line that recorded it, with a drawing of the failing graph;
  ``fast=True`` checks along random directions first;
* ``gradgradcheck(fn, inputs)`` — the same for second derivatives;
* ``backprop_gradients(fn, *values)`` — ∂ Σ fn / ∂ each value, as arrays;
* ``graphgrad.testing.strategies`` — hypothesis strategies for arrays, tensors and
  random expression graphs.
* ``graphgrad.testing.differential`` — those expression graphs checked against
  numpy, HIPS autograd and central differences.

How a failure is diagnosed, one module each: ``elementwise`` (the comparison),
``kinks`` (steps across a non-differentiable point), ``evidence`` (the error by eps),
``blame`` (each node checked on its own), ``report`` (the drawing, hypothesis notes),
``fast`` (random directions).
"""
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..autograd import grad
from ..backend import get_namespace, to_device, to_numpy
from ..tensor import Tensor, tensor
from . import blame, elementwise, evidence, fast, report
from .numeric import numerical_gradient
from .probe import Probe

__all__ = ["GradcheckError", "backprop_gradients", "check_float32", "gradcheck",
           "gradgradcheck", "numerical_gradient"]


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
    """Backprop and central differences disagree. The message names the input and the
    element, then the node to blame; ``drawing`` is the path of the drawing of the
    failing graph (None while hypothesis is still shrinking)."""

    def __init__(self, message, drawing=None):
        super().__init__(message)
        self.drawing = drawing


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, *, fast=False,
              report_dir=None):
    """Check backprop of ``fn(*inputs)`` against central differences; return True.

    The output is projected on a fixed random direction ``v`` (so ``fn`` may return
    any shape, and sums that are constant, like Σ softmax, still test something):
    backprop computes ∂(v·fn)/∂input, compared element by element with the central
    difference of v·fn, to ``|a − n| <= atol + rtol·|n|``. An output that does not
    require grad (``fn`` recorded nothing: a constant, or the first derivative of an
    affine function) has backprop gradient 0, checked like any other. Inputs that do
    not require grad (integer labels, constants) are passed through unchecked; with no
    input left to check, ``ValueError`` (a check of nothing is no pass).

    ``fast=True`` compares, per input, ⟨∂(v·fn)/∂x, w⟩ with the central difference
    of v·fn along a few random directions w, each element weighted by one over its
    own tolerance (so one wrong element shows, however large x or its other elements
    are: ``fast``): two evaluations of ``fn`` per direction instead of two per
    element. An input where they disagree is checked element by element, and that
    check decides.

    An element whose step x ± eps crosses a kink of any node of the graph (relu at 0,
    a tie in max or maximum: ``kinks``) is checked one-sided, or skipped where both
    sides cross: never reported as a wrong gradient.

    On a mismatch, ``GradcheckError`` says, one line each: the input, element and both
    values; the error at that element for eps = 1e-3 … 1e-6 and its order in eps
    (``evidence``); the node to blame, from a check of every node on its own
    (``blame``); and the path of a drawing of the graph with that node in red, in
    ``report_dir`` (else ``$GRAPHGRAD_REPORT_DIR``, else a temporary directory; see
    ``report``). Only a failing check spends time on these.

    The check runs in float64: float32 and float16 inputs hold their values in
    float64 while it runs (in place, so a tensor that ``fn`` reads from outside its
    arguments is checked too; they have their own arrays back afterwards), as central
    differences in float32 are too coarse for these tolerances; ``check_float32``
    tests that an op keeps float32. Inputs may live on any device; the central
    differences are taken on the host.
    """
    check = _Check(fn, fn, 1, eps, atol, rtol, seed, fast, report_dir)
    return check.run(inputs)


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, *, fast=False,
                  report_dir=None):
    """Check second derivatives: ``gradcheck`` of the first derivatives of ``fn``,
    as computed by ``grad(..., create_graph=True)`` (projected on fixed random
    directions, so the result is one number whose gradient is a Hessian product).
    Where ``fn`` is affine its first derivatives are constants, recorded by nothing:
    their backprop gradient 0 is checked against central differences all the same.
    As in ``gradcheck``, float32 and float16 inputs are checked in float64. On a
    mismatch the blame checks each node of ``fn``'s graph and its backward as
    recorded with ``create_graph``."""
    def first_derivatives(*xs):
        out = fn(*xs)
        wrt = [x for x in xs if x.requires_grad]
        grads = grad(out, wrt, grad_outputs=_direction(out, seed), create_graph=True)
        total = 0.0
        for k, g in enumerate(grads):
            total = total + (g * _direction(g, seed + 1 + k)).sum()
        return total

    check = _Check(first_derivatives, fn, 2, eps, atol, rtol, seed, fast, report_dir)
    return check.run(inputs)


@dataclass
class _Check:
    """One gradcheck: of ``fn``; on failure the nodes of ``blamed`` (fn itself, or
    gradgradcheck's fn) are checked locally, to ``order`` 1 or 2."""

    fn: object
    blamed: object
    order: int
    eps: float
    atol: float
    rtol: float
    seed: int
    fast: bool
    report_dir: object

    def run(self, inputs):
        inputs = [x if isinstance(x, Tensor) else tensor(x) for x in inputs]
        with _in_float64(inputs):
            return self._run(inputs)

    def _run(self, inputs):
        checked = [x for x in inputs if x.requires_grad]
        if not checked:
            raise ValueError(f"gradcheck: no input requires grad: nothing to check (inputs "
                             f"of dtypes {[str(x.dtype) for x in inputs]}; pass float arrays)")
        out = self.fn(*inputs)
        v = _direction(out, self.seed)
        analytic = iter(_backprop(out, checked, v))  # in the order of ``checked``
        rng = np.random.default_rng(self.seed)
        for i, x in enumerate(inputs):
            if x.requires_grad:
                probe = Probe(self.fn, inputs, x, v)
                self.compare(probe, i, next(analytic), inputs, rng)
        return True

    def compare(self, probe, position, analytic, inputs, rng):
        """Raise GradcheckError where input ``position`` fails (fast: unless it
        agrees along random directions)."""
        if self.fast and fast.agrees(probe, analytic, rng, self.eps, self.atol, self.rtol):
            return
        if np.shape(analytic) != probe.base.shape:
            self.fail(inputs, f"gradcheck: input {position} has shape {probe.base.shape} "
                              f"but its backprop gradient has shape {np.shape(analytic)}")
        numeric = numerical_gradient(probe, probe.base.copy(), self.eps)
        mismatch = elementwise.compare(probe, position, analytic, numeric, self.eps,
                                       self.atol, self.rtol)
        if mismatch is not None:
            self.fail(inputs, mismatch.headline(), mismatch)

    def fail(self, inputs, headline, mismatch=None):
        """Raise the GradcheckError: the headline, then (unless hypothesis is still
        searching) the evidence, the skipped kinks, the blame and the drawing."""
        if report.searching():
            raise GradcheckError(headline)
        lines = [headline]
        if mismatch is not None:
            lines.append(evidence.describe(mismatch.probe, mismatch.index, mismatch.analytic))
            lines += _skipped(mismatch.skipped)
        verdict = blame.verdict(self.blamed, inputs, self.order, self.eps, self.atol,
                                self.rtol, self.seed)
        lines += verdict.lines()
        try:
            drawing = report.draw(verdict, self.report_dir)
            lines.append(f"drawing: {drawing}")
        except Exception as error:  # noqa: BLE001  (the failure must still be reported)
            drawing = None
            lines.append(f"drawing: not written ({type(error).__name__}: {error})")
        text = "\n".join(lines)
        report.note(text)
        raise GradcheckError(text, drawing)


def _skipped(skipped, shown=3):
    """The line listing elements skipped at kinks (none when there are none)."""
    if not skipped:
        return []
    listed = "; ".join(f"{index}: {kink}" for index, kink in skipped[:shown])
    more = f"; and {len(skipped) - shown} more" if len(skipped) > shown else ""
    return [f"skipped {len(skipped)} element{'s' * (len(skipped) != 1)} at kinks, "
            f"checked no further: {listed}{more}"]


@contextmanager
def _in_float64(tensors):
    """Inside the block, each tensor of float32 or float16 holds its values in
    float64, in place: ``fn`` may read a tensor it closes over (a model's parameter)
    rather than its argument, and that is the tensor perturbed. Afterwards each has
    its own array back."""
    upcast = {id(x): x for x in tensors if _low_precision(x)}
    arrays = {key: x.data for key, x in upcast.items()}
    for x in upcast.values():
        x.data = to_device(to_numpy(x.data).astype(np.float64), x.device)
    try:
        yield
    finally:
        for key, x in upcast.items():
            x.data = arrays[key]


def _low_precision(x):
    xp = get_namespace(x.data)
    return xp.isdtype(x.dtype, "real floating") and xp.finfo(x.dtype).bits < 64


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
