"""Exp, Log, Tanh, Relu, Maximum: backprop against central differences and closed forms.

Relu and Maximum have kinks, so their inputs are drawn ``separated`` (distinct
values, none near 0) except where a test is about the tie itself.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import graphgrad as gg
from graphgrad.nodes import Exp, Log, Maximum, Relu, Tanh
from graphgrad.testing import backprop_gradients, gradcheck
from graphgrad.testing.strategies import arrays, broadcastable_shapes

# node: (graph function, numpy function, its derivative, domain of x)
UNARY = {
    Exp: (gg.exp, np.exp, np.exp, (-3, 3)),
    Log: (gg.log, np.log, lambda x: 1 / x, (0.1, 3)),
    Tanh: (gg.tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2, (-3, 3)),
    Relu: (gg.relu, lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0, (-3, 3)),
}
SEPARATED = np.array([[-2.5, -0.4, 0.3], [0.9, 1.7, -1.1]])  # no kink within 0.3
by_name = pytest.mark.parametrize("node", UNARY, ids=lambda node: node.__name__)


def domain_values(node):
    """A (2, 3) array in the node's domain; for Relu, clear of its kink."""
    if node is Relu:
        return SEPARATED
    return np.random.default_rng(0).uniform(*UNARY[node][3], (2, 3))


# -- (a) central differences ------------------------------------------------------------

@by_name
def test_gradcheck_unary(node):
    assert gradcheck(UNARY[node][0], [domain_values(node)])


@pytest.mark.parametrize("x_shape, y_shape", [((2, 3), (2, 3)), ((2, 3), (3,)),
                                              ((3, 1), (1, 2)), ((), (2, 2))])
def test_gradcheck_maximum_with_broadcasting(x_shape, y_shape):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-2, 2, x_shape), rng.uniform(-2, 2, y_shape)
    assert np.abs(np.subtract.outer(x, y)).min() > 1e-3  # no near tie
    assert gradcheck(gg.maximum, [x, y])


def test_gradcheck_maximum_with_a_number():
    assert gradcheck(lambda x: gg.maximum(x, 0.5), [SEPARATED])
    assert gradcheck(lambda x: gg.maximum(-1.0, x), [SEPARATED])


def test_maximum_splits_ties_as_central_differences_do():
    x = np.array([1.0, -2.0, 0.5])
    assert gradcheck(lambda t: gg.maximum(t, t), [x])  # the same value on both sides
    assert gradcheck(lambda a, b: gg.maximum(a, b), [x, x.copy()])
    assert [g.tolist() for g in backprop_gradients(gg.maximum, x, x.copy())] == [[0.5] * 3, [0.5] * 3]


# -- (b) properties over random shapes and values -------------------------------------------

@by_name
@given(data=st.data())
def test_unary_gradients_match_central_differences(node, data):
    low, high = UNARY[node][3]
    x = data.draw(arrays(min_value=low, max_value=high, separated=node is Relu), label="x")
    assert gradcheck(UNARY[node][0], [x])
    np.testing.assert_allclose(backprop_gradients(UNARY[node][0], x)[0], UNARY[node][2](x), rtol=1e-12)


@given(broadcastable_shapes(), st.data())
def test_maximum_gradients_match_central_differences(shapes, data):
    x = data.draw(arrays(shapes[0], separated=True), label="x")
    y = data.draw(arrays(shapes[1], separated=True), label="y")  # ties are exact, if any
    assert gradcheck(gg.maximum, [x, y])
    assert [np.shape(g) for g in backprop_gradients(gg.maximum, x, y)] == [x.shape, y.shape]


# -- (c) the nodes alone, DLFS layer style ------------------------------------------------------

@by_name
def test_layer_matches_closed_form(node):
    _, forward, derivative, _ = UNARY[node]
    x = domain_values(node)
    dout = np.random.default_rng(1).uniform(-1, 1, x.shape)
    layer = node()
    np.testing.assert_allclose(layer.forward(x), forward(x))
    np.testing.assert_allclose(layer.backward(dout), dout * derivative(x))


def test_relu_layer_masks_like_the_book():
    relu = Relu()
    x = np.array([[1.0, -0.5], [-2.0, 3.0], [0.0, 0.5]])
    np.testing.assert_array_equal(relu.forward(x), [[1.0, 0.0], [0.0, 3.0], [0.0, 0.5]])
    # DLFS: mask = (x <= 0), dx = dout with the masked entries zeroed (x == 0 included)
    np.testing.assert_array_equal(relu.backward(np.ones((3, 2))), [[1, 0], [0, 1], [0, 1]])


def test_maximum_layer_matches_closed_form():
    x = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
    y = np.array([0.0, -2.0, 1.0])  # ties with x[0, 1]
    dout = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    layer = Maximum()
    np.testing.assert_array_equal(layer.forward(x, y), np.maximum(x, y))
    dx, dy = layer.backward(dout)
    share = (x > y) + 0.5 * (x == y)
    np.testing.assert_array_equal(dx, dout * share)
    np.testing.assert_array_equal(dy, (dout * (1 - share)).sum(axis=0))


# -- (d) float32 stays float32 --------------------------------------------------------------

@by_name
def test_float32_outputs_and_gradients(node):
    fn, x = UNARY[node][0], domain_values(node)
    assert fn(gg.tensor(x.astype(np.float32))).dtype == np.float32
    (g32,), (g64,) = backprop_gradients(fn, x.astype(np.float32)), backprop_gradients(fn, x)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g64, rtol=1e-5)


@pytest.mark.parametrize("y", [np.array([0.0, 1.0, -1.0]), 0.25], ids=["array", "number"])
def test_float32_maximum(y):
    x = SEPARATED
    y32 = y.astype(np.float32) if isinstance(y, np.ndarray) else y
    assert gg.maximum(gg.tensor(x.astype(np.float32)), y32).dtype == np.float32
    (g32,), (g64,) = backprop_gradients(lambda t: gg.maximum(t, y32), x.astype(np.float32)), backprop_gradients(
        lambda t: gg.maximum(t, y), x)
    assert g32.dtype == np.float32
    np.testing.assert_array_equal(g32, g64)
