"""Tape replay: a recorded step rerun on new data gives what a fresh graph gives."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import graphgrad as gg
from graphgrad.models import MultiLayerNet, SimpleConvNet, TwoLayerNet
from graphgrad.node import Node
from graphgrad.testing.strategies import arrays, expressions


def two_layer(rng, dtype=np.float64):
    params = [gg.tensor(rng.normal(0, 0.1, s).astype(dtype)) for s in [(6, 5), (5,), (5, 3), (3,)]]

    def loss(x, t):
        W1, b1, W2, b2 = params
        return gg.softmax_with_loss(gg.relu(x @ W1 + b1) @ W2 + b2, t)

    return params, loss


def batches(rng, n=4):
    return [(rng.normal(size=(4, 6)), rng.integers(0, 3, 4)) for _ in range(n)]


def test_replay_matches_fresh_graphs_over_training_steps():
    rng = np.random.default_rng(0)
    data = batches(rng)
    params_a, loss_a = two_layer(np.random.default_rng(1))
    params_b, loss_b = two_layer(np.random.default_rng(1))
    step = gg.compile(loss_b)
    for x, t in data:
        fresh = loss_a(x, t)
        fresh.backward()
        replayed = step(x, t)
        assert replayed.item() == pytest.approx(fresh.item(), rel=1e-12)
        for a, b in zip(params_a, params_b):
            np.testing.assert_allclose(b.grad, a.grad, rtol=1e-12)
            a.data -= 0.5 * a.grad
            b.data -= 0.5 * b.grad
            a.grad = b.grad = None


def test_replay_keeps_intermediate_gradients_per_step():
    x0 = gg.tensor(np.ones(3))
    step = gg.compile(lambda c: gg.sum(gg.exp(x0 * c)))
    out = step(np.full(3, 2.0))
    h = out.creator.inputs[0]
    step(np.full(3, 0.0))
    np.testing.assert_allclose(h.grad, np.ones(3))  # not accumulated across replays
    np.testing.assert_allclose(x0.grad, 2 * np.exp(2.0) + 0.0 * np.exp(0.0))



def test_each_call_returns_a_tensor_of_its_own():
    """fn returns a new tensor per call, and so does the step: a loss kept from one
    call keeps its value when later calls run (one tensor rewritten by every replay
    made ``losses`` all equal to the latest)."""
    W = gg.tensor(np.ones(3))
    step = gg.compile(lambda x: gg.sum(gg.exp(W * x)))
    losses = [step(np.full(3, float(i))) for i in range(3)]
    assert [loss.item() for loss in losses] == pytest.approx([3.0, 3 * np.e, 3 * np.e ** 2])
    assert all(loss.grad == 1.0 for loss in losses)

def test_replay_refuses_other_shapes():
    _, loss = two_layer(np.random.default_rng(0))
    step = gg.compile(loss)
    x, t = batches(np.random.default_rng(1), 1)[0]
    step(x, t)
    with pytest.raises(ValueError, match=r"input 0 has shape \(2, 6\).*\(4, 6\)"):
        step(x[:2], t[:2])
    with pytest.raises(TypeError, match="recorded with 2 inputs"):
        step(x)


def test_compile_needs_a_differentiable_result():
    with pytest.raises(TypeError, match="must return a Tensor"):
        gg.compile(lambda x: x * 2)(np.ones(2))



def test_compile_refuses_inputs_that_require_grad():
    """Uncompiled, fn(x) with a tensor x that requires grad gives x.grad; the tape reads
    the inputs' arrays only, so a compiled step refuses such inputs (on every call)
    rather than leave x.grad None."""
    W = gg.tensor(np.ones((3, 2)))
    step = gg.compile(lambda x: gg.sum(x @ W))
    with pytest.raises(TypeError, match="input 0 is a tensor that requires grad"):
        step(gg.tensor(np.ones((4, 3))))
    step(gg.tensor(np.ones((4, 3)), requires_grad=False))
    with pytest.raises(TypeError, match="input 0 is a tensor that requires grad"):
        step(gg.tensor(np.ones((4, 3))))

class Rewrite(Node):
    """y = x; once given a ``target``, its forward also doubles ``target.data``: a write
    in the middle of a step, after the nodes before it saved their inputs."""

    __slots__ = ("target",)
    op = "rewrite"

    def __init__(self):
        self.target = None

    def forward(self, x):
        if self.target is not None:
            self.target.data = self.target._data * 2
        return x

    def backward(self, dout):
        return dout


def test_replay_still_catches_writes_after_its_forward():
    """An update between steps is fine (the replay records its nodes anew), but a write
    after the replayed forward saved a tensor and before its backward is refused. A
    replay runs no code of the caller in between: the write comes from a node."""
    w = gg.tensor(np.ones(2), name="w")
    step = gg.compile(lambda x: Rewrite()(gg.sum(w * x)))
    out = step(np.ones(2))
    w.data -= 1  # an update between steps is fine: the replay records anew
    step(np.ones(2))
    np.testing.assert_array_equal(w.grad, [2.0, 2.0])
    out.creator.target = w  # from now on, each forward ends by writing w
    with pytest.raises(RuntimeError, match=r"backward through Mul \(×\): tensor 'w'"):
        step(np.ones(2))


# -- values computed from the step's inputs alone are recomputed on every call ---------
INPUT_ONLY_PREFIXES = {
    "reshape": lambda x: x.reshape(2, -1),
    "scale": lambda x: (x / 255).reshape(2, 4),
    "sigmoid": lambda x: gg.sigmoid(x.reshape(2, 4)),
    "composite sigmoid": lambda x: gg.sigmoid(x.reshape(2, 4), fused=False),
    "index": lambda x: x[np.array([1, 0])].reshape(2, 4),
}


@pytest.mark.parametrize("prefix", INPUT_ONLY_PREFIXES.values(), ids=INPUT_ONLY_PREFIXES)
def test_replay_recomputes_what_depends_on_the_inputs_alone(prefix):
    rng = np.random.default_rng(0)
    W = gg.tensor(rng.normal(size=(4, 3)))
    W_fresh = gg.tensor(W.data.copy())
    t = np.array([0, 1])
    step = gg.compile(lambda x, t: gg.softmax_with_loss(prefix(x) @ W, t))
    for x in [rng.random((2, 2, 2)), np.zeros((2, 2, 2)), rng.random((2, 2, 2))]:
        fresh = gg.softmax_with_loss(prefix(gg.tensor(x, requires_grad=False)) @ W_fresh, t)
        fresh.backward()
        assert step(x, t).item() == pytest.approx(fresh.item(), rel=1e-12)
        np.testing.assert_allclose(W.grad, W_fresh.grad, rtol=1e-12)
        W.grad = W_fresh.grad = None


def test_replay_of_zeros_gives_log_of_the_class_count():  # the example
    W = gg.tensor(np.random.default_rng(0).normal(size=(4, 3)))
    step = gg.compile(lambda x, t: gg.softmax_with_loss(x.reshape(2, -1) @ W, t))
    step(np.random.default_rng(1).random((2, 2, 2)), np.array([0, 1]))
    assert step(np.zeros((2, 2, 2)), np.array([0, 1])).item() == pytest.approx(np.log(3))


def test_replay_recomputes_what_depends_on_integer_labels_alone():
    W = gg.tensor(np.arange(9.0).reshape(3, 3))
    step = gg.compile(lambda x, t: gg.softmax_with_loss(x @ W, t[::-1]))
    x = np.eye(3)[:2]
    fresh = lambda t: gg.softmax_with_loss(gg.tensor(x) @ gg.tensor(W.data), t[::-1])
    step(x, np.array([0, 1]))
    assert step(x, np.array([2, 2])).item() == pytest.approx(fresh(np.array([2, 2])).item())


def test_replay_recomputes_a_parameter_cast_to_integers():
    """W rounded to integers is a constant of the gradient, not of the replay: the
    nodes computed from it are recorded and rerun after W changes."""
    W = gg.tensor(np.array([1.4, 2.6]))
    step = gg.compile(lambda x: (W.astype(np.int64) * 2.0).sum() + (W * x).sum())
    step(np.ones(2))
    W.data = W.data + 1.0
    W.grad = None
    assert step(np.ones(2)).item() == pytest.approx(2 * (2 + 3) + 2.4 + 3.6)
    np.testing.assert_array_equal(W.grad, np.ones(2))


@pytest.mark.parametrize("model", ["SimpleConvNet", "TwoLayerNet on images"])
def test_compiled_training_matches_the_uncompiled_loop_step_for_step(model):
    """A model's loss compiled and trained on changing batches: every step's loss and
    parameters equal those of the same training loop without compile."""
    def make():
        np.random.seed(0)
        if model == "SimpleConvNet":
            return SimpleConvNet(
                input_dim=(1, 6, 6), conv_param={"filter_num": 2, "filter_size": 3,
                                                 "pad": 0, "stride": 1},
                hidden_size=5, output_size=3)
        return TwoLayerNet(36, 5, 3)

    plain, compiled = make(), make()
    step = gg.compile(lambda x, t: compiled.loss_graph(x, t, train_flg=True))
    rng = np.random.default_rng(1)
    for _ in range(4):
        x, t = rng.random((4, 1, 6, 6)), rng.integers(0, 3, 4)
        grads = plain.gradient(x, t)
        loss = step(x, t)
        assert loss.item() == pytest.approx(plain.loss(x, t), rel=1e-10)
        for key, leaf in compiled._param_leaves().items():
            np.testing.assert_allclose(leaf.grad, grads[key], rtol=1e-9, atol=1e-12)
            compiled.params[key] -= 0.1 * leaf.grad
            plain.params[key] -= 0.1 * grads[key]
            leaf.grad = None
    for key in plain.params:
        np.testing.assert_allclose(compiled.params[key], plain.params[key], rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_replay_equals_fresh_graphs_for_random_input_only_prefixes(data):
    """fn(x) = Σ body(prefix(x), W): ``prefix`` uses the step input alone, ``body`` the
    parameter too. Replayed on new batches it gives what fresh graphs give."""
    prefix = data.draw(expressions([(2, 3)], max_ops=3), label="prefix")
    inner = prefix.output
    body = data.draw(expressions([inner.shape, inner.shape], max_ops=3,
                                 input_bound=inner.bound), label="body")
    w = data.draw(arrays(shape=inner.shape), label="W")
    W, W_fresh = gg.tensor(w.copy()), gg.tensor(w.copy())
    step = gg.compile(lambda x: gg.sum(body(prefix(x), W)))
    for i in range(3):
        x = data.draw(arrays(shape=(2, 3)), label=f"batch {i}")
        fresh = gg.sum(body(prefix(gg.tensor(x, requires_grad=False)), W_fresh))
        fresh.backward()
        np.testing.assert_allclose(step(x).data, fresh.data, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(W.grad, W_fresh.grad, rtol=1e-12, atol=1e-12)
        W.grad = W_fresh.grad = None


@pytest.mark.parametrize("loss", [
    lambda s, t: gg.softmax_with_loss(s, t, fused=False),
    lambda s, t: gg.cross_entropy_error(gg.softmax(s), t),
], ids=["composite softmax_with_loss", "cross_entropy_error"])
def test_replay_recomputes_the_targets_of_composite_losses(loss):
    W = gg.tensor(np.arange(9.0).reshape(3, 3) / 5)
    x = np.eye(3)[:2]
    step = gg.compile(lambda x, t: loss(x @ W, t))
    step(x, np.array([0, 1]))
    expected = gg.softmax_with_loss(gg.tensor(x) @ W, np.array([2, 2])).item()
    assert step(x, np.array([2, 2])).item() == pytest.approx(expected, rel=1e-6)


def test_compile_refuses_what_a_replay_cannot_redo():
    W = gg.tensor(np.ones((3, 3)))
    with pytest.raises(RuntimeError, match=r"compile: x\[index\] takes the values of an index"):
        gg.compile(lambda x, t: gg.sum((x @ W)[t]))(np.eye(3), np.array([0, 1]))
    net = MultiLayerNet(3, [4], 2, use_batchnorm=True)
    with pytest.raises(RuntimeError, match="BatchNormalization updates its running"):
        gg.compile(lambda x, t: net.loss_graph(x, t, train_flg=True))(np.eye(3), np.arange(3) % 2)
    net = MultiLayerNet(3, [4], 2, use_dropout=True)
    with pytest.raises(RuntimeError, match="Dropout draws a new mask"):
        gg.compile(lambda x, t: net.loss_graph(x, t, train_flg=True))(np.eye(3), np.arange(3) % 2)
    with pytest.raises(RuntimeError, match=r"reading \.data of a tensor whose value changes"):
        gg.compile(lambda x, t: gg.softmax_with_loss(x @ W, np.eye(3)[t.data]))(np.eye(3), np.arange(3))
    with pytest.raises(RuntimeError, match=r"reading \.numpy\(\) of a tensor"):
        gg.compile(lambda x: x @ W * float(W.numpy().sum()))(np.eye(3))
    with pytest.raises(RuntimeError, match=r"reading \.numpy\(\) of a tensor"):  # float(t)
        gg.compile(lambda x: gg.sum(x @ W) if float(gg.sum(x)) > 0 else gg.sum(W))(np.eye(3))
    step = gg.compile(lambda x, t: net.loss_graph(x, t, train_flg=False))  # no side effects
    assert step(np.eye(3), np.arange(3) % 2).item() == pytest.approx(net.loss(np.eye(3), np.arange(3) % 2))


def test_replay_in_anomaly_mode_takes_new_copies_of_what_it_saves():
    """detect_anomaly compares saved arrays with copies taken in the forward pass; a
    replayed forward takes new ones, so an update between steps is no write."""
    w = gg.tensor(np.ones(2), name="w")
    with gg.detect_anomaly():
        step = gg.compile(lambda x: gg.sum(w * x))
        step(np.ones(2))
        w.data[...] = 3.0  # between steps, into the array: fine
        step(np.full(2, 2.0))
    np.testing.assert_array_equal(w.grad, [1.0 + 2.0, 1.0 + 2.0])


def test_replay_in_test_mode_follows_running_statistics_that_changed():
    """BatchNormalization in test mode reads its running statistics from outside the
    graph: a step recorded before training steps changed them records anew, so it
    computes what the uncompiled function does; unchanged, it replays."""
    np.random.seed(3)
    net = MultiLayerNet(3, [4], 2, use_batchnorm=True)
    x, t = np.random.rand(5, 3), np.array([0, 1, 1, 0, 1])
    step = gg.compile(lambda x, t: net.loss_graph(x, t, train_flg=False))
    step(x, t)
    tape = step.tape
    step(x, t)
    assert step.tape is tape  # nothing changed: replayed
    for _ in range(3):  # training steps, uncompiled: new running statistics
        net.gradient(np.random.rand(5, 3), t)
    assert step(x, t).item() == pytest.approx(net.loss(x, t), rel=1e-12)
    assert step.tape is not tape
    net.layers["BatchNorm1"].running_var[...] *= 2  # a write into the array itself
    assert step(x, t).item() == pytest.approx(net.loss(x, t), rel=1e-12)


def test_a_float32_model_compiled_computes_in_float32_as_uncompiled():
    """The model casts float64 batches to its float32: arrays and tensors alike, so
    a compiled step (which hands it tensors) computes what the model does."""
    np.random.seed(5)
    conv = {"filter_num": 2, "filter_size": 3, "pad": 1, "stride": 1}
    net = SimpleConvNet(input_dim=(1, 6, 6), conv_param=conv, hidden_size=4,
                        dtype=np.float32)
    x, t = np.random.rand(3, 1, 6, 6), np.array([0, 5, 9])
    step = gg.compile(lambda x, t: net.loss_graph(x, t))
    for _ in range(2):
        loss = step(x, t)
        assert loss.dtype == np.float32
        assert {out.dtype for out in step.tape.outputs
                if out.dtype.kind == "f"} == {np.dtype(np.float32)}
        assert loss.item() == net.loss(x, t)
