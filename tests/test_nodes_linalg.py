"""MatMul and Dot: backprop against central differences and closed forms, for 1-D
operands (promoted as numpy does), matrices, batches and broadcast batches."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import graphgrad as gg
from graphgrad.functions import matmul_add
from graphgrad.nodes import Dot, MatMul, MatMulAdd
from graphgrad.testing import backprop_gradients, gradcheck
from graphgrad.testing.strategies import arrays, shapes

MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)),  # vectors and matrices
    ((2, 2, 3), (2, 3, 4)), ((3, 1, 2, 4), (5, 4, 2)), ((1, 2, 3), (3, 2)),  # (broadcast) batches
    ((3,), (2, 3, 4)), ((2, 4, 3), (3,)),  # a vector against a batch
]
DOT_SHAPES = [((3,), (3,)), ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)),
              ((2, 2, 3), (3, 4)), ((2, 2, 3), (3,))]


def normal(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


@st.composite
def dot_operands(draw):
    """Arrays x, y of shapes that np.dot accepts and graphgrad supports: x of 1 to 3
    axes, y a vector or a matrix."""
    x_shape = draw(shapes(min_dims=1))
    y_shape = x_shape[-1:] + draw(shapes(max_dims=1))
    return draw(arrays(x_shape)), draw(arrays(y_shape))


# -- (a) central differences ------------------------------------------------------------

@pytest.mark.parametrize("x_shape, y_shape", MATMUL_SHAPES)
def test_gradcheck_matmul(x_shape, y_shape):
    assert gradcheck(lambda x, y: x @ y, [normal(x_shape, 1), normal(y_shape, 2)])


@pytest.mark.parametrize("x_shape, y_shape", DOT_SHAPES)
def test_gradcheck_dot(x_shape, y_shape):
    assert gradcheck(gg.dot, [normal(x_shape, 1), normal(y_shape, 2)])


def test_gradcheck_product_with_itself():
    x = normal((3, 2), 0)
    assert gradcheck(lambda t: t @ t.T, [x])
    assert gradcheck(lambda t: gg.dot(t.T, t), [x])


MATMUL_ADD_SHAPES = [  # (x, y, b): a bias per output column, per row (a convolution's)
    ((2, 3), (3, 4), (4,)), ((3, 2), (4, 2, 5), (3, 1)), ((2, 3), (3, 4), ()),
]


@pytest.mark.parametrize("x_shape, y_shape, b_shape", MATMUL_ADD_SHAPES)
def test_gradcheck_matmul_add(x_shape, y_shape, b_shape):
    operands = [normal(x_shape, 1), normal(y_shape, 2), normal(b_shape, 3)]
    assert gradcheck(matmul_add, operands)
    x, y, b = operands
    np.testing.assert_allclose(MatMulAdd().forward(x, y, b), x @ y + b, rtol=1e-15)


def test_matmul_add_promotes_a_bias_of_another_dtype_as_numpy_does():
    x, y = normal((2, 3), 1).astype(np.float32), normal((3, 4), 2).astype(np.float32)
    assert MatMulAdd().forward(x, y, np.float32(1)).dtype == np.float32
    assert MatMulAdd().forward(x, y, np.zeros(4)).dtype == np.float64
    assert MatMulAdd().forward(x, y, 1.0).dtype == np.float32


@pytest.mark.parametrize("b_dtype", [np.float64, np.float32])
def test_matmul_add_refuses_a_bias_broadcasting_beyond_the_product(b_dtype):
    """B is added onto the product, never the product broadcast onto B: whatever B's
    dtype (a float32 B was added the plain way, and X got a gradient of shape
    (2, 2, 3) for its (2, 3))."""
    x, y, b = normal((2, 3), 1), normal((3, 4), 2), normal((2, 2, 4), 3).astype(b_dtype)
    with pytest.raises(ValueError, match=r"MatMulAdd \(@\+\) .*\(2, 2, 4\).*\(2, 4\)"):
        matmul_add(gg.tensor(x), gg.tensor(y), gg.tensor(b))

def test_constant_operand_gets_no_gradient():
    x = gg.tensor(normal((4, 3), 1), requires_grad=False)
    w = gg.tensor(normal((3, 2), 2))
    gg.sum(x @ w).backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad, x.data.T @ np.ones((4, 2)))


# -- (b) properties over random shapes and values -------------------------------------------

@given(hnp.mutually_broadcastable_shapes(signature=np.matmul.signature, max_side=4), st.data())
def test_matmul_gradients_match_central_differences(shapes_, data):
    x_shape, y_shape = shapes_.input_shapes
    x, y = data.draw(arrays(x_shape), label="x"), data.draw(arrays(y_shape), label="y")
    assert gradcheck(lambda a, b: a @ b, [x, y])
    assert [np.shape(g) for g in backprop_gradients(lambda a, b: a @ b, x, y)] == [x_shape, y_shape]


@given(dot_operands())
def test_dot_gradients_match_central_differences(operands):
    assert gradcheck(gg.dot, operands)
    x, y = operands
    np.testing.assert_allclose(gg.dot(x, y).data, np.dot(x, y))


# -- (c) the nodes alone, DLFS layer style ------------------------------------------------------

def test_matmul_layer_is_the_affine_product():
    x, w, dout = normal((4, 3), 1), normal((3, 2), 2), normal((4, 2), 3)
    layer = MatMul()
    np.testing.assert_allclose(layer.forward(x, w), x @ w)
    dx, dw = layer.backward(dout)
    np.testing.assert_allclose(dx, dout @ w.T)  # DLFS Affine: dx = dout · Wᵀ
    np.testing.assert_allclose(dw, x.T @ dout)  # dW = xᵀ · dout


def test_matmul_layer_on_vectors():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    layer = MatMul()
    assert layer.forward(x, y) == 32.0
    dx, dy = layer.backward(2.0)
    np.testing.assert_array_equal(dx, 2 * y)
    np.testing.assert_array_equal(dy, 2 * x)


def test_matmul_layer_with_broadcast_batches():
    x, y = normal((3, 1, 2, 4), 1), normal((5, 4, 2), 2)
    dout = normal((3, 5, 2, 2), 3)
    layer = MatMul()
    np.testing.assert_allclose(layer.forward(x, y), np.einsum("aik,bkj->abij", x[:, 0], y))
    dx, dy = layer.backward(dout)
    np.testing.assert_allclose(dx, np.einsum("abij,bkj->aik", dout, y)[:, None])
    np.testing.assert_allclose(dy, np.einsum("aik,abij->bkj", x[:, 0], dout))


def test_matmul_layer_vector_times_batch():
    x, y, dout = normal(3, 1), normal((2, 3, 4), 2), normal((2, 4), 3)
    layer = MatMul()
    np.testing.assert_allclose(layer.forward(x, y), np.einsum("k,bkj->bj", x, y))
    dx, dy = layer.backward(dout)
    np.testing.assert_allclose(dx, np.einsum("bj,bkj->k", dout, y))
    np.testing.assert_allclose(dy, np.einsum("k,bj->bkj", x, dout))


def test_dot_layer_matrix_times_vector():
    x, y, dout = normal((2, 3), 1), normal(3, 2), normal(2, 3)
    layer = Dot()
    np.testing.assert_allclose(layer.forward(x, y), np.dot(x, y))
    dx, dy = layer.backward(dout)
    np.testing.assert_allclose(dx, np.outer(dout, y))
    np.testing.assert_allclose(dy, x.T @ dout)


def test_dot_rejects_what_it_does_not_support():
    with pytest.raises(ValueError, match="dot"):
        Dot().forward(normal((2, 3, 4), 1), normal((3, 4, 2), 2))
    with pytest.raises(ValueError, match="dot"):
        Dot().forward(2.0, normal(3, 1))


# -- (d) float32 stays float32 --------------------------------------------------------------

@pytest.mark.parametrize("product, x_shape, y_shape",
                         [(gg.matmul, *shapes_) for shapes_ in MATMUL_SHAPES]
                         + [(gg.dot, *shapes_) for shapes_ in DOT_SHAPES])
def test_float32_outputs_and_gradients(product, x_shape, y_shape):
    x, y = normal(x_shape, 1), normal(y_shape, 2)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    assert product(gg.tensor(x32), gg.tensor(y32)).dtype == np.float32
    for g32, g64 in zip(backprop_gradients(product, x32, y32), backprop_gradients(product, x, y)):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-5, atol=1e-6)
