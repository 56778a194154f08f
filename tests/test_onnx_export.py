"""graphgrad.onnx.export: checked models whose outputs and exported gradients in ONNX
Runtime equal graphgrad's (float64 to 1e-12 relative, float32 to 1e-6), also on
inputs other than the examples they were recorded on."""
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, strategies as st

onnx = pytest.importorskip("onnx", reason="the onnx extra installs onnx")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra installs onnxruntime")

import graphgrad as gg  # noqa: E402
from graphgrad.models import MultiLayerNet, SimpleConvNet, TwoLayerNet  # noqa: E402
from graphgrad.nn import Affine, Dropout  # noqa: E402
from graphgrad.node import Node  # noqa: E402
from graphgrad.onnx import UnsupportedOperationError, export, load  # noqa: E402
from graphgrad.testing.strategies import arrays, expressions, shapes  # noqa: E402

TOLERANCE = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}


def export_checked(tmp_path, fn, inputs, **options):
    """Export, check (full: with shape inference) and return an ORT session."""
    path = tmp_path / "model.onnx"
    model = export(fn, inputs, path, **options)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    return model, ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run(session, *inputs):
    """The session's outputs by name."""
    names = [i.name for i in session.get_inputs()]
    values = session.run(None, dict(zip(names, (np.asarray(x) for x in inputs))))
    return dict(zip([o.name for o in session.get_outputs()], values))


def assert_close(actual, expected):
    """Equal to the dtype's relative tolerance (of the largest magnitude, for
    elements near 0) and of the same dtype and shape."""
    expected = np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    rtol = TOLERANCE[expected.dtype]
    scale = max(1.0, float(np.abs(expected).max(initial=0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def test_apple_orange_price_and_gradients(tmp_path):
    names = ["apple", "apple_num", "orange", "orange_num", "tax"]
    leaves = [gg.tensor(v, name=n) for v, n in zip([100.0, 2.0, 150.0, 3.0, 1.1], names)]
    model, session = export_checked(
        tmp_path, lambda a, an, o, on, tax: (a * an + o * on) * tax, leaves, gradients=True,
        output_names=["price"])
    out = run(session, 100.0, 2.0, 150.0, 3.0, 1.1)
    assert list(out) == ["price"] + [f"grad_{n}" for n in names]
    assert_close(out["price"], np.float64(715.0000000000001))
    for name, expected in zip(names, [2.2, 110.0, 3.3, 165.0, 650.0]):
        assert out[f"grad_{name}"] == pytest.approx(expected, rel=1e-12)
    assert [i.name for i in model.graph.input] == names


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composite"])
def test_sigmoid(tmp_path, dtype, fused):
    x = np.linspace(-30, 30, 13).astype(dtype)
    model, session = export_checked(tmp_path, lambda x: gg.sigmoid(x, fused=fused), [x])
    assert ("Sigmoid" in {n.op_type for n in model.graph.node}) == fused
    if not fused:
        assert any(n.name.startswith("sigmoid/") for n in model.graph.node)
    for values in (x, x[::-1] / 3):
        assert_close(run(session, values)["output"], gg.sigmoid(values, fused=fused).data)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composite"])
def test_sigmoid_gradient(tmp_path, fused):
    x = gg.tensor(np.linspace(-5, 5, 7), name="x")
    _, session = export_checked(tmp_path, lambda x: gg.sum(gg.sigmoid(x, fused=fused)), [x],
                                gradients=True)
    values = np.linspace(-3, 4, 7)
    s = 1 / (1 + np.exp(-values))
    assert_close(run(session, values)["grad_x"], s * (1 - s))


def two_layer_net(seed=0, sizes=(6, 5, 3)):
    np.random.seed(seed)
    return TwoLayerNet(*sizes, weight_init_std=0.5)


def batch(rng, shape, classes):
    return rng.normal(size=shape), rng.integers(0, classes, size=shape[0])


def test_two_layer_net_scores_loss_and_gradients(tmp_path):
    net, rng = two_layer_net(), np.random.default_rng(0)
    x, t = batch(rng, (4, 6), 3)
    model, session = export_checked(tmp_path, net.loss_graph, [x, t], gradients=True,
                                    input_names=["x", "t"])
    assert [i.name for i in model.graph.initializer] == [
        "W1", "b1", "W2", "b2"]  # the model's own names
    assert model.graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert {"Affine1/MatMul", "Affine1/Add", "Relu1/Relu", "Affine2/MatMul"} <= {
        n.name for n in model.graph.node}
    keys = {f"grad_{key}": key for key in ("W1", "b1", "W2", "b2")}
    for x, t in [(x, t), batch(rng, (4, 6), 3)]:  # the example, then new inputs
        out = run(session, x, t)
        loss, grads = net.loss_and_gradient(x, t)
        assert_close(out["output"], np.float64(loss))
        for name, key in keys.items():
            assert_close(out[name], grads[key])


def test_two_layer_net_in_float32(tmp_path):
    rng = np.random.default_rng(1)
    params = [rng.normal(size=s).astype(np.float32) for s in [(6, 5), (5,), (5, 3), (3,)]]
    first, second = Affine(*params[:2]), Affine(*params[2:])

    def scores(x):
        return second(gg.relu(first(x)))

    x = rng.normal(size=(4, 6)).astype(np.float32)
    model, session = export_checked(tmp_path, scores, [x])
    assert {i.data_type for i in model.graph.initializer} == {onnx.TensorProto.FLOAT}
    for values in (x, x * 2 - 1):
        assert_close(run(session, values)["output"], scores(gg.tensor(values)).data)


def test_multi_layer_net_with_batch_norm_in_inference_mode(tmp_path):
    np.random.seed(2)
    net, rng = MultiLayerNet(5, [4, 4], 3, use_batchnorm=True, weight_decay_lambda=0.1), \
        np.random.default_rng(2)
    for _ in range(3):  # running statistics away from their start
        net.loss_and_gradient(*batch(rng, (6, 5), 3))
    x, t = batch(rng, (6, 5), 3)
    _, session = export_checked(tmp_path, net.loss_graph, [x, t], gradients=True)
    _, scores = export_checked(tmp_path, net.scores, [x])
    for x, t in [(x, t), batch(rng, (6, 5), 3)]:
        out = run(session, x, t)
        assert_close(out["output"], np.float64(net.loss(x, t)))
        assert_close(run(scores, x)["output"], net.predict(x))
        loss = net.loss_graph(x, t)  # inference mode, as exported
        leaves = net._param_leaves()
        for (key, leaf), g in zip(leaves.items(), gg.grad(loss, list(leaves.values()))):
            assert_close(out[f"grad_{key}"], g.data)


@pytest.mark.parametrize("pad", [0, 1])
def test_simple_conv_net_scores_loss_and_gradients(tmp_path, pad):
    np.random.seed(3)
    net = SimpleConvNet(input_dim=(2, 7, 7), conv_param={
        "filter_num": 3, "filter_size": 3, "pad": pad, "stride": 2 - pad},
        hidden_size=5, output_size=4, weight_init_std=0.3)
    rng = np.random.default_rng(3)
    x, t = batch(rng, (2, 2, 7, 7), 4)
    _, session = export_checked(tmp_path, net.loss_graph, [x, t], gradients=True)
    _, scores = export_checked(tmp_path, net.scores, [x])
    keys = {f"grad_{key}": key for key in ("W1", "b1", "W2", "W3", "b3")}
    for x, t in [(x, t), batch(rng, (2, 2, 7, 7), 4)]:
        out = run(session, x, t)
        loss, grads = net.loss_and_gradient(x, t)
        assert_close(out["output"], np.float64(loss))
        assert_close(run(scores, x)["output"], net.predict(x))
        for name, key in keys.items():
            assert_close(out[name], grads[key])


def test_max_pool_with_zero_padding_and_its_gradient(tmp_path):
    # graphgrad pools over zero padding (DLFS); ONNX pads with -inf, so a Pad comes first
    x = gg.tensor(-np.arange(1.0, 19.0).reshape(1, 2, 3, 3), name="x")
    def pooled(x):
        return gg.nodes.MaxPool(2, 2, stride=2, pad=1)(x)

    _, session = export_checked(tmp_path, lambda x: gg.sum(pooled(x) * pooled(x)), [x],
                                gradients=True)
    values = np.random.default_rng(4).normal(size=(1, 2, 3, 3))
    out = run(session, values)
    y = gg.tensor(values)
    loss = gg.sum(pooled(y) ** 2)
    assert_close(out["output"], loss.data)
    assert_close(out["grad_x"], gg.grad(loss, y)[0].data)


def test_loss_held_as_a_0d_array_is_differentiated(tmp_path):
    x = gg.tensor(np.array(0.5), name="x")
    _, session = export_checked(tmp_path, lambda x: gg.transpose(x) * x, [x], gradients=True)
    assert_close(run(session, np.array(3.0))["grad_x"], np.float64(6.0))


def test_one_hot_targets_and_float64_one_hot_rows(tmp_path):
    # ONNX Runtime's OneHot has no float64 kernel: rows are made in float32, then cast
    x = gg.tensor(np.random.default_rng(5).normal(size=(3, 4)), name="x")
    for t in (np.array([0, 3, 1]), np.eye(4)[[2, 2, 0]]):
        _, session = export_checked(
            tmp_path, lambda x, t: gg.softmax_with_loss(x, t, fused=False), [x, t],
            gradients=True)
        values = np.random.default_rng(6).normal(size=(3, 4))
        y = gg.tensor(values)
        loss = gg.softmax_with_loss(y, t, fused=False)
        out = run(session, values, t)
        assert_close(out["output"], loss.data)
        assert_close(out["grad_x"], gg.grad(loss, y)[0].data)


def test_opset_18_takes_reduction_axes_as_inputs(tmp_path):
    x = np.arange(6.0).reshape(2, 3)
    model, session = export_checked(tmp_path, lambda x: gg.mean(x, axis=1) + gg.max(x, 0).sum(),
                                    [x], opset=18)
    assert model.opset_import[0].version == 18
    assert_close(run(session, x * 2)["output"], (x * 2).mean(axis=1) + (x * 2).max(0).sum())



@pytest.mark.parametrize("reduce", [gg.mean, gg.sum, gg.max], ids=["mean", "sum", "max"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_])
def test_reductions_of_integers_compute_in_numpys_result_dtype(tmp_path, reduce, dtype):
    # numpy's mean of integers is float64, its sum of int32 or bool is int64: ONNX's
    # ReduceMean and ReduceSum would stay in the input's dtype (a mean of 2, not 2.5)
    if reduce is gg.max and dtype is np.bool_:
        pytest.skip("ONNX Runtime has no ReduceMax for bool")
    x = np.array([[0, 1, 1], [1, 0, 1]]).astype(dtype)
    fn = lambda x: (reduce(x, axis=1), reduce(x))  # noqa: E731
    _, session = export_checked(tmp_path, fn, [x])
    other = np.array([[1, 1, 0], [0, 0, 1]]).astype(dtype)
    for out, expected in zip(run(session, other).values(), fn(gg.tensor(other))):
        assert out.dtype == expected.dtype
        np.testing.assert_allclose(out, expected.data, rtol=1e-12)


@pytest.mark.parametrize("fn", [gg.exp, gg.log, gg.tanh, gg.sigmoid],
                         ids=["exp", "log", "tanh", "sigmoid"])
def test_functions_of_integers_compute_in_float64(tmp_path, fn):
    # numpy's exp of integers is float64; ONNX's Exp takes floats only (a model that
    # ONNX Runtime refused to load was written)
    x = np.array([[1, 2, 3], [4, 5, 6]])
    _, session = export_checked(tmp_path, fn, [x])
    assert_close(run(session, x + 1)["output"], fn(gg.tensor(x + 1)).data)


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_relu_of_integers_stays_integer(tmp_path, dtype):
    # ONNX's Relu takes floats only: a model that ONNX Runtime refused to load was written
    x = np.array([[-2, 0, 3]], dtype=dtype)
    _, session = export_checked(tmp_path, gg.relu, [x])
    out = run(session, x - 1)["output"]
    assert out.dtype == dtype and out.tolist() == [[0, 0, 2]]

# -- random expressions ------------------------------------------------------------

@st.composite
def expression_cases(draw, dtype):
    """An expression, examples to record it on and other inputs to run it on."""
    in_shapes = draw(st.lists(shapes(max_dims=3), min_size=1, max_size=3))
    expr = draw(expressions(in_shapes))
    examples, inputs = ([draw(arrays(s, dtype=dtype, separated=True)) for s in in_shapes]
                        for _ in range(2))
    return expr, examples, inputs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(data=st.data())
def test_random_expressions(tmp_path_factory, dtype, data):
    expr, examples, inputs = data.draw(expression_cases(dtype))
    _, session = export_checked(tmp_path_factory.mktemp("e"), expr, examples)
    (out,) = run(session, *inputs).values()
    assert_close(out, expr(*(gg.tensor(x) for x in inputs)).data)


@given(data=st.data())
def test_random_expressions_gradients(tmp_path_factory, data):
    expr, examples, inputs = data.draw(expression_cases(np.float64))
    leaves = [gg.tensor(x, name=f"x{i}") for i, x in enumerate(examples)]
    loss = lambda *xs: gg.sum(expr(*xs))  # noqa: E731
    try:
        _, session = export_checked(tmp_path_factory.mktemp("g"), loss, leaves,
                                    gradients=True)
    except UnsupportedOperationError as error:  # x ** y with a tensor exponent
        assert "Pow (**)" in str(error) and "reads the values" in str(error)
        return
    out = run(session, *inputs)
    ys = [gg.tensor(x) for x in inputs]
    value = loss(*ys)
    assert_close(out["output"], value.data)
    for i, g in enumerate(gg.grad(value, ys)):
        assert_close(out[f"grad_x{i}"], g.data)


# -- refusals and errors ---------------------------------------------------------------

class Square(Node):
    op = "x²"

    def forward(self, x):
        return x * x

    def backward(self, dout):
        return 2 * dout


def test_an_operation_without_mapping_is_named(tmp_path):
    def fn(x):
        with gg.scope("layer"):
            return Square()(x)

    with pytest.raises(UnsupportedOperationError,
                       match=r"no ONNX mapping for Square \(x²\) in scope 'layer'"):
        export(fn, [np.ones(2)], tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_pow_with_a_tensor_exponent_refuses_its_gradient(tmp_path):
    x, y = gg.tensor(np.ones(2), name="x"), gg.tensor(np.ones(2), name="y")
    with pytest.raises(UnsupportedOperationError, match=r"backward of Pow \(\*\*\)"):
        export(lambda x, y: gg.sum(x ** y), [x, y], tmp_path / "m.onnx", gradients=True)
    export(lambda x, y: gg.sum(x ** y), [x, y], tmp_path / "m.onnx")  # the forward is fine


def test_gradients_need_one_scalar_output(tmp_path):
    x = gg.tensor(np.ones(3), name="x")
    with pytest.raises(ValueError, match="one scalar"):
        export(lambda x: x * 2, [x], tmp_path / "m.onnx", gradients=True)


def test_training_mode_layers_are_refused_naming_export(tmp_path):
    dropout = Dropout(0.5)
    with pytest.raises(RuntimeError, match="onnx.export records fn as a fixed graph.*Dropout"):
        export(lambda x: dropout(x, train_flg=True), [np.ones(3)], tmp_path / "m.onnx")


def test_bad_names_and_opsets(tmp_path):
    with pytest.raises(ValueError, match="2 input_names for 1 inputs"):
        export(lambda x: x * 2, [np.ones(2)], tmp_path / "m.onnx", input_names=["a", "b"])
    with pytest.raises(ValueError, match="opset 11 is not supported"):
        export(lambda x: x * 2, [np.ones(2)], tmp_path / "m.onnx", opset=11)


def test_import_graphgrad_does_not_import_onnx():
    code = ("import sys, graphgrad, graphgrad.models, viz; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('onnx', 'onnxruntime') or m.startswith('graphgrad.onnx')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_gradient_of_a_recorded_gradient(tmp_path):
    # fn differentiates itself (create_graph): the export differentiates that again,
    # through PoolScatter's backward, PoolGather, at MaxPool's recomputed positions
    def penalty(x):
        pooled = gg.nodes.MaxPool(2, 2, stride=2)(x)
        (g,) = gg.grad(gg.sum(pooled * pooled * pooled), x, create_graph=True)
        return gg.sum(g * g)

    x = gg.tensor(np.random.default_rng(7).normal(size=(1, 1, 4, 4)), name="x")
    model, session = export_checked(tmp_path, penalty, [x], gradients=True)
    assert {"Gather", "ScatterElements"} <= {n.op_type for n in model.graph.node}
    values = np.random.default_rng(8).normal(size=(1, 1, 4, 4))
    y = gg.tensor(values)
    value = penalty(y)
    out = run(session, values)
    assert_close(out["output"], value.data)
    assert_close(out["grad_x"], gg.grad(value, y)[0].data)


def test_a_move_to_the_same_device_is_the_identity(tmp_path):
    model, session = export_checked(tmp_path, lambda x: gg.functions.to_device(x, "cpu") * 2,
                                    [np.arange(3.0)])
    assert "Identity" in {n.op_type for n in model.graph.node}
    assert_close(run(session, np.ones(3))["output"], np.full(3, 2.0))


def test_a_float32_model_exported_on_float64_inputs_casts_them(tmp_path):
    """The model casts a float64 batch to its float32 (a Cast node): the export does
    too, so ONNX computes in float32 what the model computes."""
    np.random.seed(6)
    conv = {"filter_num": 2, "filter_size": 3, "pad": 1, "stride": 1}
    net = SimpleConvNet(input_dim=(1, 6, 6), conv_param=conv, hidden_size=4, output_size=3,
                        dtype=np.float32)
    rng = np.random.default_rng(6)
    x, t = rng.normal(size=(2, 1, 6, 6)), np.array([0, 2])
    model, session = export_checked(tmp_path, net.loss_graph, [x, t])
    assert "Cast" in {node.op_type for node in model.graph.node}
    out = run(session, x, t)["output"]
    assert out.dtype == np.float32
    assert out.item() == pytest.approx(net.loss(x, t), rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_astype_and_its_gradient(tmp_path, dtype):
    x = np.random.default_rng(7).normal(size=(2, 3))
    model, session = export_checked(tmp_path, lambda t: gg.astype(t, dtype) * 3, [x])
    assert_close(run(session, x)["output"], (x.astype(dtype) * 3))
    _, session = export_checked(tmp_path, lambda t: gg.sum(gg.astype(t, dtype) ** 2),
                                [gg.tensor(x)], gradients=True)
    values = run(session, x)
    (name,) = [key for key in values if key.startswith("grad_")]
    assert_close(values[name], (2 * x.astype(dtype)).astype(np.float64))


def written(W, v):
    """A step that copies and writes at indices (the book's layers' ``x[mask] = …``)."""
    def fn(x):
        h = (x @ W).copy()
        h[:, 0] = 0.0
        h[1] = h[0] * 2.0
        h[np.array([0, 1]), np.array([3, 1])] = v
        return gg.sum(h * h)
    return fn


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_copies_and_writes_with_their_gradients(tmp_path, dtype):
    rng = np.random.default_rng(9)

    def normal(*shape):
        return rng.normal(size=shape).astype(dtype)

    W, v = gg.tensor(normal(3, 4), name="W"), gg.tensor(normal(2), name="v")
    fn = written(W, v)
    model, session = export_checked(tmp_path, fn, [normal(2, 3)], gradients=True)
    assert "ScatterElements" in {n.op_type for n in model.graph.node}
    for values in (normal(2, 3), normal(2, 3)):
        W.grad = v.grad = None
        loss = fn(gg.tensor(values, requires_grad=False))
        loss.backward()
        out = run(session, values)
        assert_close(out["output"], loss.data)
        assert_close(out["grad_W"], W.grad)
        assert_close(out["grad_v"], v.grad)


def test_copies_and_writes_load_back(tmp_path):
    rng = np.random.default_rng(10)
    W, v = gg.tensor(rng.normal(size=(3, 4)), name="W"), gg.tensor(rng.normal(size=2), name="v")
    export(written(W, v), [rng.normal(size=(2, 3))], tmp_path / "model.onnx")
    model, x = load(tmp_path / "model.onnx"), rng.normal(size=(2, 3))
    loss, expected = model(x), written(W, v)(gg.tensor(x, requires_grad=False))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-13)
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(model.params["W"].grad, W.grad, rtol=1e-12)
    np.testing.assert_allclose(model.params["v"].grad, v.grad, rtol=1e-12)
