"""Tape replay: a recorded step rerun on new data gives what a fresh graph gives."""
import numpy as np
import pytest

import graphgrad as gg


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


def test_replay_still_catches_writes_after_its_forward():
    w = gg.tensor(np.ones(2), name="w")
    step = gg.compile(lambda x: gg.sum(w * x))
    step(np.ones(2))
    w.data -= 1  # an update between steps is fine: the replay records anew
    step(np.ones(2))
    np.testing.assert_array_equal(w.grad, [2.0, 2.0])
