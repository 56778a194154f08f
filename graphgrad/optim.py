"""Optimizers of DLFS ch6: ``update(params, grads)`` on dicts of arrays.

Each update changes ``params[key]`` in place (``-=``, ``+=``), so the layers that
share those arrays see the new values. State (velocities, squared-gradient sums) is
kept per key, created on the first update, on the parameters' device (numpy, CuPy,
…: every array operation goes through the parameters' namespace).
g = grads[key], θ = params[key].
"""
import math

from .backend import get_namespace

EPS = 1e-7


def _zeros_like(params):
    """Per-key optimizer state, zeros shaped like each parameter."""
    return {key: get_namespace(value).zeros_like(value) for key, value in params.items()}


def _sqrt(x):
    return get_namespace(x).sqrt(x)


class SGD:
    """θ ← θ − lr · g."""

    def __init__(self, lr=0.01):
        self.lr = lr

    def update(self, params, grads):
        for key in params:
            params[key] -= self.lr * grads[key]


class Momentum:
    """v ← momentum · v − lr · g;   θ ← θ + v   (v starts at 0)."""

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum = lr, momentum
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = _zeros_like(params)
        for key in params:
            self.v[key] = self.momentum * self.v[key] - self.lr * grads[key]
            params[key] += self.v[key]


class Nesterov:
    """v ← momentum · v − lr · g;   θ ← θ + momentum² · v − (1 + momentum) · lr · g
    (v starts at 0): Nesterov's accelerated gradient as DLFS writes it, in the form
    of arXiv:1212.0901, where θ is kept at the look-ahead point."""

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr, self.momentum = lr, momentum
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = _zeros_like(params)
        for key in params:
            self.v[key] *= self.momentum
            self.v[key] -= self.lr * grads[key]
            params[key] += self.momentum * self.momentum * self.v[key]
            params[key] -= (1 + self.momentum) * self.lr * grads[key]


class AdaGrad:
    """h ← h + g²;   θ ← θ − lr · g / (√h + 1e-7)."""

    def __init__(self, lr=0.01):
        self.lr = lr
        self.h = None

    def update(self, params, grads):
        if self.h is None:
            self.h = _zeros_like(params)
        for key in params:
            self.h[key] += grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (_sqrt(self.h[key]) + EPS)


class RMSprop:
    """h ← decay_rate · h + (1 − decay_rate) · g²;   θ ← θ − lr · g / (√h + 1e-7)."""

    def __init__(self, lr=0.01, decay_rate=0.99):
        self.lr, self.decay_rate = lr, decay_rate
        self.h = None

    def update(self, params, grads):
        if self.h is None:
            self.h = _zeros_like(params)
        for key in params:
            self.h[key] *= self.decay_rate
            self.h[key] += (1 - self.decay_rate) * grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (_sqrt(self.h[key]) + EPS)


class Adam:
    """At step t:  m ← m + (1 − β₁)(g − m);  v ← v + (1 − β₂)(g² − v);
    θ ← θ − lr_t · m / (√v + 1e-7),  lr_t = lr · √(1 − β₂ᵗ) / (1 − β₁ᵗ)."""

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr, self.beta1, self.beta2 = lr, beta1, beta2
        self.iter = 0
        self.m = self.v = None

    def update(self, params, grads):
        if self.m is None:
            self.m = _zeros_like(params)
            self.v = _zeros_like(params)
        self.iter += 1
        lr_t = self.lr * math.sqrt(1 - self.beta2 ** self.iter) / (1 - self.beta1 ** self.iter)
        for key in params:
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (_sqrt(self.v[key]) + EPS)
