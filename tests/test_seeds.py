"""The numbers Deep Learning from Scratch prints, reproduced node by node and by backward()."""
import numpy as np
import pytest

import graphgrad as gg
from graphgrad.cli.demo import apple_orange
from graphgrad.nodes import Add, Mul
from graphgrad.testing import numerical_gradient


def test_apple_with_standalone_layers():
    mul_apple, mul_tax = Mul(), Mul()
    price = mul_tax.forward(mul_apple.forward(100, 2), 1.1)
    assert price == pytest.approx(220)
    dapple_price, dtax = mul_tax.backward(1)
    dapple, dapple_num = mul_apple.backward(dapple_price)
    assert (dapple, dapple_num, dtax) == pytest.approx((2.2, 110, 200))


def test_apple_orange_with_standalone_layers():
    mul_apple, mul_orange, add, mul_tax = Mul(), Mul(), Add(), Mul()
    all_price = add.forward(mul_apple.forward(100, 2), mul_orange.forward(150, 3))
    price = mul_tax.forward(all_price, 1.1)
    assert price == pytest.approx(715)
    dall_price, dtax = mul_tax.backward(1)
    dapple_price, dorange_price = add.backward(dall_price)
    dorange, dorange_num = mul_orange.backward(dorange_price)
    dapple, dapple_num = mul_apple.backward(dapple_price)
    assert (dapple_num, dapple, dorange, dorange_num, dtax) == pytest.approx(
        (110, 2.2, 3.3, 165, 650))


def test_apple_with_backward():
    apple = gg.tensor(100.0, name="apple")
    num = gg.tensor(2.0, name="apple_num")
    tax = gg.tensor(1.1, name="tax")
    price = apple * num * tax
    price.backward()
    assert price.item() == pytest.approx(220)
    assert (apple.grad, num.grad, tax.grad) == pytest.approx((2.2, 110, 200))


def test_apple_orange_with_backward():
    price, (apple_num, apple, orange, orange_num, tax) = apple_orange()
    assert price.item() == pytest.approx(715)
    grads = [t.grad for t in (apple_num, apple, orange, orange_num, tax)]
    assert grads == pytest.approx([110, 2.2, 3.3, 165, 650])
    assert price.grad == 1  # the seed dprice = 1


def test_numerical_gradient_of_sum_of_squares():
    def f(x):
        return x[0] ** 2 + x[1] ** 2

    np.testing.assert_allclose(numerical_gradient(f, np.array([3.0, 4.0])), [6, 8])
    np.testing.assert_allclose(numerical_gradient(f, np.array([0.0, 2.0])), [0, 4], atol=1e-9)


def test_numerical_gradient_restores_x():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    numerical_gradient(lambda v: float((v ** 2).sum()), x)
    np.testing.assert_array_equal(x, [[1.0, 2.0], [3.0, 4.0]])


def test_gradient_descent_reaches_minimum():
    x = np.array([-3.0, 4.0])
    for _ in range(100):
        x -= 0.1 * numerical_gradient(lambda v: v[0] ** 2 + v[1] ** 2, x)
    np.testing.assert_allclose(x, [0, 0], atol=1e-8)


def test_gradient_descent_with_backprop():
    x = gg.tensor([-3.0, 4.0])
    for _ in range(100):
        x.grad = None
        gg.sum(x * x).backward()
        x.data -= 0.1 * x.grad
    np.testing.assert_allclose(x.data, [0, 0], atol=1e-8)
