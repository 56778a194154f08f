"""gradcheck of the TwoLayerNet loss with respect to its 784×50 weight W1: element by
element (2 · 39,200 forward passes) against fast mode (random directions: one
backward pass and 2 · 2 forward passes), beside PyTorch's
``torch.autograd.gradcheck(fast_mode=False/True)`` when torch is installed.
Goal: fast mode ≤ 20 ms.

    python -m benchmarks gradcheck_fast
"""
import time

import numpy as np

import graphgrad as gg
from graphgrad.testing import gradcheck

from .timing import compare, optional, report

SIZES = (784, 50, 10)


def make_loss(batch, seed=0):
    """W1 -> the TwoLayerNet loss softmax_with_loss(relu(x @ W1 + b1) @ W2 + b2, t),
    float64, with W1's starting value."""
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = SIZES
    w1 = 0.01 * rng.standard_normal((n_in, n_hidden))
    b1, w2 = 0.01 * rng.standard_normal(n_hidden), 0.01 * rng.standard_normal((n_hidden, n_out))
    b2 = np.zeros(n_out)
    x, t = rng.random((batch, n_in)), rng.integers(0, n_out, batch)

    def loss(w):
        return gg.softmax_with_loss(gg.relu(x @ w + b1) @ w2 + b2, t)

    return loss, w1, (x, b1, w2, b2, t)


def torch_check(data, w1, fast_mode):
    """torch.autograd.gradcheck of the same loss (float64)."""
    import torch
    x, b1, w2, b2, t = (torch.from_numpy(np.asarray(a)) for a in data)
    w = torch.from_numpy(w1.copy()).requires_grad_()

    def loss(w):
        scores = torch.relu(x @ w + b1) @ w2 + b2
        return torch.nn.functional.cross_entropy(scores, t)

    return torch.autograd.gradcheck(loss, (w,), fast_mode=fast_mode)


def once(fn):
    """Seconds of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run():
    rows = []
    torch = optional("torch")
    for batch in (10, 100):
        loss, w1, data = make_loss(batch)
        workloads = {"graphgrad fast": lambda: gradcheck(loss, [w1], fast=True)}
        if torch is not None:
            workloads["torch fast_mode=True"] = lambda: torch_check(data, w1, True)
        medians = compare(workloads, repeats=20)
        if batch == 10:  # element by element: seconds, so timed once
            medians["graphgrad element-wise (one run)"] = once(lambda: gradcheck(loss, [w1]))
            if torch is not None:
                medians["torch fast_mode=False (one run)"] = once(
                    lambda: torch_check(data, w1, False))
        rows += report(f"gradcheck TwoLayerNet loss w.r.t. W1 784×50, batch {batch}", medians,
                       "graphgrad fast", unit=1e-3, unit_name="ms")
    return rows


if __name__ == "__main__":
    run()
