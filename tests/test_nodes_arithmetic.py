"""Add, Sub, Mul, Div, Neg, Pow: backprop against central differences and closed forms.

Each node is checked four ways: gradcheck on fixed shapes that broadcast, a
hypothesis property over random shapes and values, the node on its own in the DLFS
layer style against numpy's closed forms, and float32 in → float32 out and gradients.
Pow has a fifth section: its gradients where x = 0 or y = 0 (PyTorch's, where the
formulas read 0 · ∞) and its second derivatives.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import graphgrad as gg
from graphgrad.nodes import Add, Div, Mul, Neg, Pow, Sub
from graphgrad.backend import sum_to
from graphgrad.testing import backprop_gradients, gradcheck, gradgradcheck
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


# -- (e) Pow at a zero base or exponent, and its second derivatives ---------------------------

# PyTorch's ∂z/∂x and ∂z/∂y of z = x ** y where the formulas y · x^(y−1) and z · log x
# meet 0 · ∞: ∂z/∂x = 0 where y = 0, ∂z/∂y = 0 where x = 0 and y ≥ 0; the rest as is.
# (x, y, ∂z/∂x, ∂z/∂y)
POW_AT_ZERO = [
    (0.0, 2.0, 0.0, 0.0), (0.0, 1.0, 1.0, 0.0), (0.0, 0.5, np.inf, 0.0),
    (0.0, 0.0, 0.0, 0.0), (0.0, -1.0, -np.inf, -np.inf), (-0.0, 3.0, 0.0, 0.0),
    (2.0, 0.0, 0.0, np.log(2.0)), (-2.0, 0.0, 0.0, np.nan), (-2.0, 2.0, -4.0, np.nan),
]


@pytest.mark.parametrize("x, y, dz_dx, dz_dy", POW_AT_ZERO)
@pytest.mark.parametrize("shape", [(), (2,)], ids=["scalars", "arrays"])
def test_pow_gradients_at_a_zero_base_or_exponent_are_pytorchs(x, y, dz_dx, dz_dy, shape):
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1, log(-2): numpy's warnings
        gx, gy = backprop_gradients(lambda a, b: a ** b, np.full(shape, x), np.full(shape, y))
    np.testing.assert_array_equal(gx, np.full(shape, dz_dx))
    np.testing.assert_array_equal(gy, np.full(shape, dz_dy))


@pytest.mark.parametrize("zero", [0, 0.0])
def test_number_zero_base_and_exponent(zero):
    """``0.0 ** y``: ∂z/∂y = 0 where y ≥ 0; ``x ** 0``: ∂z/∂x = 0 (x = 0 included)."""
    y = gg.tensor(np.array([-1.0, 0.0, 0.5, 2.0]))
    with np.errstate(divide="ignore"):  # 0 ** -1
        (gy,) = gg.grad(gg.sum(zero ** y), y)
    np.testing.assert_array_equal(gy.data, [-np.inf, 0.0, 0.0, 0.0])
    x = gg.tensor(np.array([0.0, 1.0, -2.0]))
    with np.errstate(all="raise"):  # no 0 · x⁻¹ taken
        (gx,) = gg.grad(gg.sum(x ** zero), x)
    np.testing.assert_array_equal(gx.data, [0.0, 0.0, 0.0])


def pytorch_pow_gradients(x, y):
    """∂z/∂x and ∂z/∂y of z = x ** y by PyTorch's rule, element-wise (broadcast)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        dz_dx = np.where(y == 0, 0.0, y * x ** (y - 1))
        dz_dy = np.where((x == 0) & (y >= 0), 0.0, x ** y * np.log(x))
    return dz_dx, dz_dy


def halves(shape):
    """Arrays of multiples of 0.5 in [−2, 2]: zeros, integers and roots, often."""
    return arrays(shape, min_value=-4, max_value=4).map(lambda a: np.round(a) / 2)


@given(broadcastable_shapes(), st.data())
def test_pow_gradients_are_pytorchs_with_zeros(shapes, data):
    """With zeros in the base and exponent (and negative bases, NaN under log), the
    gradients are PyTorch's, summed back over broadcasting."""
    x, y = data.draw(halves(shapes[0]), label="x"), data.draw(halves(shapes[1]), label="y")
    with np.errstate(divide="ignore", invalid="ignore"):
        gx, gy = backprop_gradients(lambda a, b: a ** b, x, y)
    dz_dx, dz_dy = pytorch_pow_gradients(x, y)
    with np.errstate(invalid="ignore"):  # inf − inf in the sums: NaN, as in backprop
        np.testing.assert_allclose(gx, sum_to(dz_dx, x.shape), rtol=1e-12)
        np.testing.assert_allclose(gy, sum_to(dz_dy, y.shape), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_at_zero_keeps_the_dtype(dtype):
    """The 0/1 masks are cast to the gradient's dtype (numpy's bool array + the number
    0.0 of ``0.0 ** y`` would be float64)."""
    values = np.array([0.0, 0.0, 2.0], dtype=dtype), np.array([0.0, 2.0, 0.0], dtype=dtype)
    for g in [*backprop_gradients(lambda a, b: a ** b, *values),
              *backprop_gradients(lambda b: 0.0 ** b, values[1])]:
        assert g.dtype == dtype


# second derivatives where the formulas hold: y = 0 included (only x = y = 0 is special)
SECOND_DERIVATIVES = {
    "x ** y": (lambda x, y: x ** y, [uniform((2, 3), (0.5, 3), 1), uniform(3, (-2, 2), 2)]),
    "x ** y, y = 0": (lambda x, y: x ** y, [uniform(3, (0.5, 3), 1), np.array([0.0, 1.0, 0.0])]),
    "x ** y, scalars, y = 0": (lambda x, y: x ** y, [np.float64(1.7), np.float64(0.0)]),
    "x ** 3": (lambda x: x ** 3, [uniform(4, (-3, 3), 3)]),
    "x ** -2": (lambda x: x ** -2, [uniform(4, (0.5, 3), 4)]),
    "2 ** y": (lambda y: 2 ** y, [uniform(4, (-2, 2), 5)]),
}


@pytest.mark.parametrize("name", SECOND_DERIVATIVES)
def test_pow_second_derivatives(name):
    fn, inputs = SECOND_DERIVATIVES[name]
    assert gradgradcheck(fn, inputs)
