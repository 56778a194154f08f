"""TwoLayerNet, SimpleConvNet, MultiLayerNet and DeepConvNet: the DLFS API, gradient checks,
shared parameter arrays, weight files, and training on the shipped MNIST split."""
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

import graphgrad as gg
from benchmarks import conv_step as book
from graphgrad import autograd
from graphgrad.datasets import load_mnist
from graphgrad.models import DeepConvNet, MultiLayerNet, SimpleConvNet, TwoLayerNet
from graphgrad.nn import Affine, BatchNormalization, Dropout
from graphgrad.optim import SGD, Adam
from graphgrad.serialization import UnsafePickleError


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def max_differences(model, x, t):
    backprop, numerical = model.gradient(x, t), model.numerical_gradient(x, t)
    assert backprop.keys() == numerical.keys() == model.params.keys()
    for key in backprop:
        assert backprop[key].shape == model.params[key].shape
    return {key: np.abs(backprop[key] - numerical[key]).max() for key in backprop}


def test_two_layer_net_gradient_check_as_in_dlfs(mnist):
    (x_train, t_train), _ = mnist
    np.random.seed(0)
    net = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)
    differences = max_differences(net, x_train[:3], t_train[:3])
    assert all(diff < 1e-6 for diff in differences.values()), differences


def test_simple_conv_net_gradient_check_on_a_tiny_input():
    np.random.seed(1)
    net = SimpleConvNet(input_dim=(1, 10, 10), hidden_size=10, weight_init_std=0.1,
                        conv_param={"filter_num": 3, "filter_size": 5, "pad": 0, "stride": 1})
    assert net.params["W1"].shape == (3, 1, 5, 5) and net.params["W2"].shape == (27, 10)
    x, t = np.random.rand(2, 1, 10, 10), np.array([3, 7])
    differences = max_differences(net, x, t)
    assert all(diff < 1e-7 for diff in differences.values()), differences


def test_simple_conv_net_in_float32_computes_in_float32_from_the_same_draws():
    conv = {"filter_num": 3, "filter_size": 3, "pad": 1, "stride": 1}
    np.random.seed(2)
    wide = SimpleConvNet(input_dim=(1, 6, 6), conv_param=conv, hidden_size=4)
    np.random.seed(2)
    net = SimpleConvNet(input_dim=(1, 6, 6), conv_param=conv, hidden_size=4,
                        dtype=np.float32)
    assert net.dtype == np.float32 and wide.dtype == np.float64
    for key, value in net.params.items():
        np.testing.assert_array_equal(value, wide.params[key].astype(np.float32))
    x, t = np.random.rand(3, 1, 6, 6), np.array([0, 5, 9])  # a float64 batch: cast
    with gg.Tape() as tape:
        net.loss_graph(x, t)
    assert {out.dtype for node in tape.nodes for out in node.outputs} == {np.dtype(np.float32)}
    grads = net.gradient(x, t)
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}
    for key, g in wide.gradient(x, t).items():
        np.testing.assert_allclose(grads[key], g, rtol=1e-3, atol=1e-6)


def test_simple_conv_net_reshapes_copy_nothing_and_feed_contiguous_arrays():
    net = SimpleConvNet()
    with gg.Tape() as tape:
        net.loss_graph(np.random.rand(3, 1, 28, 28), np.array([1, 2, 3]))
    moves = [node for node in tape.nodes if isinstance(node, (gg.nodes.Reshape,
                                                              gg.nodes.Transpose))]
    assert moves and all(np.shares_memory(node.inputs[0].data, node.outputs[0].data)
                         for node in moves)
    assert all(t.data.flags.c_contiguous for node in tape.nodes for t in node.inputs
               if isinstance(node, gg.nodes.MatMul))


def book_deep_conv_net_params(seed):
    """The parameters DLFS's ch8 DeepConvNet draws after ``np.random.seed(seed)``
    (its ``__init__``, as the book writes it)."""
    np.random.seed(seed)
    pre_node_nums = np.array([1*3*3, 16*3*3, 16*3*3, 32*3*3, 32*3*3, 64*3*3, 64*4*4, 50])
    wight_init_scales = np.sqrt(2.0 / pre_node_nums)
    params, pre_channel_num = {}, 1
    for idx, filter_num in enumerate([16, 16, 32, 32, 64, 64]):
        params['W' + str(idx+1)] = wight_init_scales[idx] * np.random.randn(
            filter_num, pre_channel_num, 3, 3)
        params['b' + str(idx+1)] = np.zeros(filter_num)
        pre_channel_num = filter_num
    params['W7'] = wight_init_scales[6] * np.random.randn(64*4*4, 50)
    params['b7'] = np.zeros(50)
    params['W8'] = wight_init_scales[7] * np.random.randn(50, 10)
    params['b8'] = np.zeros(10)
    return params


def test_deep_conv_net_draws_the_books_weights_and_stacks_its_layers():
    expected = book_deep_conv_net_params(seed=3)
    np.random.seed(3)
    net = DeepConvNet()
    assert list(net.params) == list(expected)
    for key, value in expected.items():
        np.testing.assert_array_equal(net.params[key], value, err_msg=key)
    assert [type(layer).__name__ for layer in net.layers.values()] == (
        ["Convolution", "Relu", "Convolution", "Relu", "Pooling"] * 3
        + ["Affine", "Relu", "Dropout", "Affine", "Dropout"])
    assert [net.layers[f"Conv{i}"].pad for i in range(1, 7)] == [1, 1, 1, 2, 1, 1]
    x = np.random.rand(2, 1, 28, 28)
    assert net.predict(x).shape == (2, 10)


def test_deep_conv_net_gradient_check_on_a_tiny_input():
    """Every parameter's backprop gradient against central differences, with the
    Dropout layers training (the same masks for both)."""
    np.random.seed(4)
    convs = [{"filter_num": 2, "filter_size": 3, "pad": pad, "stride": 1}
             for pad in (1, 1, 1, 2, 1, 1)]
    net = DeepConvNet((1, 8, 8), *convs, hidden_size=3, output_size=4)
    assert net.params["W7"].shape == (2, 3)  # 8 → pool 4 → pad 2: 6 → pool 3 → pool 1
    x, t = np.random.rand(3, 1, 8, 8), np.array([0, 3, 1])
    numerical = net.numerical_gradient(x, t)  # first: gradient then draws its masks
    backprop = net.gradient(x, t)
    assert backprop.keys() == numerical.keys() == net.params.keys()
    differences = {key: np.abs(backprop[key] - numerical[key]).max() for key in backprop}
    assert all(diff < 1e-7 for diff in differences.values()), differences
    assert 0 < net.layers["Dropout1"].mask.sum() < net.layers["Dropout1"].mask.size


class BookDropout:  # ch6 common/layers.py, as printed
    def __init__(self, dropout_ratio=0.5):
        self.dropout_ratio, self.mask = dropout_ratio, None

    def forward(self, x, train_flg=True):
        if train_flg:
            self.mask = np.random.rand(*x.shape) > self.dropout_ratio
            return x * self.mask
        return x * (1.0 - self.dropout_ratio)

    def backward(self, dout):
        return dout * self.mask


class BookDeepConvNet:
    """ch8 deep_convnet.py as printed (its predict, loss, gradient), on the book's
    layers, given the parameters and convolution settings."""

    def __init__(self, params, convs):
        self.params, self.layers = params, []
        for i, conv in enumerate(convs, start=1):
            self.layers += [book.Convolution(params[f"W{i}"], params[f"b{i}"], conv["stride"],
                                             conv["pad"]), book.Relu()]
            if i % 2 == 0:
                self.layers.append(book.Pooling(pool_h=2, pool_w=2, stride=2))
        self.layers += [book.Affine(params["W7"], params["b7"]), book.Relu(), BookDropout(0.5),
                        book.Affine(params["W8"], params["b8"]), BookDropout(0.5)]
        self.last_layer = book.SoftmaxWithLoss()

    def predict(self, x, train_flg=False):
        for layer in self.layers:
            x = layer.forward(x, train_flg) if isinstance(layer, BookDropout) else layer.forward(x)
        return x

    def loss(self, x, t):
        y = self.predict(x, train_flg=True)
        return self.last_layer.forward(y, t)

    def gradient(self, x, t):
        self.loss(x, t)
        dout = self.last_layer.backward(1)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        grads = {}
        for i, layer_idx in enumerate((0, 2, 5, 7, 10, 12, 15, 18)):
            grads["W" + str(i + 1)] = self.layers[layer_idx].dW
            grads["b" + str(i + 1)] = self.layers[layer_idx].db
        return grads


def test_deep_conv_net_loss_is_the_books_training_loss():
    """The book's DeepConvNet.loss(x, t) runs predict(x, train_flg=True): its Dropout
    layers draw masks from np.random, so a Trainer's printed losses, and the batches
    it draws after them, follow the book from the same seed."""
    convs = [{"filter_num": 2, "filter_size": 3, "pad": pad, "stride": 1}
             for pad in (1, 1, 1, 2, 1, 1)]
    np.random.seed(4)
    net = DeepConvNet((1, 8, 8), *convs, hidden_size=3, output_size=4)
    reference = BookDeepConvNet({key: value.copy() for key, value in net.params.items()}, convs)
    x, t = np.random.rand(3, 1, 8, 8), np.array([0, 3, 1])
    results = []
    for model in (reference, net):
        np.random.seed(7)
        results.append((model.loss(x, t), np.random.rand()))  # the loss, the next draw
    assert results[1] == pytest.approx(results[0], rel=1e-6)
    np.random.seed(8)
    expected = reference.gradient(x, t)
    np.random.seed(8)
    for key, value in net.gradient(x, t).items():
        np.testing.assert_allclose(value, expected[key], rtol=1e-9, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(net.predict(x), reference.predict(x), rtol=1e-9)
    assert net.loss(x, t, train_flg=False) == pytest.approx(
        reference.last_layer.forward(reference.predict(x), t), rel=1e-6)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("use_batchnorm", [False, True])
def test_multi_layer_net_gradient_check(activation, use_batchnorm):
    np.random.seed(2)
    net = MultiLayerNet(6, [5, 4], 3, activation=activation, use_batchnorm=use_batchnorm,
                        weight_decay_lambda=0.1)
    x, t = np.random.rand(4, 6), np.eye(3)[[0, 1, 2, 1]]
    differences = max_differences(net, x, t)
    assert all(diff < 1e-7 for diff in differences.values()), differences


def test_gradient_is_one_forward_and_one_reverse_sweep(monkeypatch):
    np.random.seed(14)
    net = TwoLayerNet(4, 3, 2)
    x, t = np.random.rand(5, 4), np.array([0, 1, 1, 0, 1])
    with gg.Tape() as forward:
        net.loss_graph(x, t)
    orders, sweep = [], autograd.sweep  # the nodes each reverse sweep visits, in order

    def counted_sweep(roots, *args, **kwargs):
        orders.append(autograd.reverse_order(roots))
        return sweep(roots, *args, **kwargs)

    monkeypatch.setattr(autograd, "sweep", counted_sweep)
    with gg.Tape() as tape:
        net.gradient(x, t)
    assert [node.op for node in tape.nodes] == [node.op for node in forward.nodes]
    assert orders == [tape.nodes[::-1]]  # one sweep, through every recorded node


def test_numerical_gradient_leaves_the_running_statistics_as_they_were():
    np.random.seed(12)
    net = MultiLayerNet(6, [5], 3, use_batchnorm=True)
    x, t = np.random.rand(4, 6), np.array([0, 1, 2, 1])
    net.numerical_gradient(x, t)
    assert net.layers["BatchNorm1"].running_mean is None  # as before: never trained
    net.gradient(x, t)  # a training step sets them
    before = net.layers["BatchNorm1"].training_state()
    copies = [array.copy() for array in before]
    net.numerical_gradient(x, t)
    after = net.layers["BatchNorm1"].training_state()
    assert all(a is b for a, b in zip(after, before))
    for array, copy in zip(after, copies):
        np.testing.assert_array_equal(array, copy)


@pytest.mark.parametrize("rng", ["np.random", "Generator"])
def test_numerical_gradient_with_dropout_uses_one_mask_and_agrees_with_gradient(rng):
    np.random.seed(13)
    net = MultiLayerNet(6, [5, 4], 3, use_dropout=True, dropout_ration=0.3,
                        use_batchnorm=True)
    if rng == "Generator":
        for name in ("Dropout1", "Dropout2"):
            net.layers[name].rng = np.random.default_rng(len(name))
    x, t = np.random.rand(4, 6), np.array([0, 1, 2, 1])
    first, second = net.numerical_gradient(x, t), net.numerical_gradient(x, t)
    backprop = net.gradient(x, t)  # draws the masks numerical_gradient used
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
        np.testing.assert_allclose(backprop[key], first[key], rtol=0, atol=1e-7)


def test_multi_layer_net_layers_and_keys_as_in_dlfs():
    net = MultiLayerNet(6, [5, 4], 3, use_dropout=True, dropout_ration=0.2,
                        use_batchnorm=True)
    assert list(net.layers) == [
        "Affine1", "BatchNorm1", "Activation_function1", "Dropout1",
        "Affine2", "BatchNorm2", "Activation_function2", "Dropout2", "Affine3"]
    assert sorted(net.params) == sorted(
        ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"])
    assert isinstance(net.layers["BatchNorm1"], BatchNormalization)
    assert isinstance(net.layers["Dropout2"], Dropout)
    assert net.layers["Dropout2"].dropout_ratio == 0.2


def test_multi_layer_net_weight_init_scales():
    np.random.seed(3)
    he = MultiLayerNet(1000, [500], 10, weight_init_std="he").params["W1"].std()
    xavier = MultiLayerNet(1000, [500], 10, weight_init_std="xavier").params["W1"].std()
    fixed = MultiLayerNet(1000, [500], 10, weight_init_std=0.01).params["W1"].std()
    assert he == pytest.approx(np.sqrt(2 / 1000), rel=0.02)
    assert xavier == pytest.approx(np.sqrt(1 / 1000), rel=0.02)
    assert fixed == pytest.approx(0.01, rel=0.02)


def test_weight_decay_adds_lambda_w_to_the_gradient():
    np.random.seed(4)
    plain = MultiLayerNet(5, [4], 3)
    decayed = MultiLayerNet(5, [4], 3, weight_decay_lambda=0.5)
    for key in plain.params:
        decayed.params[key][...] = plain.params[key]
    x, t = np.random.rand(2, 5), np.array([0, 2])
    g_plain, g_decayed = plain.gradient(x, t), decayed.gradient(x, t)
    for key in ("W1", "W2"):
        np.testing.assert_allclose(g_decayed[key], g_plain[key] + 0.5 * plain.params[key])
    np.testing.assert_allclose(g_decayed["b1"], g_plain["b1"])
    penalty = 0.25 * sum(np.sum(plain.params[k] ** 2) for k in ("W1", "W2"))
    assert decayed.loss(x, t) == pytest.approx(plain.loss(x, t) + penalty)


def test_dropout_is_active_only_in_training_mode():
    np.random.seed(5)
    net = MultiLayerNet(5, [50], 3, use_dropout=True)
    x = np.random.rand(4, 5)
    np.testing.assert_array_equal(net.predict(x), net.predict(x))
    assert not np.array_equal(net.predict(x, train_flg=True), net.predict(x))


def test_params_are_the_layers_arrays_so_in_place_updates_train():
    np.random.seed(6)
    net = TwoLayerNet(4, 3, 2)
    assert net.layers["Affine1"].W is net.params["W1"]
    assert net.layers["Affine2"].b is net.params["b2"]
    x, t = np.random.rand(8, 4), np.array([0, 1] * 4)
    before = net.loss(x, t)
    optimizer = SGD(lr=0.5)
    for _ in range(20):
        optimizer.update(net.params, net.gradient(x, t))
    assert net.loss(x, t) < before
    assert net.layers["Affine1"].W is net.params["W1"]


def test_rebinding_a_parameter_is_reported_clearly():
    net = TwoLayerNet(4, 3, 2)
    net.params["W1"] = net.params["W1"] - 0.1
    with pytest.raises(RuntimeError, match=r"params\['W1'\] is not an array the layers use"):
        net.gradient(np.ones((1, 4)), np.array([0]))


def test_gradient_does_not_compute_the_input_gradient():
    net = TwoLayerNet(4, 3, 2)
    x = np.ones((2, 4))
    with gg.Tape() as tape:
        net.loss_graph(x, np.array([0, 1]))
    assert not tape.nodes[0].inputs[0].requires_grad  # the batch is a constant


def test_predict_loss_accuracy_api():
    np.random.seed(7)
    net = TwoLayerNet(4, 3, 2)
    x, labels = np.random.rand(250, 4), np.random.randint(0, 2, 250)
    scores = net.predict(x)
    assert isinstance(scores, np.ndarray) and scores.shape == (250, 2)
    expected = np.mean(scores.argmax(axis=1) == labels)
    assert net.accuracy(x, labels) == pytest.approx(expected)
    assert net.accuracy(x, np.eye(2)[labels]) == pytest.approx(expected)
    assert isinstance(net.loss(x, labels), float)
    assert net.loss(x, labels) == pytest.approx(net.loss(x, np.eye(2)[labels]))


# -- weight files ---------------------------------------------------------------------
def test_save_and_load_round_trip_keeps_the_layers_arrays(tmp_path):
    np.random.seed(8)
    net, other = SimpleConvNet(input_dim=(1, 8, 8), hidden_size=5), SimpleConvNet(
        input_dim=(1, 8, 8), hidden_size=5)
    x = np.random.rand(3, 1, 8, 8)
    path = tmp_path / "w.npz"
    net.save_params(path)
    arrays = dict(other.params)
    other.load_params(path)
    np.testing.assert_array_equal(other.predict(x), net.predict(x))
    assert all(other.params[key] is arrays[key] for key in arrays)
    assert os.listdir(tmp_path) == ["w.npz"]


MODELS = {
    "TwoLayerNet": lambda: TwoLayerNet(6, 4, 3),
    "SimpleConvNet": lambda: SimpleConvNet(input_dim=(1, 8, 8), hidden_size=5),
    "MultiLayerNet": lambda: MultiLayerNet(6, [4, 4], 3, use_batchnorm=True),
}


@pytest.mark.parametrize("name, written", [
    ("w.npz", "w.npz"), ("weights", "weights.npz"), ("w.pkl", "w.pkl"),
    ("w.pickle", "w.pickle")])
@pytest.mark.parametrize("model", MODELS)
def test_save_params_round_trips_under_each_name(tmp_path, model, name, written):
    np.random.seed(10)
    net, other = MODELS[model](), MODELS[model]()
    path = net.save_params(tmp_path / name)
    other.load_params(tmp_path / name)
    for key, value in net.params.items():
        np.testing.assert_array_equal(other.params[key], value)
    assert os.listdir(tmp_path) == [written]
    assert path == str(tmp_path / written)


def dlfs_load_params(network, file_name):
    """The book's SimpleConvNet.load_params (ch7/simple_convnet.py), on our layers."""
    with open(file_name, "rb") as f:
        params = pickle.load(f)
    for key, val in params.items():
        network.params[key][...] = val  # the book rebinds; ours share the layers' arrays


def test_the_books_load_params_reads_our_pickle(tmp_path):
    np.random.seed(11)
    net, other = MODELS["SimpleConvNet"](), MODELS["SimpleConvNet"]()
    x = np.random.rand(2, 1, 8, 8)
    dlfs_load_params(other, net.save_params(tmp_path / "params.pkl"))
    np.testing.assert_array_equal(other.predict(x), net.predict(x))


def test_save_params_refuses_an_unknown_suffix_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"save_params: unsupported suffix '\.txt' in .*w\.txt"):
        TwoLayerNet(4, 3, 2).save_params(tmp_path / "w.txt")
    assert os.listdir(tmp_path) == []


def test_load_a_dlfs_pickle(tmp_path):
    np.random.seed(9)
    net = TwoLayerNet(4, 3, 2)
    weights = {key: np.random.rand(*value.shape) for key, value in net.params.items()}
    path = tmp_path / "params.pkl"
    with open(path, "wb") as file:
        pickle.dump(weights, file)
    net.load_params(path)
    for key in weights:
        np.testing.assert_array_equal(net.params[key], weights[key])


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_loading_a_malicious_pickle_raises_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "params.pkl"
    with open(path, "wb") as file:
        pickle.dump({"W1": Exploit(marker)}, file)
    net = TwoLayerNet(4, 3, 2)
    before = {key: value.copy() for key, value in net.params.items()}
    with pytest.raises(UnsafePickleError, match="forbidden global"):
        net.load_params(path)
    assert not marker.exists()
    for key in before:
        np.testing.assert_array_equal(net.params[key], before[key])


def test_load_refuses_mismatched_shapes_and_keys(tmp_path):
    net = TwoLayerNet(4, 3, 2)
    path = tmp_path / "w.npz"
    TwoLayerNet(5, 3, 2).save_params(path)
    with pytest.raises(ValueError, match=r"'W1' has shape \(5, 3\), the model's has \(4, 3\)"):
        net.load_params(path)
    SimpleConvNet(input_dim=(1, 8, 8), hidden_size=5).save_params(path)
    with pytest.raises(ValueError, match=r"unexpected \['W3', 'b3'\]"):
        net.load_params(path)


# -- learning -------------------------------------------------------------------------
def readme_training_example():
    """The README's training code block (the one that builds ``TwoLayerNet(784, ...)``)
    and the test accuracy its ``# ≈`` comment claims."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    block = next(b for b in blocks if "TwoLayerNet(784" in b)
    return block, float(re.search(r"# ≈ (\d\.\d+)", block).group(1))


def test_readme_training_example_reaches_the_accuracy_it_claims(tmp_path, monkeypatch, capsys):
    """The README's loop as written (784-50-10, SGD lr 0.1, batch 100, 2,000 steps on
    the shipped MNIST split) prints the test accuracy its comment states, ± 0.01."""
    code, claim = readme_training_example()
    monkeypatch.chdir(tmp_path)  # it saves its weights
    np.random.seed(0)
    exec(compile(code, "README.md", "exec"), {})
    accuracy = float(capsys.readouterr().out)
    assert accuracy == pytest.approx(claim, abs=0.01)


def test_simple_conv_net_learns_a_small_batch(mnist):
    (x_train, t_train), _ = mnist
    x, t = x_train[:50].reshape(50, 1, 28, 28), t_train[:50]
    np.random.seed(10)
    net = SimpleConvNet(conv_param={"filter_num": 8, "filter_size": 5, "pad": 0, "stride": 1})
    before = net.loss(x, t)
    optimizer = Adam(lr=0.01)
    for _ in range(15):
        optimizer.update(net.params, net.gradient(x, t))
    assert net.loss(x, t) < 0.2 * before
