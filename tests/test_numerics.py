"""Numerics: sigmoid, tanh, softmax, log-sum-exp and the cross-entropy losses stay
finite, warning-free and at their limit values for scores of ±1e4 in float32 and
float64; and float32 inputs give float32 values and gradients through every node."""
import inspect
import warnings

import numpy as np
import pytest

import graphgrad as gg
from graphgrad import activations, functions

DTYPES = [np.float32, np.float64]
BIG = 1e4

# -- extreme inputs ---------------------------------------------------------------

@pytest.fixture(autouse=True)
def strict_floats():
    """Any warning and any overflow, division by zero or invalid operation raises.
    Underflow is allowed: e^−20000 = 0 is the right limit."""
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        yield


def value_and_grad(fn, x, weights=None):
    """fn(x) and ∂Σ weights⊙fn(x)/∂x (weights: ones by default), both checked
    finite and in x's dtype."""
    x = gg.tensor(x)
    y = fn(x)
    gg.sum(y if weights is None else y * weights.astype(x.dtype)).backward()
    for v in (y.data, x.grad):
        assert np.isfinite(v).all() and np.result_type(v) == x.dtype
    return np.asarray(y.data), x.grad


def assert_near(actual, expected, dtype):
    """Equal to rounding in ``dtype``; values below its smallest normal count as 0."""
    finfo = np.finfo(dtype)
    np.testing.assert_allclose(actual, expected, rtol=10 * finfo.eps, atol=finfo.tiny)


ELEMENTWISE = [  # (function, its values at −1e4, 0, 1e4, its derivatives there)
    pytest.param(gg.sigmoid, [0, 0.5, 1], [0, 0.25, 0], id="sigmoid-fused"),
    pytest.param(lambda x: gg.sigmoid(x, fused=False), [0, 0.5, 1], [0, 0.25, 0],
                 id="sigmoid-composite"),
    pytest.param(gg.tanh, [-1, 0, 1], [0, 1, 0], id="tanh"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn, values, derivatives", ELEMENTWISE)
def test_elementwise_limits(fn, values, derivatives, dtype):
    y, dx = value_and_grad(fn, np.array([-BIG, 0, BIG], dtype))
    assert_near(y, values, dtype)
    assert_near(dx, derivatives, dtype)


# Each row has one huge score (row 0) or a tie of two (row 1); the limits follow.
SCORES = np.array([[BIG, -BIG, 0], [-BIG, BIG, BIG]])
SOFTMAX = np.array([[1, 0, 0], [0, 0.5, 0.5]])
MAX, TIES = np.array([BIG, BIG]), np.array([1, 2])
LOG_SUM_EXP = MAX + np.log(TIES)
WEIGHTS = np.array([[1, 2, 3], [4, 5, 7]])  # distinct in the tied columns
LABELS = {"likely": np.array([0, 1]),  # the highest score: loss ≈ 0 or log 2
          "unlikely": np.array([1, 0])}  # softmax underflows to 0 here: loss ≈ 2e4


def log_sum_exp(x):
    """log Σ eˣ along the last axis, composed from graphgrad operations."""
    m = gg.max(x, axis=-1, keepdims=True)
    return gg.reshape(m, m.shape[:-1]) + gg.log(gg.sum(gg.exp(x - m), axis=-1))


def softmax_vjp(s, w):
    """∂Σ w⊙softmax(x)/∂x = s ⊙ (w − Σⱼ sⱼwⱼ) row by row, s = softmax(x): the
    closed-form Jacobian of softmax applied to w."""
    return s * (w - np.sum(s * w, axis=-1, keepdims=True))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_limits(dtype):
    """At the limits the Jacobian is exactly 0 for the one-hot row, and ±(w₁ − w₂)/4
    on the tie's columns."""
    y, dx = value_and_grad(gg.softmax, SCORES.astype(dtype), WEIGHTS)
    assert_near(y, SOFTMAX, dtype)
    assert_near(dx, softmax_vjp(SOFTMAX, WEIGHTS), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_sum_exp_limits(dtype):
    y, dx = value_and_grad(log_sum_exp, SCORES.astype(dtype))
    assert_near(y, LOG_SUM_EXP, dtype)
    assert_near(dx, SOFTMAX, dtype)  # ∂ log Σ eˣ / ∂x = softmax(x)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("targets", ["labels", "one-hot"])
@pytest.mark.parametrize("labels", LABELS.values(), ids=LABELS.keys())
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composite"])
def test_softmax_with_loss_limits(fused, labels, targets, dtype):
    one_hot = np.eye(3, dtype=dtype)[labels]
    t = labels if targets == "labels" else one_hot
    loss, dx = value_and_grad(lambda x: gg.softmax_with_loss(x, t, fused=fused),
                              SCORES.astype(dtype))
    rows = np.arange(len(labels))
    assert_near(loss, np.mean(MAX - SCORES[rows, labels] + np.log(TIES)), dtype)
    assert_near(dx, (SOFTMAX - one_hot) / len(labels), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labels", LABELS.values(), ids=LABELS.keys())
def test_cross_entropy_error_of_softmax_limits(labels, dtype):
    loss, dx = value_and_grad(lambda x: gg.cross_entropy_error(gg.softmax(x), labels),
                              SCORES.astype(dtype))
    n, one_hot = len(labels), np.eye(3)[labels]
    p = SOFTMAX[np.arange(n), labels]  # the probability of each label
    assert_near(loss, -np.mean(np.log(p + 1e-7)), dtype)
    # the chain rule through softmax: (softmax − t)/N, damped by p/(p + 1e-7)
    assert_near(dx, (SOFTMAX - one_hot) / n * (p / (p + 1e-7))[:, None], dtype)


def test_dlfs_loss_is_capped_for_a_confidently_wrong_sample():
    """The numbers of the SoftmaxWithLoss docstring: DLFS's −log(p + 1e-7) against
    the fused node's −log p."""
    def losses(scores):
        x, t = np.array([scores]), np.array([1])
        return gg.softmax_with_loss(x, t).item(), gg.cross_entropy_error(gg.softmax(x), t).item()

    fused, dlfs = losses([25.0, 0.0])  # p = e^−25
    assert fused == pytest.approx(25.0) and dlfs == pytest.approx(16.118, abs=1e-3)
    fused, dlfs = losses([2.0, 0.0])  # p = 0.12
    assert (fused - dlfs) / fused == pytest.approx(4e-7, rel=0.05)


# -- float32 in, float32 out ------------------------------------------------------

def f32(*shape):
    """A float32 tensor of ``shape`` with values in [0.5, 1.5] (fine for log and **)."""
    return gg.tensor(np.linspace(0.5, 1.5, int(np.prod(shape)), dtype=np.float32).reshape(shape))


LABELS_2 = np.array([0, 2])
FLOAT64_ONE_HOT = np.eye(3)[LABELS_2]
FLOAT32_CALLS = [  # (function, variant, call on a float32 (2, 3) tensor x)
    (functions.add, None, lambda x: x + f32(2, 3)),
    (functions.sub, None, lambda x: x - f32(3)),
    (functions.mul, None, lambda x: x * f32(2, 1)),
    (functions.div, None, lambda x: x / f32(2, 3)),
    (functions.neg, None, lambda x: -x),
    (functions.pow, None, lambda x: x ** f32(2, 3)),
    (functions.pow, "number", lambda x: 2 ** x),
    (functions.exp, None, functions.exp),
    (functions.log, None, functions.log),
    (functions.tanh, None, functions.tanh),
    (functions.relu, None, lambda x: functions.relu(x - 1)),
    (functions.maximum, None, lambda x: functions.maximum(x, f32(3) * 1.1)),
    (functions.matmul, None, lambda x: x @ f32(3, 4)),
    (functions.matmul_add, None, lambda x: functions.matmul_add(x, f32(3, 4), f32(4))),
    (functions.dot, None, lambda x: functions.dot(x, f32(3))),
    (functions.sum, None, lambda x: functions.sum(x, axis=0)),
    (functions.mean, None, lambda x: functions.mean(x, axis=1, keepdims=True)),
    (functions.max, None, lambda x: functions.max(x, axis=-1)),
    (functions.reshape, None, lambda x: functions.reshape(x, (3, 2))),
    (functions.transpose, None, functions.transpose),
    (functions.swapaxes, None, lambda x: functions.swapaxes(x, 0, 1)),
    (functions.permute_dims, None, lambda x: functions.permute_dims(x, (1, 0))),
    (functions.matrix_transpose, None, functions.matrix_transpose),
    (functions.to_device, None, lambda x: functions.to_device(x, "cpu")),
    (functions.astype, None, lambda x: functions.astype(x, np.float32)),
    (functions.broadcast_to, None, lambda x: functions.broadcast_to(x, (4, 2, 3))),
    (functions.sum_to, None, lambda x: functions.sum_to(x, (1, 3))),
    (functions.getitem, None, lambda x: x[np.array([1, 1, 0]), 1:]),
    (functions.getitem_grad, None,
     lambda x: functions.getitem_grad(x, (slice(None), 1), (2, 4, 3))),
    (functions.setitem, None, lambda x: functions.setitem(x, (slice(None), 0), x[:, 2] * 2.0)),
    (functions.copy, None, functions.copy),
    (activations.sigmoid, "fused", activations.sigmoid),
    (activations.sigmoid, "composite", lambda x: activations.sigmoid(x, fused=False)),
    (activations.softmax, None, activations.softmax),
    (activations.cross_entropy_error, "labels",
     lambda x: activations.cross_entropy_error(activations.softmax(x), LABELS_2)),
    (activations.cross_entropy_error, "float64 one-hot",
     lambda x: activations.cross_entropy_error(activations.softmax(x), FLOAT64_ONE_HOT)),
    (activations.softmax_with_loss, "fused", lambda x: activations.softmax_with_loss(x, LABELS_2)),
    (activations.softmax_with_loss, "composite",
     lambda x: activations.softmax_with_loss(x, LABELS_2, fused=False)),
    (activations.softmax_with_loss, "fused float64 one-hot",
     lambda x: activations.softmax_with_loss(x, FLOAT64_ONE_HOT)),
    (activations.softmax_with_loss, "composite float64 one-hot",
     lambda x: activations.softmax_with_loss(x, FLOAT64_ONE_HOT, fused=False)),
]


def public_functions(module):
    return {f for name, f in vars(module).items() if inspect.isfunction(f)
            and f.__module__ == module.__name__ and not name.startswith("_")}


def test_every_function_is_checked_in_float32():
    checked = {function for function, _, _ in FLOAT32_CALLS}
    assert checked == public_functions(functions) | public_functions(activations)


@pytest.mark.parametrize("call", [
    pytest.param(call, id=function.__name__ + (f" ({variant})" if variant else ""))
    for function, variant, call in FLOAT32_CALLS])
def test_float32_values_and_gradients_stay_float32(call):
    x = f32(2, 3)
    with gg.Tape() as tape:
        out = call(x)
    out.backward()
    assert out.dtype == np.float32
    for node in tape.nodes:
        for t in (*node.inputs, *node.outputs):
            if t.requires_grad:  # every tensor of the graph, the leaves included
                assert (t.dtype, t.grad.dtype) == (np.float32, np.float32), node
