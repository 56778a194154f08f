"""Differential checks: graphgrad against plain numpy, HIPS autograd and central
differences, on random expression graphs (``strategies.expressions``).

The same ``Expression`` runs everywhere: its steps call graphgrad's functions, or,
with ``expr(*arrays, namespace=...)``, functions of the same names over numpy
(``NUMPY``: the reference values) or autograd.numpy (``AutogradReference``: the
reference derivatives). Each check takes an expression and its input arrays
(float64) and raises AssertionError where the two sides differ. (An expression with
a user's own op, ``ExtraOp``, runs on graphgrad only: the references raise
NotImplementedError for it, so only ``check_central_differences`` applies.)

* ``check_forward``: the value, against numpy's;
* ``check_gradients``: ∂⟨v, expr⟩/∂xᵢ for every input xᵢ, against autograd's;
* ``check_hessian_products``: ∂⟨u, ∇⟨v, expr⟩⟩/∂xᵢ (graphgrad differentiating its
  own backward pass, ``create_graph=True``), against autograd's;
* ``check_central_differences``: ``gradcheck`` (its default tolerances).

Both sides compute in float64 with exact derivatives, so autograd is matched to
``RTOL``/``ATOL``; numpy's values to ``FORWARD_RTOL``/``FORWARD_ATOL``. autograd
(``pip install autograd``) is imported by the checks that use it.
"""
import warnings

import numpy as np
from hypothesis import strategies as st

from . import gradcheck
from .. import functions as F
from ..autograd import grad
from ..tensor import tensor
from .strategies import KINKED, OPS, arrays, expressions, shapes

__all__ = [
    "CHECKS", "NUMPY", "AutogradReference", "Reference", "cases", "check_central_differences", "check_forward",
    "check_gradients", "check_hessian_products", "single_op_cases",
]

RTOL, ATOL = 1e-7, 1e-9  # derivatives against autograd
FORWARD_RTOL, FORWARD_ATOL = 1e-12, 1e-12  # values against numpy (sums may reassociate)
INPUT_SHAPES = st.lists(st.one_of(shapes(max_side=3), shapes(min_side=0, max_side=3)),
                        min_size=1, max_size=3)


class Reference:
    """The functions an expression's steps call, with graphgrad's names and
    signatures, over the array module ``xp`` (numpy, or autograd.numpy)."""

    def __init__(self, xp):
        self.xp = xp

    def add(self, x, y):
        return self.xp.add(x, y)

    def sub(self, x, y):
        return self.xp.subtract(x, y)

    def mul(self, x, y):
        return self.xp.multiply(x, y)

    def neg(self, x):
        return self.xp.negative(x)

    def pow(self, x, y):
        return self.xp.power(x, y)

    def exp(self, x):
        return self.xp.exp(x)

    def log(self, x):
        return self.xp.log(x)

    def tanh(self, x):
        return self.xp.tanh(x)

    def relu(self, x):
        return self.xp.maximum(x, 0.0)

    def maximum(self, x, y):
        return self.xp.maximum(x, y)

    def sum(self, x, axis=None, keepdims=False):
        return self.xp.sum(x, axis=axis, keepdims=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return self.xp.mean(x, axis=axis, keepdims=keepdims)

    def max(self, x, axis=None, keepdims=False):
        return self.xp.max(x, axis=axis, keepdims=keepdims)

    def reshape(self, x, shape):
        return self.xp.reshape(x, shape)

    def transpose(self, x, axes=None):
        """Axes made nonnegative: autograd inverts the permutation by argsort, which
        negative axes throw off."""
        if axes is not None:
            axes = tuple(a % self.xp.ndim(x) for a in axes)
        return self.xp.transpose(x, axes)

    def swapaxes(self, x, axis1, axis2):
        return self.xp.swapaxes(x, axis1, axis2)

    def broadcast_to(self, x, shape):
        """New leading axes added by reshape: autograd's broadcast_to adds none."""
        ones = (1,) * (len(shape) - self.xp.ndim(x))
        return self.xp.broadcast_to(self.xp.reshape(x, ones + self.xp.shape(x)), shape)

    def sum_to(self, x, shape):
        """Σ over the leading axes that ``shape`` lacks and those where it has 1."""
        lead = self.xp.ndim(x) - len(shape)
        x = self.xp.sum(x, axis=tuple(range(lead)))
        ones = tuple(i for i, side in enumerate(shape) if side == 1)
        return self.xp.sum(x, axis=ones, keepdims=True)

    def getitem(self, x, index):
        return x[index]

    def matmul(self, x, y):
        return self.xp.matmul(x, y)

    def dot(self, x, y):
        return self.xp.dot(x, y)


class AutogradReference(Reference):
    """``Reference(autograd.numpy)``, with ``pow(x, y)`` (its base x > 0 in every
    expression) as exp(y · log x): autograd's rule for ∂(x ** y)/∂x,
    g · y · x ** where(y, y − 1, 1), has the wrong derivative in y where y = 0
    (x instead of 1/x), so its Hessians of x ** y would be wrong there."""

    def pow(self, x, y):
        return self.xp.exp(y * self.xp.log(x))


NUMPY = Reference(np)


# -- what is checked ------------------------------------------------------------------

def cases(ops=OPS, max_ops=6, input_shapes=INPUT_SHAPES):
    """(expression, input arrays) pairs over ``ops``, by default for 1 to 3 inputs of
    up to 3 axes of sides 0 to 3; the arrays hold separated values (clear of kinks
    and ties) where a kinked op (relu, max, maximum) may occur, any values in
    [-3, 3] otherwise."""
    separated = not set(ops).isdisjoint(KINKED)

    @st.composite
    def draw_case(draw):
        expr = draw(expressions(input_shapes, max_ops=max_ops, ops=ops), label="expression")
        values = [draw(arrays(shape, separated=separated), label=f"input {i}")
                  for i, shape in enumerate(expr.input_shapes)]
        return expr, values

    return draw_case()


def single_op_cases(op):
    """``cases`` of expressions of up to 3 steps of ``op`` alone (and the additions
    that gather unused values into the output)."""
    return cases(ops=[op], max_ops=3)


def check_forward(expr, values):
    """graphgrad's value of ``expr`` at ``values`` is numpy's."""
    ours = expr(*map(tensor, values)).data
    theirs = np.asarray(expr(*values, namespace=NUMPY))
    np.testing.assert_allclose(ours, theirs, rtol=FORWARD_RTOL, atol=FORWARD_ATOL,
                               strict=True, err_msg="value: graphgrad vs numpy")


def check_gradients(expr, values, seed=0):
    """∂⟨v, expr⟩/∂x for each input x: graphgrad's backprop is autograd's."""
    inputs = [tensor(x) for x in values]
    out = expr(*inputs)
    v = _direction(out.shape, seed)
    ours = _backprop(out, inputs, v)
    theirs = _autograd_gradient(_autograd_projection(expr, v), values)
    _assert_all_close(ours, theirs, "gradient")


def check_hessian_products(expr, values, seed=0):
    """∂⟨u, ∇⟨v, expr⟩⟩/∂x for each input x, a Hessian-vector product: graphgrad's,
    by backprop through its own backward pass, is autograd's."""
    inputs = [tensor(x) for x in values]
    out = expr(*inputs)
    v = _direction(out.shape, seed)
    us = [_direction(x.shape, seed + 1 + i) for i, x in enumerate(inputs)]
    first = grad(out, inputs, grad_outputs=v, create_graph=True)
    ours = _backprop(sum(F.sum(g * u) for g, u in zip(first, us)), inputs)
    hips = _hips()
    first_theirs = hips.grad(_autograd_projection(expr, v))
    theirs = _autograd_gradient(
        lambda xs: sum(hips.numpy.sum(g * u) for g, u in zip(first_theirs(xs), us)), values)
    _assert_all_close(ours, theirs, "Hessian-vector product")


def check_central_differences(expr, values):
    """graphgrad's backprop agrees with central differences (``gradcheck``)."""
    assert gradcheck(expr, values)


CHECKS = {
    "forward vs numpy": check_forward,
    "grad vs autograd": check_gradients,
    "hvp vs autograd": check_hessian_products,
    "grad vs central differences": check_central_differences,
}


# -- helpers ----------------------------------------------------------------------------

def _hips():
    """HIPS autograd (``pip install autograd``), with its numpy, imported on use."""
    import autograd
    import autograd.numpy  # noqa: F401  (autograd.numpy below)
    return autograd


def _direction(shape, seed):
    """A fixed random array of ``shape`` to project on."""
    return np.random.default_rng(seed).normal(size=shape)


def _backprop(out, inputs, grad_outputs=None):
    """∂out/∂x for each input by graphgrad, as arrays (seeded with ``grad_outputs``);
    zeros where ``out`` recorded nothing (it is constant: the derivative of an affine
    expression)."""
    if not getattr(out, "requires_grad", False):
        return [np.zeros(np.shape(x.data)) for x in inputs]
    return [g.data for g in grad(out, inputs, grad_outputs=grad_outputs)]


def _autograd_projection(expr, v):
    """xs -> ⟨v, expr(*xs)⟩, in autograd.numpy."""
    hips = _hips()
    reference = AutogradReference(hips.numpy)
    return lambda xs: hips.numpy.sum(v * expr(*xs, namespace=reference))


def _autograd_gradient(fn, values):
    """The gradient of ``fn(tuple of arrays) -> number`` by autograd, one array per
    value: zeros where ``fn`` is constant (autograd then warns, and is silenced);
    NaN where its own derivative rules overflow (tanh's is g / cosh(x)²: past
    |x| = 355 cosh(x)² is inf, and its derivative meets inf · 0)."""
    with warnings.catch_warnings(), np.errstate(over="ignore", invalid="ignore"):
        warnings.filterwarnings("ignore", "Output seems independent of input")
        return list(_hips().grad(fn)(tuple(values)))


def _assert_all_close(ours, theirs, what):
    """Each of graphgrad's arrays is finite and autograd's, to RTOL and ATOL, shapes
    included, wherever autograd's is finite (an expression's derivatives are: a NaN
    of autograd's is an overflow of its rules, see ``_autograd_gradient``)."""
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        message = f"{what} of input {i}: graphgrad vs autograd"
        b = np.asarray(b)
        assert np.shape(a) == b.shape, f"{message}: shape {np.shape(a)} vs {b.shape}"
        assert np.isfinite(a).all(), f"{message}: graphgrad's is not finite\n{a}"
        known = np.isfinite(b)
        np.testing.assert_allclose(np.where(known, a, 0), np.where(known, b, 0), rtol=RTOL,
                                   atol=ATOL, strict=True, err_msg=message)
