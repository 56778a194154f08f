"""Random expression graphs over every primitive: backprop agrees with central
differences, and so does backprop through the backward pass (second derivatives).

``graphgrad.testing.strategies.expressions`` draws the graphs (diamonds, broadcasting,
reductions, indexing, products); a failing example prints the graph step by step.
Fuzz longer with ``HYPOTHESIS_PROFILE=long pytest tests/test_expressions.py``.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import graphgrad as gg
from graphgrad.testing import gradcheck, gradgradcheck, numerical_gradient
from graphgrad.testing.strategies import arrays, expressions, shapes

INPUT_SHAPES = st.lists(shapes(max_side=3), min_size=1, max_size=3)
SHAPES_WITH_EMPTY_SIDES = st.lists(shapes(min_side=0, max_side=3), min_size=1, max_size=3)


def draw_inputs(data, expr, **kwargs):
    return [data.draw(arrays(shape, **kwargs), label=f"input {i}")
            for i, shape in enumerate(expr.input_shapes)]


def direction(shape, seed):
    """A fixed random direction to project an array of ``shape`` on."""
    return np.random.default_rng(seed).normal(size=shape)


def projected_gradient(expr, values, create_graph):
    """s = Σᵢ ⟨wᵢ, ∂⟨v, expr(x)⟩/∂xᵢ⟩ for fixed directions v, wᵢ. Its gradient is a
    Hessian-vector product of the expression, so it depends on second derivatives."""
    inputs = [gg.tensor(x) for x in values]
    out = expr(*inputs)
    first = gg.grad(out, inputs, grad_outputs=direction(out.shape, 0),
                    create_graph=create_graph)
    return inputs, sum(gg.sum(g * direction(np.shape(x), i + 1))
                       for i, (g, x) in enumerate(zip(first, values)))


@given(st.data())
def test_gradients_of_random_expressions(data):
    expr = data.draw(expressions(INPUT_SHAPES), label="expression")
    # relu, max and maximum have kinks: separated inputs keep clear of them
    assert gradcheck(expr, draw_inputs(data, expr, separated=True))


@given(st.data())
def test_gradients_of_smooth_expressions_at_any_values(data):
    expr = data.draw(expressions(INPUT_SHAPES, smooth=True), label="expression")
    assert gradcheck(expr, draw_inputs(data, expr))


@given(st.data())
def test_second_derivatives_of_smooth_expressions(data):
    expr = data.draw(expressions(INPUT_SHAPES, max_ops=5, smooth=True), label="expression")
    values = draw_inputs(data, expr)
    inputs, s = projected_gradient(expr, values, create_graph=True)
    if s.requires_grad:
        backprop = [g.data for g in gg.grad(s, inputs)]
    else:  # an affine expression: its gradient is constant, recorded nothing
        backprop = [np.zeros_like(x) for x in values]
    for x, analytic in zip(values, backprop):
        numeric = numerical_gradient(
            lambda _: projected_gradient(expr, values, create_graph=False)[1].item(), x, h=1e-6)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-3, atol=1e-5)


def check_finite_gradients(data, expr):
    """expr is finite (no mean or max of nothing) and gradcheck passes."""
    values = draw_inputs(data, expr, separated=True)
    assert np.all(np.isfinite(expr(*map(gg.tensor, values)).data))
    assert gradcheck(expr, values)


@pytest.mark.parametrize("input_shapes", [[(0, 3)], [(0, 3), (3,)], [(3, 0), (), (2, 1, 3)]])
@given(data=st.data())
def test_gradients_of_expressions_over_empty_arrays(input_shapes, data):
    check_finite_gradients(data, data.draw(expressions(input_shapes), label="expression"))


@given(st.data())
def test_gradients_of_expressions_with_empty_sides(data):
    check_finite_gradients(
        data, data.draw(expressions(SHAPES_WITH_EMPTY_SIDES), label="expression"))


@given(st.data())
def test_gradients_of_random_expressions_at_float32_inputs(data):
    # gradcheck checks them in float64: float32 central differences are too coarse
    expr = data.draw(expressions(INPUT_SHAPES), label="expression")
    assert gradcheck(expr, draw_inputs(data, expr, dtype=np.float32, separated=True))


@given(st.data())
def test_gradgradcheck_of_smooth_expressions(data):
    # affine expressions (a + b, sum, reshape, …) included: their second derivative is 0
    expr = data.draw(expressions(INPUT_SHAPES, max_ops=5, smooth=True), label="expression")
    assert gradgradcheck(expr, draw_inputs(data, expr))


@given(st.data())
def test_float32_flows_through_every_primitive(data):
    expr = data.draw(expressions(INPUT_SHAPES), label="expression")
    inputs = [gg.tensor(x) for x in draw_inputs(data, expr, dtype=np.float32, separated=True)]
    out = expr(*inputs)
    assert out.dtype == np.float32
    assert [g.dtype for g in gg.grad(out, inputs)] == [np.float32] * len(inputs)
