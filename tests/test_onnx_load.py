"""graphgrad.onnx.load: an exported model rebuilt in graphgrad gives the same values,
can be differentiated, and draws with its layers as clusters (export → load → draw)."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

onnx = pytest.importorskip("onnx", reason="the onnx extra installs onnx")

import graphgrad as gg  # noqa: E402
import viz  # noqa: E402
from graphgrad.models import SimpleConvNet, TwoLayerNet  # noqa: E402
from graphgrad.onnx import UnsupportedOperationError, export, load  # noqa: E402
from graphgrad.testing.strategies import arrays, expressions, shapes  # noqa: E402


def round_trip(tmp_path, fn, inputs, **options):
    path = tmp_path / "model.onnx"
    export(fn, inputs, path, **options)
    return load(path)


def test_two_layer_net_round_trip_values_gradients_and_drawing(tmp_path):
    np.random.seed(0)
    net = TwoLayerNet(6, 5, 3, weight_init_std=0.5)
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(4, 6)), rng.integers(0, 3, size=4)
    model = round_trip(tmp_path, net.loss_graph, [x, t], input_names=["x", "t"])
    assert model.input_names == ["x", "t"] and model.output_names == ["output"]
    x, t = rng.normal(size=(4, 6)), rng.integers(0, 3, size=4)
    loss = model(x, t)
    expected, grads = net.loss_and_gradient(x, t)
    assert loss.item() == pytest.approx(expected, rel=1e-13)
    loss.backward()
    for key in ("W1", "b1", "W2"):
        np.testing.assert_allclose(model.params[key].grad, grads[key], rtol=1e-12, atol=1e-15)
    source = viz.draw(loss).source
    for cluster in ("Affine1", "Affine2", "Relu1", "SoftmaxWithLoss"):
        assert f"label=<{cluster}>" in source
    assert source.count("cluster_") == 4 and "W1" in source


def test_exported_gradients_load_and_equal_backward(tmp_path):
    np.random.seed(1)
    net = SimpleConvNet(input_dim=(1, 6, 6), conv_param={
        "filter_num": 2, "filter_size": 3, "pad": 1, "stride": 1},
        hidden_size=4, output_size=3, weight_init_std=0.3)
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(2, 1, 6, 6)), np.array([0, 2])
    model = round_trip(tmp_path, net.loss_graph, [x, t], gradients=True)
    loss, *grads = model(x, t)
    expected, reference = net.loss_and_gradient(x, t)
    assert loss.item() == pytest.approx(expected, rel=1e-13)
    names = [name[len("grad_"):] for name in model.output_names[1:]]
    keys = ["W1", "b1", "W2", "b2", "W3", "b3"]
    for g, key in zip(grads, keys):
        np.testing.assert_allclose(g.data, reference[key], rtol=1e-12, atol=1e-15)
    assert names == keys  # the model's own names
    assert "label=<backward>" in viz.draw(grads[0]).source


@given(data=st.data())
def test_random_expressions_round_trip(tmp_path_factory, data):
    in_shapes = data.draw(st.lists(shapes(max_dims=3), min_size=1, max_size=3))
    expr = data.draw(expressions(in_shapes))
    examples = [data.draw(arrays(s, separated=True)) for s in in_shapes]
    leaves = [gg.tensor(x) for x in examples]
    model = round_trip(tmp_path_factory.mktemp("r"), expr, leaves)
    values = [gg.tensor(x) for x in examples]
    out, expected = model(*values), expr(*leaves)
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-13, atol=1e-13)
    if out.requires_grad:
        np.testing.assert_allclose(
            gg.grad(gg.sum(out), values[0])[0].data, gg.grad(gg.sum(expected), leaves[0])[0].data,
            rtol=1e-12, atol=1e-12)


def test_an_unknown_operator_is_named_at_load_time(tmp_path):
    node = onnx.helper.make_node("Softplus", ["x"], ["y"], name="act/Softplus")
    graph = onnx.helper.make_graph(
        [node], "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.DOUBLE, [2])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.DOUBLE, [2])])
    path = tmp_path / "softplus.onnx"
    onnx.save(onnx.helper.make_model(graph), path)
    with pytest.raises(UnsupportedOperationError, match="ONNX operators Softplus"):
        load(path)


def test_wrong_number_of_inputs(tmp_path):
    model = round_trip(tmp_path, lambda x: x * 2, [np.ones(2)])
    with pytest.raises(TypeError, match=r"takes 1 inputs \(input_0\), got 2"):
        model(np.ones(2), np.ones(2))


def test_a_cast_to_a_narrower_float_loads_as_a_cast_node(tmp_path):
    x = np.random.default_rng(8).normal(size=(3,))
    w = gg.tensor(x, name="w")
    model = round_trip(tmp_path, lambda: gg.sum(gg.astype(w, np.float32) ** 2), [])
    loss = model()
    assert loss.dtype == np.float32
    loss.backward()
    grad = model.params["w"].grad
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, 2 * x.astype(np.float32), rtol=1e-6)
