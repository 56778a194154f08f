"""Add, Sub, Mul, Div, Neg, Pow: backprop against central differences and closed forms.

Each node is checked four ways: gradcheck on fixed shapes that broadcast, a
hypothesis property over random shapes and values, the node on its own in the DLFS
layer style against numpy's closed forms, and float32 in → float32 out and gradients.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import graphgrad as gg
from graphgrad.nodes import Add, Div, Mul, Neg, Pow, Sub
from graphgrad.testing import backprop_gradients, gradcheck
from graphgrad.testing.strategies import arrays, broadcastable_shapes

# node: (its operator, domain of x, domain of y); Div keeps y off 0, Pow keeps x > 0
BINARY = {
    "Add": (lambda x, y: x + y, (-3, 3), (-3, 3)),
    "Sub": (lambda x, y: x - y, (-3, 3), (-3, 3)),
    "Mul": (lambda x, y: x * y, (-3, 3), (-3, 3)),
    "Div": (lambda x, y: x / y, (-3, 3), (0.5, 3)),
    "Pow": (lambda x, y: x ** y, (0.5, 3), (-2, 2)),
}
BROADCASTING = [((2, 3), (2, 3)), ((2, 3), (3,)), ((3, 1), (1, 4)), ((), (2, 2)),
                ((2, 1, 3), (4, 1)), ((3,), ())]
# a Python number on either side of a tensor, and negative bases for integer powers
NUMBER_OPERANDS = {
    "2 + x": lambda x: 2 + x, "x - 2": lambda x: x - 2, "2 - x": lambda x: 2 - x,
    "3 * x": lambda x: 3 * x, "x / 4": lambda x: x / 4, "8 / x": lambda x: 8 / x,
    "x ** 3": lambda x: x ** 3, "x ** -2": lambda x: x ** -2, "2 ** x": lambda x: 2 ** x,
    "-x": lambda x: -x,
}


def uniform(shape, domain, seed=0):
    return np.random.default_rng(seed).uniform(*domain, size=shape)


# -- (a) central differences, broadcasting included ----------------------------------

@pytest.mark.parametrize("x_shape, y_shape", BROADCASTING)
@pytest.mark.parametrize("name", BINARY)
def test_gradcheck_with_broadcasting(name, x_shape, y_shape):
    op, x_domain, y_domain = BINARY[name]
    assert gradcheck(op, [uniform(x_shape, x_domain, 1), uniform(y_shape, y_domain, 2)])


def test_gradcheck_neg():
    assert gradcheck(lambda x: -x, [uniform((2, 3), (-3, 3))])


def test_gradcheck_div_by_negative_numbers():
    assert gradcheck(lambda x, y: x / y, [uniform((2, 3), (-3, 3)), uniform(3, (-3, -0.5))])


@pytest.mark.parametrize("name", NUMBER_OPERANDS)
def test_gradcheck_number_operands(name):
    assert gradcheck(NUMBER_OPERANDS[name], [np.array([-1.5, -0.5, 0.5, 2.0])])


def test_constant_exponent_takes_no_logarithm():
    x = gg.tensor(np.array([-2.0, 0.0, 3.0]))
    with np.errstate(all="raise"):  # log(-2) or log(0) would raise here
        gg.sum(x ** 2).backward()
    np.testing.assert_array_equal(x.grad, [-4.0, 0.0, 6.0])


# -- (b) properties over random shapes and values -----------------------------------------

@given(st.sampled_from(sorted(BINARY)), broadcastable_shapes(), st.data())
def test_gradients_match_central_differences(name, shapes, data):
    op, x_domain, y_domain = BINARY[name]
    x = data.draw(arrays(shapes[0], min_value=x_domain[0], max_value=x_domain[1]), label="x")
    y = data.draw(arrays(shapes[1], min_value=y_domain[0], max_value=y_domain[1]), label="y")
    assert gradcheck(op, [x, y])
    assert [np.shape(g) for g in backprop_gradients(op, x, y)] == [x.shape, y.shape]


@given(arrays())
def test_neg_gradient_is_minus_one(x):
    assert gradcheck(lambda t: -t, [x])
    np.testing.assert_array_equal(backprop_gradients(lambda t: -t, x)[0], -np.ones_like(x))


# -- (c) the nodes alone, DLFS layer style ------------------------------------------------------

def test_mul_layer_as_in_the_book():
    mul = Mul()
    assert mul.forward(100, 2) == 200
    assert mul.backward(1) == (2, 100)


def test_add_layer_as_in_the_book():
    add = Add()
    assert add.forward(200, 450) == 650
    assert add.backward(1.1) == (1.1, 1.1)


# node: (numpy forward, element-wise partial derivatives (∂z/∂x, ∂z/∂y))
CLOSED_FORMS = {
    Add: (np.add, lambda x, y: (1, 1)),
    Sub: (np.subtract, lambda x, y: (1, -1)),
    Mul: (np.multiply, lambda x, y: (y, x)),
    Div: (np.divide, lambda x, y: (1 / y, -x / y ** 2)),
    Pow: (np.power, lambda x, y: (y * x ** (y - 1), x ** y * np.log(x))),
}


@pytest.mark.parametrize("node", CLOSED_FORMS, ids=lambda node: node.__name__)
def test_layer_matches_closed_form(node):
    forward, partials = CLOSED_FORMS[node]
    x, y, dout = uniform((2, 3), (0.5, 2), 1), uniform(3, (-2, 2), 2), uniform((2, 3), (-1, 1), 3)
    layer = node()
    np.testing.assert_allclose(layer.forward(x, y), forward(x, y))
    dx, dy = layer.backward(dout)
    dz_dx, dz_dy = partials(x, y)
    np.testing.assert_allclose(dx, dout * dz_dx)  # x has the output's shape
    np.testing.assert_allclose(dy, (dout * dz_dy).sum(axis=0))  # y was repeated over rows


def test_neg_layer():
    x, dout = uniform((2, 3), (-3, 3), 1), uniform((2, 3), (-1, 1), 2)
    neg = Neg()
    np.testing.assert_array_equal(neg.forward(x), -x)
    np.testing.assert_array_equal(neg.backward(dout), -dout)


# -- (d) float32 stays float32 ----------------------------------------------------------------

@pytest.mark.parametrize("name", BINARY)
def test_float32_outputs_and_gradients(name):
    op, x_domain, y_domain = BINARY[name]
    x, y = uniform((2, 3), x_domain, 1), uniform(3, y_domain, 2)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    assert op(gg.tensor(x32), gg.tensor(y32)).dtype == np.float32
    for g32, g64 in zip(backprop_gradients(op, x32, y32), backprop_gradients(op, x, y)):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-5)


@pytest.mark.parametrize("name", NUMBER_OPERANDS)
def test_float32_with_number_operands(name):
    fn = NUMBER_OPERANDS[name]
    x = np.array([-1.5, -0.5, 0.5, 2.0])
    assert fn(gg.tensor(x.astype(np.float32))).dtype == np.float32
    (g32,), (g64,) = backprop_gradients(fn, x.astype(np.float32)), backprop_gradients(fn, x)
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, g64, rtol=1e-5)
