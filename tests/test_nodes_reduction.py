"""Sum, Mean, Max, SumTo, BroadcastTo: backprop against central differences and closed
forms, over every kind of ``axis`` (None, int, negative, tuple, empty tuple).

Max has a kink where elements tie, so its inputs are drawn ``separated``. Arrays with
a side of 0 have their own section: the mean over an empty side is NaN and the max over
one an error, as in numpy, and backward gives an empty gradient without dividing by 0.
"""
import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import graphgrad as gg
from graphgrad.nodes import BroadcastTo, Max, Mean, Sum, SumTo
from graphgrad.nodes.reduction import reduced_axes
from graphgrad.testing import backprop_gradients, check_float32, gradcheck
from graphgrad.testing.strategies import arrays, shapes, shapes_broadcasting_to

REDUCTIONS = {"Sum": gg.sum, "Mean": gg.mean, "Max": gg.max}
AXES = [None, 0, -1, (0, 2), (-1, 0), ()]
X = np.random.default_rng(0).permutation(24).reshape(2, 3, 4) * 0.25 - 3  # distinct values
# (shape of x, shape it broadcasts to)
BROADCASTS = [((3, 1), (2, 3, 4)), ((), (2, 2)), ((4,), (3, 4)), ((1, 3), (2, 3)),
              ((2, 3), (2, 3))]


def any_axis(ndim):
    """``axis`` arguments valid for an array of ``ndim`` axes."""
    if ndim == 0:
        return st.none()
    return st.none() | st.integers(-ndim, ndim - 1) | hnp.valid_tuple_axes(ndim)


# -- (a) central differences ------------------------------------------------------------

@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_gradcheck_reductions(name, axis, keepdims):
    assert gradcheck(lambda x: REDUCTIONS[name](x, axis, keepdims), [X])


@pytest.mark.parametrize("x_shape, shape", BROADCASTS)
def test_gradcheck_broadcast_to_and_sum_to(x_shape, shape):
    rng = np.random.default_rng(0)
    assert gradcheck(lambda x: gg.broadcast_to(x, shape), [rng.normal(size=x_shape)])
    assert gradcheck(lambda y: gg.sum_to(y, x_shape), [rng.normal(size=shape)])


# (shape of x, a shape numpy's broadcast_to rejects for it): the last two, numpy's
# assignment ``out[...] = x`` accepts by dropping x's leading 1s
NOT_BROADCASTS = [((2, 3), (4, 3)), ((3,), (2,)), ((1, 3), (3,)), ((1, 1), ())]


@pytest.mark.parametrize("x_shape, shape", NOT_BROADCASTS)
def test_broadcast_to_a_shape_numpy_rejects_raises(x_shape, shape):
    with pytest.raises(ValueError):
        np.broadcast_to(np.ones(x_shape), shape)
    with pytest.raises(ValueError, match=r"BroadcastTo \(broadcast\)"):
        gg.broadcast_to(gg.tensor(np.ones(x_shape)), shape)


@pytest.mark.parametrize("shape, y_shape", NOT_BROADCASTS + [((2, 3), (3,)), ((4,), (2, 3))])
def test_sum_to_a_shape_that_does_not_broadcast_back_raises(shape, y_shape):
    """sum_to(y, shape) undoes a broadcast of ``shape`` to y's shape; for any other
    shape it raises rather than return an array of neither shape."""
    with pytest.raises(ValueError, match=rf"SumTo \(sum_to\) .*{re.escape(str(shape))}"):
        gg.sum_to(gg.tensor(np.ones(y_shape)), shape)


# -- (b) properties over random shapes and values -------------------------------------------

@pytest.mark.parametrize("name", REDUCTIONS)
@given(data=st.data())
def test_reduction_gradients_match_central_differences(name, data):
    x = data.draw(arrays(separated=name == "Max"), label="x")
    axis = data.draw(any_axis(x.ndim), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    assert gradcheck(lambda t: REDUCTIONS[name](t, axis, keepdims), [x])
    (g,) = backprop_gradients(lambda t: REDUCTIONS[name](t, axis, keepdims), x)
    assert np.shape(g) == x.shape


@given(shapes().flatmap(lambda shape: st.tuples(st.just(shape), shapes_broadcasting_to(shape))),
       st.data())
def test_broadcast_to_and_sum_to_are_adjoint(shapes_, data):
    """⟨broadcast_to(x), y⟩ = ⟨x, sum_to(y)⟩, and both backprop to central differences."""
    shape, x_shape = shapes_
    x = data.draw(arrays(x_shape), label="x")
    y = data.draw(arrays(shape), label="y")
    assert gradcheck(lambda t: gg.broadcast_to(t, shape), [x])
    assert gradcheck(lambda t: gg.sum_to(t, x_shape), [y])
    np.testing.assert_allclose(np.sum(np.broadcast_to(x, shape) * y),
                               np.sum(x * gg.sum_to(y, x_shape).data), atol=1e-9)


# -- (c) the nodes alone, DLFS layer style ------------------------------------------------------

def test_sum_layer():
    dout = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    layer = Sum(axis=1)
    np.testing.assert_array_equal(layer.forward(X), X.sum(axis=1))
    np.testing.assert_array_equal(layer.backward(dout), np.repeat(dout[:, None, :], 3, axis=1))


def test_sum_layer_over_all_axes_with_keepdims():
    layer = Sum(keepdims=True)
    np.testing.assert_array_equal(layer.forward(X), [[[X.sum()]]])
    np.testing.assert_array_equal(layer.backward(np.array([[[2.0]]])), np.full(X.shape, 2.0))


def test_mean_layer():
    dout = np.array([1.0, 2.0, 3.0])
    layer = Mean(axis=(0, -1))
    np.testing.assert_allclose(layer.forward(X), X.mean(axis=(0, 2)))
    np.testing.assert_allclose(layer.backward(dout), np.broadcast_to(dout[:, None] / 8, X.shape))


def test_max_layer_sends_the_gradient_to_the_maximum():
    x = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    layer = Max(axis=1)
    np.testing.assert_array_equal(layer.forward(x), [5.0, 7.0])
    np.testing.assert_array_equal(layer.backward(np.array([10.0, 20.0])),
                                  [[0, 10, 0], [20, 0, 0]])


def test_max_layer_splits_ties_evenly():
    layer = Max()
    assert layer.forward(np.array([1.0, 3.0, 3.0])) == 3.0
    np.testing.assert_array_equal(layer.backward(1.0), [0.0, 0.5, 0.5])
    # which central differences agree with, for a tie of two
    assert gradcheck(gg.max, [np.array([1.0, 3.0, 3.0])])


def test_sum_to_layer():
    y = X[0]  # (3, 4) -> (1, 4)
    layer = SumTo((1, 4))
    np.testing.assert_array_equal(layer.forward(y), y.sum(axis=0, keepdims=True))
    dout = np.array([[1.0, 2.0, 3.0, 4.0]])
    np.testing.assert_array_equal(layer.backward(dout), np.tile(dout, (3, 1)))


def test_broadcast_to_layer():
    x = np.array([1.0, 2.0, 3.0])
    layer = BroadcastTo((2, 3))
    np.testing.assert_array_equal(layer.forward(x), [x, x])
    dout = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(layer.backward(dout), dout.sum(axis=0))


# -- (d) float32 stays float32 --------------------------------------------------------------

FLOAT32_CASES = {
    "sum": lambda x: gg.sum(x, axis=1), "mean": lambda x: gg.mean(x, axis=(0, 2)),
    "max": lambda x: gg.max(x, axis=-1, keepdims=True), "max all": gg.max,
    "broadcast_to": lambda x: gg.broadcast_to(x, (5, 2, 3, 4)),
    "sum_to": lambda x: gg.sum_to(x, (3, 1)),
}


@pytest.mark.parametrize("name", FLOAT32_CASES)
def test_float32_outputs_and_gradients(name):
    check_float32(FLOAT32_CASES[name], X)


# -- (e) empty arrays ---------------------------------------------------------------------

def reduced_sides(shape, axis):
    """The sides of ``shape`` that a reduction over ``axis`` takes in."""
    return [shape[a] for a in reduced_axes(len(shape), axis)]


def backprop_quietly(fn, x):
    """∂ Σ fn(x) / ∂x with numpy's forward warnings (the mean of an empty side) ignored
    and any warning or floating-point error in backward raised."""
    x = gg.tensor(x)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        y = fn(x)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        gg.sum(y).backward()
    return x.grad


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1), (1,), ()])
@pytest.mark.parametrize("name", ["Sum", "Mean"])
def test_reductions_of_an_empty_array_have_an_empty_gradient(name, axis, keepdims):
    g = backprop_quietly(lambda t: REDUCTIONS[name](t, axis, keepdims), np.zeros((0, 3)))
    assert g.shape == (0, 3) and g.dtype == np.float64


@pytest.mark.parametrize("axis", [1, -1, ()])
def test_max_of_an_empty_array_over_nonempty_sides(axis):
    assert backprop_quietly(lambda t: gg.max(t, axis), np.zeros((0, 3))).shape == (0, 3)


@pytest.mark.parametrize("axis", [None, 0, (0, 1)])
def test_max_over_an_empty_side_raises_naming_the_node_and_shape(axis):
    with pytest.raises(ValueError, match=r"Max \(max\) on float64 \(0, 3\): zero-size"):
        gg.max(gg.tensor(np.zeros((0, 3))), axis)


@pytest.mark.parametrize("name", ["Sum", "Mean"])
@given(data=st.data())
def test_reduction_gradients_are_one_over_the_count_with_sides_of_zero(name, data):
    """∂ Σ mean(x) / ∂x = 1/n everywhere (n: how many elements each mean takes in), and
    ∂ Σ sum(x) / ∂x = 1, for any shape: an empty x gets an empty gradient."""
    x = data.draw(arrays(shapes(min_side=0)), label="x")
    axis = data.draw(any_axis(x.ndim), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    g = backprop_quietly(lambda t: REDUCTIONS[name](t, axis, keepdims), x)
    n = math.prod(reduced_sides(x.shape, axis))
    np.testing.assert_array_equal(g, np.full(x.shape, 1 / n if name == "Mean" and n else 1.0))


@given(data=st.data())
def test_max_with_sides_of_zero_raises_or_has_a_gradient_of_the_input_shape(data):
    x = data.draw(arrays(shapes(min_side=0), separated=True), label="x")
    axis = data.draw(any_axis(x.ndim), label="axis")
    if 0 in reduced_sides(x.shape, axis):  # numpy's max of nothing raises
        with pytest.raises(ValueError, match=r"Max \(max\) on float64"):
            gg.max(gg.tensor(x), axis)
    else:
        assert backprop_quietly(lambda t: gg.max(t, axis), x).shape == x.shape


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_an_axis_a_value_does_not_have_raises_naming_the_node(name):
    """numpy's AxisError (a ValueError), named by the node, for every rank, 0-d too;
    a 0-d value reduces over axis 0 or -1 as numpy's sum and max do: to itself."""
    reduce = getattr(gg, name)
    for x, axis in ((np.array(3.0), 1), (np.ones(2), 1), (np.ones(2), -2), (np.ones((2, 2)), (0, 2))):
        with pytest.raises(ValueError, match=rf"{name.capitalize()} \(.*\) on float64 "
                           rf"{re.escape(str(x.shape))}: axis .* is out of bounds"):
            reduce(gg.tensor(x), axis)
    for axis in (0, -1, (0,)):
        t = gg.tensor(3.0)
        y = reduce(t, axis)
        y.backward()
        assert y.shape == () and y.item() == 3.0 and t.grad == 1.0
