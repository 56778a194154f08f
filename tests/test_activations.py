"""Composite and fused sigmoid / softmax-with-loss: the same function, proven equal."""
import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import graphgrad as gg
from graphgrad.nodes import OneHot, Sigmoid, SoftmaxWithLoss
from graphgrad.testing import gradcheck

Y_RIGHT = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]
Y_WRONG = [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]
ONE_HOT_2 = np.eye(10)[2]

scores = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6),
    elements=st.floats(-30, 30))


def value_and_grad(fn, x):
    x = gg.tensor(x)
    y = fn(x)
    (g,) = gg.grad(gg.sum(y * np.linspace(0.5, 1.5, y.size).reshape(y.shape)), x)
    return y.data, g.data


@pytest.mark.parametrize("t", [ONE_HOT_2, 2, np.array(2)])
@pytest.mark.parametrize("y, expected", [(Y_RIGHT, 0.510825457099338),
                                         (Y_WRONG, 2.302584092994546)])
def test_seeds_cross_entropy_numbers(y, t, expected):
    assert gg.cross_entropy_error(np.array(y), t).item() == pytest.approx(expected, rel=1e-12)
    batch_t = np.asarray(t)[None] if np.ndim(t) else np.array([t])
    assert gg.cross_entropy_error(np.array([y]), batch_t).item() == pytest.approx(
        expected, rel=1e-12)


def test_composite_sigmoid_records_exactly_the_books_four_steps():
    x = gg.tensor(0.5)
    with gg.Tape() as tape:
        y = gg.sigmoid(x, fused=False)
    assert len(tape.nodes) == 4
    assert [n.op for n in tape.nodes] == ["×", "exp", "+", "/"]  # DLFS figure 5-19
    assert {n.scope.name for n in tape.nodes} == {"sigmoid"}
    assert len({n.scope for n in tape.nodes}) == 1
    assert y.item() == pytest.approx(1 / (1 + np.exp(-0.5)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_composite_sigmoid_at_1000_gives_the_limits_and_finite_gradients(dtype):
    """e^1000 overflows to inf inside the exp step: 1 / (1 + inf) = 0 is σ(−1000),
    and the backward of exp takes 0 · inf as 0 (no NaN), with no warning."""
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        x = gg.tensor(np.array([-1000, 1000], dtype=dtype))
        y = gg.sigmoid(x, fused=False)
        gg.sum(y).backward()
    assert y.data.tolist() == [0, 1]
    assert x.grad.tolist() == [0, 0] and x.grad.dtype == dtype


def test_overflowing_exp_keeps_a_nonzero_gradient_honest():
    """0 · e^x = 0 for every real x; a nonzero gradient times an overflowed e^x is inf."""
    from graphgrad.nodes import OverflowingExp
    node = OverflowingExp()
    assert node.forward(np.array([1000.0, 1000.0, 0.0])).tolist() == [np.inf, np.inf, 1]
    assert node.backward(np.array([0.0, 2.0, 2.0])).tolist() == [0, np.inf, 2]


def test_fused_sigmoid_records_one_node():
    with gg.Tape() as tape:
        gg.sigmoid(gg.tensor(0.5))
    assert [type(n) for n in tape.nodes] == [Sigmoid]


def test_each_composite_call_gets_its_own_scope():
    x = gg.tensor(np.ones(2))
    a, b = gg.sigmoid(x, fused=False), gg.sigmoid(x, fused=False)
    assert a.creator.scope is not b.creator.scope


@given(scores)
def test_sigmoid_composite_equals_fused(x):
    y1, g1 = value_and_grad(lambda v: gg.sigmoid(v, fused=True), x)
    y2, g2 = value_and_grad(lambda v: gg.sigmoid(v, fused=False), x)
    np.testing.assert_allclose(y1, y2, rtol=1e-7, atol=1e-300)
    np.testing.assert_allclose(g1, g2, rtol=1e-7, atol=1e-300)


@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=4),
                  elements=st.floats(-5, 5)), st.booleans())
def test_sigmoid_passes_gradcheck(x, fused):
    assert gradcheck(lambda v: gg.sigmoid(v, fused=fused), [x])


@st.composite
def scores_and_targets(draw):
    x = draw(scores)
    rows = x.shape[:-1]
    labels = draw(hnp.arrays(np.int64, rows, elements=st.integers(0, x.shape[-1] - 1)))
    one_hot = draw(st.booleans())
    return x, (np.eye(x.shape[-1])[labels] if one_hot else labels)


@given(scores_and_targets())
def test_softmax_with_loss_composite_equals_fused(case):
    x, t = case
    y1, g1 = value_and_grad(lambda v: gg.softmax_with_loss(v, t, fused=True), x)
    y2, g2 = value_and_grad(lambda v: gg.softmax_with_loss(v, t, fused=False), x)
    np.testing.assert_allclose(y1, y2, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-7, atol=1e-12)


@given(scores_and_targets(), st.booleans())
def test_softmax_with_loss_passes_gradcheck(case, fused):
    x, t = case
    assert gradcheck(lambda v: gg.softmax_with_loss(v, t, fused=fused), [x / 10])


def test_composite_softmax_with_loss_records_the_books_two_blocks():
    """DLFS figure 5-29: a Softmax block feeding a Cross Entropy Error block, both
    inside the op's scope; what crosses between them is log y."""
    x = gg.tensor(np.random.default_rng(0).normal(size=(2, 3)))
    with gg.Tape() as tape:
        gg.softmax_with_loss(x, np.array([0, 2]), fused=False)
    paths = ["/".join(s.name for s in node.scope.path()) for node in tape.nodes]
    blocks = ["softmax_with_loss/Softmax", "softmax_with_loss/Cross Entropy Error"]
    assert paths == sorted(paths, key=blocks.index) and set(paths) == set(blocks)
    softmax = [n for n in tape.nodes if n.scope.name == "Softmax"]
    crossing = {x.name for n in tape.nodes if n.scope.name != "Softmax" for x in n.inputs
                if x.creator in softmax}
    assert crossing == {"log y"}


def test_fused_softmax_with_loss_gradient_is_y_minus_t_over_n():
    x = np.random.default_rng(0).normal(size=(3, 4))
    labels = np.array([0, 3, 1])
    xt = gg.tensor(x)
    loss = gg.softmax_with_loss(xt, labels)
    loss.backward()
    y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(xt.grad, (y - np.eye(4)[labels]) / 3)
    layer = SoftmaxWithLoss()
    assert layer.forward(x, labels) == pytest.approx(loss.item())
    np.testing.assert_allclose(layer.backward(1)[0], xt.grad)


def test_softmax_rows_sum_to_one_and_pass_gradcheck():
    x = np.random.default_rng(1).normal(size=(3, 5))
    np.testing.assert_allclose(gg.softmax(x).data.sum(axis=-1), 1)
    assert gradcheck(lambda v: gg.softmax(v, axis=0), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fused", [True, False])
def test_extreme_inputs_stay_finite_without_warnings(dtype, fused):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = gg.tensor(np.array([-1000, -50, 0, 50, 1000], dtype=dtype))
        s = gg.sigmoid(x, fused=fused)
        gg.sum(s).backward()
        np.testing.assert_allclose(s.data, [0, 0, 0.5, 1, 1], atol=1e-20)
        assert np.isfinite(x.grad).all() and x.grad.dtype == dtype
        logits = gg.tensor(np.array([[1e4, 0, -1e4], [-1e4, 1e4, 0]], dtype=dtype))
        loss = gg.softmax_with_loss(logits, np.array([2, 1]), fused=fused)
        loss.backward()
        assert loss.item() == pytest.approx(1e4, rel=1e-6)
        assert np.isfinite(logits.grad).all() and logits.grad.dtype == dtype
        assert np.isfinite(gg.softmax(logits).data).all()


def test_second_derivative_of_fused_sigmoid_matches_composite():
    values = np.linspace(-4, 4, 9)
    second = []
    for fused in (True, False):
        x = gg.tensor(values)
        (g,) = gg.grad(gg.sum(gg.sigmoid(x, fused=fused)), x, create_graph=True)
        (g2,) = gg.grad(gg.sum(g), x)
        second.append(g2.data)
    s = 1 / (1 + np.exp(-values))
    np.testing.assert_allclose(second[0], second[1], rtol=1e-7, atol=1e-15)
    np.testing.assert_allclose(second[0], s * (1 - s) * (1 - 2 * s), rtol=1e-7, atol=1e-15)


def test_second_derivative_of_fused_softmax_with_loss_matches_composite():
    x0 = np.random.default_rng(2).normal(size=(2, 3))
    labels = np.array([1, 2])
    hessian_vector = []
    for fused in (True, False):
        x = gg.tensor(x0)
        (g,) = gg.grad(gg.softmax_with_loss(x, labels, fused=fused), x, create_graph=True)
        (hv,) = gg.grad(gg.sum(g * np.arange(6.0).reshape(2, 3)), x)
        hessian_vector.append(hv.data)
    np.testing.assert_allclose(hessian_vector[0], hessian_vector[1], rtol=1e-7, atol=1e-15)


@pytest.mark.parametrize("targets", [np.array([1, 2]), np.eye(3)[[0, 2]]],
                         ids=["labels", "one-hot"])
def test_recorded_backward_of_softmax_with_loss_reads_its_targets_through_a_node(targets):
    # a traced recording (gg.compile, onnx.export) must see the targets in the
    # backward graph, not one-hot rows computed from this call's values
    x = gg.tensor(np.random.default_rng(3).normal(size=(2, 3)))
    t = gg.tensor(targets, requires_grad=False)
    with gg.Tape(trace=[x, t]) as tape:
        (g,) = gg.grad(gg.softmax_with_loss(x, t), x, create_graph=True)
    (one_hot,) = [node for node in tape.nodes if isinstance(node, OneHot)]
    assert one_hot.inputs[0] is t
    probabilities = np.exp(x.data) / np.exp(x.data).sum(axis=1, keepdims=True)
    rows = np.eye(3)[targets] if targets.ndim == 1 else targets
    np.testing.assert_allclose(g.data, (probabilities - rows) / 2, rtol=1e-12)


def test_bad_labels_name_the_op():
    x = gg.tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss.*label 7 is out of range for 3"):
        gg.softmax_with_loss(x, np.array([0, 7]))
    with pytest.raises(ValueError, match=r"targets of shape \(2, 4\)"):
        gg.softmax_with_loss(x, np.zeros((2, 4)))
