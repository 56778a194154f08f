"""The DLFS optimizers on f(x, y) = x²/20 + y² from (−7, 2) (DLFS ch6), and two steps
of each worked out by hand."""
import numpy as np
import pytest

from graphgrad.optim import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop

START = (-7.0, 2.0)


def f(p):
    return p["x"] ** 2 / 20 + p["y"] ** 2


def df(p):
    """∇f = (x / 10, 2y)."""
    return {"x": p["x"] / 10, "y": 2 * p["y"]}


def run(optimizer, steps):
    params = {"x": np.array([START[0]]), "y": np.array([START[1]])}
    arrays = dict(params)
    for _ in range(steps):
        optimizer.update(params, df(params))
    assert all(params[key] is arrays[key] for key in params)  # updated in place
    return float(params["x"][0]), float(params["y"][0])


# the learning rates of DLFS's optimizer_compare_naive.py (RMSprop and Nesterov are
# not there)
OPTIMIZERS = [SGD(lr=0.95), Momentum(lr=0.1), Nesterov(lr=0.1), AdaGrad(lr=1.5),
              RMSprop(lr=0.1), Adam(lr=0.3)]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: type(o).__name__)
def test_each_optimizer_descends_towards_the_minimum(optimizer):
    x, y = run(type(optimizer)(lr=optimizer.lr), 30)
    assert f({"x": x, "y": y}) < 0.2 < f({"x": START[0], "y": START[1]})


# Two steps by hand; g = ∇f. The 1e-7 in the denominators moves results by < 1e-5.
def test_sgd_two_steps():
    # g = (−0.7, 4): (−7 + 0.665, 2 − 3.8); g = (−0.6335, −3.6): (… + 0.601825, … + 3.42)
    assert run(SGD(lr=0.95), 2) == pytest.approx((-5.733175, 1.62), abs=1e-12)


def test_momentum_two_steps():
    # v = (0.07, −0.4) → (−6.93, 1.6); g = (−0.693, 3.2), v = 0.9 v − 0.1 g = (0.1323, −0.68)
    assert run(Momentum(lr=0.1, momentum=0.9), 2) == pytest.approx((-6.7977, 0.92), abs=1e-12)


def test_nesterov_two_steps():
    # v = (0.07, −0.4); θ += 0.81 v − 1.9 · 0.1 g = (0.0567 + 0.133, −0.324 − 0.76):
    # (−6.8103, 0.916); g = (−0.68103, 1.832), v = 0.9 v − 0.1 g = (0.131103, −0.5432):
    # θ += 0.81 v − 0.19 g = (0.10619343 + 0.1293957, −0.439992 − 0.34808)
    assert run(Nesterov(lr=0.1, momentum=0.9), 2) == pytest.approx(
        (-6.57471087, 0.127928), abs=1e-12)


def test_nesterov_is_the_books_rule():
    """DLFS common/optimizer.py's Nesterov, written out: v ← m·v − lr·g, then
    θ ← θ + m²·v − (1 + m)·lr·g, for three steps on random arrays."""
    rng = np.random.default_rng(0)
    lr, m = 0.05, 0.8
    params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    expected = {key: value.copy() for key, value in params.items()}
    v = {key: np.zeros_like(value) for key, value in params.items()}
    optimizer = Nesterov(lr=lr, momentum=m)
    for _ in range(3):
        grads = {key: rng.normal(size=value.shape) for key, value in params.items()}
        optimizer.update(params, grads)
        for key, g in grads.items():
            v[key] = m * v[key] - lr * g
            expected[key] = expected[key] + m * m * v[key] - (1 + m) * lr * g
    for key in params:
        np.testing.assert_allclose(params[key], expected[key], rtol=1e-14)


def test_adagrad_two_steps():
    # h = g² so step 1 moves lr·sign(g): (−5.5, 0.5); g = (−0.55, 1), h = (0.7925, 17)
    x = -5.5 + 1.5 * 0.55 / np.sqrt(0.7925)
    y = 0.5 - 1.5 * 1 / np.sqrt(17)
    assert run(AdaGrad(lr=1.5), 2) == pytest.approx((x, y), abs=1e-5)


def test_rmsprop_two_steps():
    # h = 0.01 g² so step 1 moves 0.1 / 0.1 = 1: (−6, 1); g = (−0.6, 2),
    # h = 0.99 · (0.0049, 0.16) + 0.01 · (0.36, 4) = (0.008451, 0.1984)
    x = -6 + 0.1 * 0.6 / np.sqrt(0.008451)
    y = 1 - 0.1 * 2 / np.sqrt(0.1984)
    assert run(RMSprop(lr=0.1, decay_rate=0.99), 2) == pytest.approx((x, y), abs=1e-5)


def test_adam_two_steps():
    # step 1: m = 0.1 g, v = 0.001 g², lr_t = 0.3 √0.001 / 0.1, so it moves 0.3·sign(g):
    # (−6.7, 1.7); g = (−0.67, 3.4): m = (−0.13, 0.7),
    # v = 0.999 · 0.001 · (0.49, 16) + 0.001 · (0.4489, 11.56) = (0.00093841, 0.027544)
    lr_t = 0.3 * np.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2)
    x = -6.7 + lr_t * 0.13 / np.sqrt(0.00093841)
    y = 1.7 - lr_t * 0.7 / np.sqrt(0.027544)
    assert run(Adam(lr=0.3, beta1=0.9, beta2=0.999), 2) == pytest.approx((x, y), abs=1e-5)


def test_default_arguments_as_in_dlfs():
    assert SGD().lr == Momentum().lr == Nesterov().lr == AdaGrad().lr == RMSprop().lr == 0.01
    assert Momentum().momentum == Nesterov().momentum == 0.9 and RMSprop().decay_rate == 0.99
    adam = Adam()
    assert (adam.lr, adam.beta1, adam.beta2) == (0.001, 0.9, 0.999)


def test_state_is_kept_per_key():
    optimizer = Momentum(lr=0.1)
    params = {"a": np.array([1.0]), "b": np.array([1.0])}
    optimizer.update(params, {"a": np.array([1.0]), "b": np.array([-1.0])})
    optimizer.update(params, {"a": np.array([0.0]), "b": np.array([0.0])})
    # a: v = −0.1 then −0.09; b: v = 0.1 then 0.09
    assert params["a"][0] == pytest.approx(1 - 0.19) and params["b"][0] == pytest.approx(1.19)


# 1e-7 is added to the root, √h + 1e-7, not under it: √(h + 1e-7). The two differ only
# where √h is near 1e-7, so the first step from a tiny gradient g tells them apart.
G = 1e-6
LR_T = 0.5 * np.sqrt(1 - 0.999) / (1 - 0.9)  # Adam's lr_t at step 1


@pytest.mark.parametrize("optimizer, step", [
    pytest.param(AdaGrad, 0.5 * G / (G + 1e-7), id="AdaGrad"),  # h = g²
    pytest.param(RMSprop, 0.5 * G / (0.1 * G + 1e-7), id="RMSprop"),  # h = 0.01 g²
    # m = 0.1 g, v = 0.001 g²
    pytest.param(Adam, LR_T * 0.1 * G / (np.sqrt(0.001) * G + 1e-7), id="Adam"),
])
def test_epsilon_is_added_to_the_root(optimizer, step):
    params = {"x": np.array([1.0])}
    optimizer(lr=0.5).update(params, {"x": np.array([G])})
    assert params["x"][0] == pytest.approx(1 - step, rel=1e-12)
