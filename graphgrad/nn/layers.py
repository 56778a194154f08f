"""The DLFS layers (ch5–6) as graphgrad graphs: Affine, Relu, Sigmoid,
SoftmaxWithLoss, Dropout and BatchNormalization.

Each is a ``Layer``: ``layer(x)`` records it in a graph, ``layer.forward(x)`` /
``layer.backward(dout)`` is the DLFS protocol on numpy arrays. Shapes: N samples.
"""
import math

import numpy as np

from .. import functions as F
from ..backend import get_namespace, to_device
from ..activations import sigmoid, softmax, softmax_with_loss
from ..recording import guard, refuse_in_compile
from .layer import Layer, value_of


class Affine(Layer):
    """out = x W + b,   x: (N, …) flattened to (N, D),  W: (D, M),  b: (M,) → (N, M).

    ∂L/∂x = ∂L/∂out Wᵀ (reshaped back to x's shape),  ∂L/∂W = xᵀ ∂L/∂out,
    ∂L/∂b = Σₙ ∂L/∂out.

    As in the book, ``x`` holds the latest input as rows (N, D), ``original_x_shape``
    its shape, and ``dW``, ``db`` the gradients of the latest backward (or of the
    model's ``gradient``: there, of the whole loss, weight decay included).
    """

    param_names = ("W", "b")

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = self.original_x_shape = self.dW = self.db = None

    def graph(self, x, W, b):
        if x.ndim < 2 or math.prod(x.shape[1:]) != W.shape[0]:
            raise self.shape_error(x, f"(N, {W.shape[0]})")
        self.original_x_shape = x.shape
        if x.ndim != 2:  # images (N, C, H, W) as rows (N, C·H·W)
            x = F.reshape(x, (x.shape[0], math.prod(x.shape[1:])))
        self.x = value_of(x)
        return x @ W + b


class Relu(Layer):
    """out = max(x, 0);   ∂L/∂x = ∂L/∂out · [x > 0]."""

    _input = None  # the latest input's value

    def graph(self, x):
        self._input = value_of(x)
        return F.relu(x)

    @property
    def mask(self):
        """The book's mask: True where the latest x ≤ 0 (where out and ∂L/∂x are 0);
        None before the first call. Computed when read."""
        return None if self._input is None else self._input <= 0


class Sigmoid(Layer):
    """out = 1 / (1 + e^−x);   ∂L/∂x = ∂L/∂out · out (1 − out)   (the fused node).
    ``out`` holds the latest output's value, as in the book."""

    out = None

    def graph(self, x):
        out = sigmoid(x)
        self.out = value_of(out)
        return out


class SoftmaxWithLoss(Layer):
    """loss = −(1/N) Σₙ log softmax(xₙ)[tₙ],  x: (N, classes), t: labels (N,) or
    one-hot (N, classes);   ∂L/∂x = (softmax(x) − t) / N   (the fused node).

    Standalone: ``loss = layer.forward(x, t)``, ``dx = layer.backward()`` (dout = 1).
    As in the book, ``loss`` and ``t`` hold the latest loss and targets, ``y`` the
    softmax of the latest scores.
    """

    loss = t = _scores = None

    def graph(self, x, t):
        loss = softmax_with_loss(x, t)
        self._scores, self.t, self.loss = value_of(x), value_of(t), value_of(loss)
        return loss

    @property
    def y(self):
        """softmax(x) of the latest scores x (N, classes); None before the first call.
        Computed when read."""
        return None if self._scores is None else softmax(self._scores).data


class Dropout(Layer):
    """Training: out = x · mask, each mask entry 1 with probability 1 − dropout_ratio,
    else 0 (a new mask per call);  test: out = x · (1 − dropout_ratio), as in DLFS.

    ``rng``: a ``numpy.random.Generator``; by default the global ``np.random``, so
    ``np.random.seed`` makes the masks repeatable, as in DLFS, on any device (the
    mask is drawn by numpy and copied to x's device). ``mask`` holds the latest
    training call's mask (True: kept), as in the book.
    """

    uses_train_flg = True
    mask = None

    def __init__(self, dropout_ratio=0.5, rng=None):
        self.dropout_ratio = dropout_ratio
        self.rng = np.random if rng is None else rng

    def graph(self, x, train_flg=True):
        if not train_flg:
            return x * (1.0 - self.dropout_ratio)
        refuse_in_compile("Dropout draws a new mask on every call in training")
        self.mask = to_device(self.rng.random(x.shape) > self.dropout_ratio, x.device)
        return x * get_namespace(self.mask).astype(self.mask, x.dtype)

    def training_state(self):
        """The state of ``rng``, which decides the next masks."""
        if isinstance(self.rng, np.random.Generator):
            return self.rng.bit_generator.state
        return self.rng.get_state()  # np.random, or a RandomState

    def restore_training_state(self, state):
        if isinstance(self.rng, np.random.Generator):
            self.rng.bit_generator.state = state
        else:
            self.rng.set_state(state)


class BatchNormalization(Layer):
    """out = γ · (x − μ) / √(σ² + 1e-6) + β per feature, over a batch x: (N, D), or
    (N, C, H, W) normalised as its (N, C·H·W) flattening; γ, β: (D,).

    Training uses the batch mean μ and biased variance σ², and updates the running
    statistics: running = momentum · running + (1 − momentum) · batch (they start at
    zero). Test mode (``train_flg=False``) uses the running statistics instead.
    ``dgamma``, ``dbeta``: the gradients of the latest backward (or model
    ``gradient``), as in the book.
    """

    param_names = ("gamma", "beta")
    uses_train_flg = True
    eps = 1e-6

    def __init__(self, gamma, beta, momentum=0.9, running_mean=None, running_var=None):
        self.gamma, self.beta, self.momentum = gamma, beta, momentum
        self.running_mean, self.running_var = running_mean, running_var
        self.dgamma = self.dbeta = None

    def graph(self, x, gamma, beta, train_flg=True):
        if x.ndim < 2 or math.prod(x.shape[1:]) != gamma.shape[0]:
            raise self.shape_error(x, f"(N, {gamma.shape[0]})")
        n = x.shape[0]
        x2 = F.reshape(x, (n, x.size // n))
        if self.running_mean is None:
            xp = get_namespace(x2._data)
            self.running_mean = xp.zeros(x2.shape[1], dtype=x2.dtype)
            self.running_var = xp.zeros(x2.shape[1], dtype=x2.dtype)
        if train_flg:
            refuse_in_compile("BatchNormalization updates its running statistics "
                              "from every training batch")
            mu = F.mean(x2, axis=0)
            xc = x2 - mu
            var = F.mean(xc * xc, axis=0)
            self._update_running(mu.data, var.data)
        else:
            guard(self.training_state)  # read at recording: replays check them
            xc = x2 - self.running_mean
            var = self.running_var
        xn = xc / (var + self.eps) ** 0.5
        return F.reshape(gamma * xn + beta, x.shape)

    def training_state(self):
        """The running statistics (each training call replaces them: new arrays)."""
        return self.running_mean, self.running_var

    def restore_training_state(self, state):
        self.running_mean, self.running_var = state

    def _update_running(self, mu, var):
        m = self.momentum
        self.running_mean = m * self.running_mean + (1 - m) * mu
        self.running_var = m * self.running_var + (1 - m) * var
