"""Following "Deep Learning from Scratch" unchanged: the book's chapter 3–5 code,
written with ``np.`` calls, on tensors (its ReLU layer too, which writes into a
copy); ``graphgrad.book``'s names and numbers; the layers' book attributes; ch6's
Trainer."""
from collections import OrderedDict

import numpy as np
import pytest

import graphgrad as gg
from graphgrad import book
from graphgrad.models import MultiLayerNet, TwoLayerNet
from graphgrad.nn import (
    Affine, BatchNormalization, Convolution, Dropout, Pooling, Relu, Sigmoid, SoftmaxWithLoss,
    im2col,
)
from graphgrad.optim import Nesterov
from graphgrad.testing import gradcheck


# -- the book's own code, as printed (ch3 common/functions.py, ch4 simpleNet) --------

def step_function(x):
    return np.array(x > 0, dtype=int)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def relu(x):
    return np.maximum(0, x)


def identity_function(x):
    return x


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def mean_squared_error(y, t):
    return 0.5 * np.sum((y - t) ** 2)


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


class BookRelu:  # ch5 common/layers.py, as printed
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = (x <= 0)
        out = x.copy()
        out[self.mask] = 0

        return out

    def backward(self, dout):
        dout[self.mask] = 0
        dx = dout

        return dx


def init_network():
    return {
        "W1": np.array([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]]), "b1": np.array([0.1, 0.2, 0.3]),
        "W2": np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]]), "b2": np.array([0.1, 0.2]),
        "W3": np.array([[0.1, 0.3], [0.2, 0.4]]), "b3": np.array([0.1, 0.2]),
    }


def forward(network, x):
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    a1 = np.dot(x, W1) + b1
    z1 = sigmoid(a1)
    a2 = np.dot(z1, W2) + b2
    z2 = sigmoid(a2)
    a3 = np.dot(z2, W3) + b3
    return identity_function(a3)


def forward_graphgrad(network, x):
    """The same network with graphgrad's own functions."""
    z1 = gg.sigmoid(gg.dot(x, network["W1"]) + network["b1"])
    z2 = gg.sigmoid(gg.dot(z1, network["W2"]) + network["b2"])
    return gg.dot(z2, network["W3"]) + network["b3"]


def tensors(arrays):
    return {key: gg.tensor(value, name=key) for key, value in arrays.items()}


def grads(out, params):
    return [g.data for g in gg.grad(out, list(params.values()))]


# -- ch3–5 functions written with np. calls, on tensors ------------------------------

@pytest.mark.parametrize("fn", [step_function, sigmoid, relu, softmax, identity_function])
def test_book_functions_on_tensors_equal_numpy(fn):
    x = np.array([[-1.0, 1.0, 2.0], [0.3, 2.9, 4.0]])
    out = fn(gg.tensor(x))
    np.testing.assert_allclose(np.asarray(out), fn(x), rtol=1e-15)
    if fn is step_function:  # not differentiable: a plain integer array
        assert isinstance(out, np.ndarray) and out.dtype.kind == "i"


@pytest.mark.parametrize("fn, own", [
    (sigmoid, gg.sigmoid), (relu, gg.relu), (softmax, gg.softmax),
])
def test_book_activations_have_graphgrads_gradients(fn, own):
    x = np.array([[-1.0, 1.0, 2.0], [0.3, 2.9, 4.0]])
    seed = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    a, b = gg.tensor(x), gg.tensor(x)
    np.testing.assert_allclose(gg.grad(fn(a), a, seed)[0].data,
                               gg.grad(own(b), b, seed)[0].data, rtol=1e-12, atol=1e-15)


def test_chapter3_forward_pass_on_tensors():
    arrays, x = init_network(), np.array([1.0, 0.5])
    y = forward(tensors(arrays), gg.tensor(x))
    np.testing.assert_allclose(y.data, forward(arrays, x))
    np.testing.assert_allclose(y.data, [0.31682708, 0.69627909], rtol=1e-7)
    params, own = tensors(arrays), tensors(arrays)
    loss = np.sum(forward(params, x) ** 2)
    expected = gg.sum(forward_graphgrad(own, x) ** 2)
    for g, h in zip(grads(loss, params), grads(expected, own)):
        np.testing.assert_allclose(g, h, rtol=1e-12)


def test_chapter4_simple_net_gradient():
    """ch4's simpleNet: loss = CEE(softmax(x·W), t); backprop through the book's code
    equals graphgrad's ops and the book's numerical gradient."""
    W0 = np.array([[0.47355232, 0.9977393, 0.84668094], [0.85557411, 0.03563661, 0.69422093]])
    x, t = np.array([0.6, 0.9]), np.array([0, 0, 1])
    W = gg.tensor(W0)
    loss = cross_entropy_error(softmax(np.dot(x, W)), t)
    assert isinstance(loss, gg.Tensor)
    assert loss.item() == pytest.approx(0.928068, abs=1e-6)  # the book's W, as printed
    dW = gg.grad(loss, W)[0].data
    V = gg.tensor(W0)
    own = gg.cross_entropy_error(gg.softmax(gg.dot(x, V)), t)
    np.testing.assert_allclose(dW, gg.grad(own, V)[0].data, rtol=1e-12)

    def f(W_):
        return cross_entropy_error(softmax(np.dot(x, W_)), t)

    np.testing.assert_allclose(dW, book.numerical_gradient(f, W0.copy()), atol=1e-7)


def test_batch_cross_entropy_with_labels_and_one_hot():
    y = np.array([[0.1, 0.7, 0.2], [0.3, 0.3, 0.4]])
    labels, one_hot = np.array([1, 2]), np.eye(3)[[1, 2]]
    a, b = gg.tensor(y), gg.tensor(y)
    loss_labels, loss_one_hot = cross_entropy_error(a, labels), cross_entropy_error(b, one_hot)
    assert loss_labels.item() == pytest.approx(cross_entropy_error(y, labels))
    assert loss_one_hot.item() == pytest.approx(book.cross_entropy_error(y, one_hot))
    np.testing.assert_allclose(gg.grad(loss_labels, a)[0].data, gg.grad(loss_one_hot, b)[0].data)


def test_the_books_relu_layer_on_tensors():
    """ch5's Relu copies x and zeroes the copy where x ≤ 0: on a tensor the write is
    recorded, so backprop through it gives ∂L/∂x = ∂L/∂out · [x > 0]."""
    values = np.array([[-1.0, 0.0, 2.0], [0.5, -3.0, 4.0]])
    x = gg.tensor(values, name="x")
    layer = BookRelu()
    out = layer.forward(x)
    assert isinstance(out, gg.Tensor) and out.creator.op == "[]="
    np.testing.assert_array_equal(out.data, np.maximum(values, 0))
    np.testing.assert_array_equal(x.data, values)  # x itself is left as it was
    np.testing.assert_array_equal(layer.mask, values <= 0)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, values > 0)
    # the book's backward, on arrays; and numpy in, numpy out, as the book runs it
    dout = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(layer.backward(dout.copy()), np.where(values > 0, dout, 0))
    np.testing.assert_array_equal(BookRelu().forward(values), np.maximum(values, 0))


def test_the_books_relu_layer_gradient_matches_central_differences():
    values = np.array([[-1.5, 0.25, 2.0], [0.5, -3.0, 4.0]])
    seed = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    assert gradcheck(lambda x: BookRelu().forward(x) * seed, [values])
    x, y = gg.tensor(values), gg.tensor(values)
    np.testing.assert_array_equal(gg.grad(BookRelu().forward(x), x, seed)[0].data,
                                  gg.grad(gg.relu(y), y, seed)[0].data)


# -- graphgrad.book: the book's numbers ----------------------------------------------

T = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
Y_RIGHT = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
Y_WRONG = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])


def test_mean_squared_error_of_the_books_examples():
    assert book.mean_squared_error(Y_RIGHT, T) == pytest.approx(0.0975)
    assert book.mean_squared_error(Y_WRONG, T) == pytest.approx(0.5975)
    y = gg.tensor(Y_RIGHT)
    loss = book.mean_squared_error(y, T)
    loss.backward()
    np.testing.assert_allclose(y.grad, Y_RIGHT - T)


def test_cross_entropy_error_of_the_books_examples():
    assert book.cross_entropy_error(Y_RIGHT, T) == pytest.approx(0.510825457099338)
    assert book.cross_entropy_error(Y_WRONG, T) == pytest.approx(2.302584092994546)


def test_book_functions_give_numpy_for_numpy_and_tensors_for_tensors():
    x = np.array([-1.0, 1.0, 2.0])
    for fn in (book.sigmoid, book.relu, book.softmax):
        assert isinstance(fn(x), np.ndarray)
        assert isinstance(fn(gg.tensor(x)), gg.Tensor)
    np.testing.assert_allclose(book.sigmoid(x), [0.26894142, 0.73105858, 0.88079708])
    np.testing.assert_array_equal(book.step_function(x), [0, 1, 1])
    np.testing.assert_array_equal(book.relu(x), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(book.softmax(np.array([0.3, 2.9, 4.0])),
                               [0.01821127, 0.24519181, 0.73659691], rtol=1e-6)
    assert book.identity_function(x) is x


def test_numerical_diff_and_gradient_descent_of_the_book():
    def function_1(x):
        return 0.01 * x ** 2 + 0.1 * x

    def function_2(x):
        return np.sum(x ** 2)

    assert book.numerical_diff(function_1, 5) == pytest.approx(0.2, abs=1e-9)
    assert book.numerical_diff(function_1, 10) == pytest.approx(0.3, abs=1e-9)
    np.testing.assert_allclose(book.numerical_gradient(function_2, np.array([3.0, 4.0])),
                               [6.0, 8.0])
    init_x = np.array([-3.0, 4.0])
    x = book.gradient_descent(function_2, init_x=init_x, lr=0.1, step_num=100)
    np.testing.assert_allclose(x, [-6.11110793e-10, 8.14814391e-10], rtol=1e-6)
    np.testing.assert_array_equal(init_x, [-3.0, 4.0])  # left as it was
    assert abs(book.gradient_descent(function_2, [-3.0, 4.0], lr=10.0)[0]) > 1e10  # too large


def book_numerical_gradient(f, x):  # ch4 common/gradient.py, as printed
    h = 1e-4
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        idx = it.multi_index
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2*h)
        x[idx] = tmp_val
        it.iternext()
    return grad


def book_gradient_descent(f, init_x, lr=0.01, step_num=100):  # ch4, as printed
    x = init_x
    for i in range(step_num):
        grad = book_numerical_gradient(f, x)
        x -= lr * grad
    return x


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gradient_descent_steps_as_the_books_in_the_dtype_of_init_x(dtype):
    def function_2(x):
        return np.sum(x ** 2)

    init_x = np.array([[-3.0, 4.0], [0.5, -1.5]], dtype=dtype)
    expected = book_gradient_descent(function_2, init_x.copy(), lr=0.1, step_num=20)
    x = book.gradient_descent(function_2, init_x, lr=0.1, step_num=20)
    assert x.dtype == dtype
    np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(book.numerical_gradient(function_2, init_x),
                                  book_numerical_gradient(function_2, init_x.copy()))


def test_mul_and_add_layers_buy_apples_and_oranges():
    apple, apple_num, orange, orange_num, tax = 100, 2, 150, 3, 1.1
    mul_apple, mul_orange = book.MulLayer(), book.MulLayer()
    add_apple_orange, mul_tax = book.AddLayer(), book.MulLayer()
    assert mul_apple.x is None and mul_apple.y is None
    apple_price = mul_apple.forward(apple, apple_num)
    orange_price = mul_orange.forward(orange, orange_num)
    all_price = add_apple_orange.forward(apple_price, orange_price)
    price = mul_tax.forward(all_price, tax)
    assert (mul_apple.x, mul_apple.y) == (100, 2)
    assert apple_price == 200 and all_price == 650 and price == pytest.approx(715)

    dall_price, dtax = mul_tax.backward(1)
    dapple_price, dorange_price = add_apple_orange.backward(dall_price)
    dorange, dorange_num = mul_orange.backward(dorange_price)
    dapple, dapple_num = mul_apple.backward(dapple_price)
    for got, want in [(dapple_num, 110), (dapple, 2.2), (dorange, 3.3), (dorange_num, 165),
                      (dtax, 650)]:
        assert got == pytest.approx(want)


def test_mul_layer_is_graphgrads_mul_node():
    layer = book.MulLayer()
    assert layer.forward(100, 2) == 200 and layer.backward(1) == (2, 100)
    assert isinstance(layer, gg.nodes.Mul) and isinstance(book.AddLayer(), gg.nodes.Add)


def test_mul_layer_on_tensors_records_a_node():
    apple, num = gg.tensor(100.0), gg.tensor(2.0)
    price = book.MulLayer()(apple, num)
    price.backward()
    assert price.creator.op == "×" and (apple.grad, num.grad) == (2.0, 100.0)


# -- the layers keep the book's attributes -------------------------------------------

def net_and_batch(seed=0):
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    net = TwoLayerNet(input_size=4, hidden_size=5, output_size=3)
    return net, rng.normal(size=(6, 4)), np.array([0, 1, 2, 0, 1, 2])


def test_gradient_leaves_dW_and_db_on_the_layers():
    net, x, t = net_and_batch()
    grads = net.gradient(x, t)
    for i in (1, 2):
        np.testing.assert_array_equal(net.layers[f"Affine{i}"].dW, grads[f"W{i}"])
        np.testing.assert_array_equal(net.layers[f"Affine{i}"].db, grads[f"b{i}"])
    np.testing.assert_array_equal(net.layers["Affine1"].x, x)
    np.testing.assert_array_equal(net.layers["Relu1"].mask, x @ net.params["W1"] <= 0)
    assert net.lastLayer is net.last_layer


def test_the_books_gradient_method_runs_on_graphgrad_layers():
    """ch5's TwoLayerNet.gradient, as printed, over graphgrad's layers."""
    net, x, t = net_and_batch(1)

    def book_gradient(self, x, t):
        y = x
        for layer in self.layers.values():
            y = layer.forward(y)
        self.lastLayer.forward(y, t)
        dout = 1
        dout = self.lastLayer.backward(dout)
        layers = list(self.layers.values())
        layers.reverse()
        for layer in layers:
            dout = layer.backward(dout)
        return {"W1": self.layers["Affine1"].dW, "b1": self.layers["Affine1"].db,
                "W2": self.layers["Affine2"].dW, "b2": self.layers["Affine2"].db}

    expected = net.gradient(x, t)
    got = book_gradient(net, x, t)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-12, atol=1e-15)


def test_softmax_with_loss_keeps_y_t_and_loss():
    layer = SoftmaxWithLoss()
    assert layer.y is None and layer.t is None and layer.loss is None
    x, t = np.array([[0.3, 2.9, 4.0], [1.0, 0.0, -1.0]]), np.array([2, 0])
    loss = layer.forward(x, t)
    assert layer.loss == loss
    np.testing.assert_array_equal(layer.t, t)
    np.testing.assert_allclose(layer.y, book.softmax(x))
    np.testing.assert_allclose(layer.backward(), (layer.y - np.eye(3)[t]) / 2)


def test_relu_sigmoid_dropout_keep_the_books_attributes():
    x = np.array([[-1.0, 0.0, 2.0]])
    relu_layer, sigmoid_layer, dropout = Relu(), Sigmoid(), Dropout(0.5)
    assert relu_layer.mask is None
    relu_layer.forward(x)
    np.testing.assert_array_equal(relu_layer.mask, [[True, True, False]])
    np.testing.assert_allclose(sigmoid_layer.forward(x), sigmoid_layer.out)
    out = dropout.forward(x)
    np.testing.assert_array_equal(out, x * dropout.mask)


def test_convolution_and_pooling_keep_col_col_W_and_arg_max():
    """ch7's layers keep im2col of the latest input (``col``), the filters as columns
    (``col_W``) and the pooling windows' first maxima (``arg_max``): from them the
    book's own forward gives the layers' outputs."""
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=(2, 3, 5, 6)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    conv, pool = Convolution(W, b, stride=2, pad=1), Pooling(2, 2, stride=2)
    assert conv.col is None and conv.col_W is None and pool.arg_max is None
    out = conv.forward(x)
    n, fn, oh, ow = out.shape
    np.testing.assert_array_equal(conv.col, im2col(x, 3, 2, 2, 1))
    np.testing.assert_array_equal(conv.col_W, W.reshape(4, -1).T)
    books = (conv.col @ conv.col_W + b).reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(out, books, rtol=1e-12)

    pooled = pool.forward(out)
    windows = im2col(out, 2, 2, 2, 0).reshape(-1, 4)
    np.testing.assert_array_equal(pool.arg_max, np.argmax(windows, axis=1))
    books = windows.max(axis=1).reshape(n, pooled.shape[2], pooled.shape[3], fn)
    np.testing.assert_array_equal(pooled, books.transpose(0, 3, 1, 2))


def test_batchnorm_keeps_dgamma_and_dbeta_after_gradient():
    np.random.seed(0)
    net = MultiLayerNet(4, [5], 3, use_batchnorm=True)
    x, t = np.random.default_rng(0).normal(size=(6, 4)), np.array([0, 1, 2, 0, 1, 2])
    grads = net.gradient(x, t)
    layer = net.layers["BatchNorm1"]
    np.testing.assert_array_equal(layer.dgamma, grads["gamma1"])
    np.testing.assert_array_equal(layer.dbeta, grads["beta1"])
    standalone = BatchNormalization(np.ones(5), np.zeros(5))
    assert standalone.dgamma is None
    standalone.forward(np.random.default_rng(1).normal(size=(4, 5)))
    standalone.backward(np.ones((4, 5)))
    assert standalone.dgamma.shape == standalone.dbeta.shape == (5,)


def test_a_book_style_network_sets_lastLayer():
    class Net(TwoLayerNet):
        def __init__(self):
            super().__init__(2, 3, 2)
            self.layers = OrderedDict(Affine1=Affine(self.params["W1"], self.params["b1"]))
            self.lastLayer = SoftmaxWithLoss()

    net = Net()
    assert isinstance(net.last_layer, SoftmaxWithLoss) and net.last_layer is net.lastLayer


# -- ch6's Trainer ----------------------------------------------------------------------

def blobs(n, seed):
    """Two separable classes in 2-D."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    return rng.normal(size=(n, 2)) + 3.0 * t[:, None], t


def test_trainer_trains_and_evaluates_each_epoch(capsys):
    np.random.seed(0)
    (x_train, t_train), (x_test, t_test) = blobs(200, 0), blobs(100, 1)
    net = TwoLayerNet(input_size=2, hidden_size=8, output_size=2, weight_init_std=0.1)
    trainer = book.Trainer(net, x_train, t_train, x_test, t_test, epochs=5,
                           mini_batch_size=20, optimizer="Adam",
                           optimizer_param={"lr": 0.05}, evaluate_sample_num_per_epoch=50)
    trainer.train()
    assert trainer.max_iter == 50 and len(trainer.train_loss_list) == 50
    assert len(trainer.train_acc_list) == len(trainer.test_acc_list) == 5
    assert trainer.test_acc_list[-1] > 0.9
    printed = capsys.readouterr().out
    assert "=== epoch:5, train acc:" in printed and "Final Test Accuracy" in printed


def test_trainer_is_quiet_when_asked_and_names_unknown_optimizers(capsys):
    x, t = blobs(10, 0)
    net = TwoLayerNet(2, 3, 2)
    book.Trainer(net, x, t, x, t, epochs=1, mini_batch_size=5, optimizer="sgd",
                 verbose=False).train()
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError,
                       match="'AdaDelta'.*SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam"):
        book.Trainer(net, x, t, x, t, optimizer="AdaDelta")
    assert isinstance(book.Trainer(net, x, t, x, t, optimizer="nesterov").optimizer,
                      Nesterov)
