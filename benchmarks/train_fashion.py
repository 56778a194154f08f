"""The DLFS training recipe on Fashion-MNIST: graphgrad against hand-written numpy.

TwoLayerNet 784-50-10, SGD lr 0.1, batch 100, 10,000 iterations on the 60,000
training images; test accuracy on the 10,000 test images. Both runs start from the
same weights and see the same batches, so they should agree to rounding. They run
interleaved: a chunk of iterations (100 by default) on graphgrad, the same chunk on
numpy, the next chunk on each, and so on, so that both meet the same machine state
(other load, clock speed) and their time ratio holds when absolute times drift.

    python -m benchmarks.train_fashion [--iters 10000] [--chunk 100] [--profile]
"""
import argparse
import cProfile
import contextlib
import dataclasses
import math
import pstats
import time
from typing import Callable

import numpy as np

from graphgrad.datasets import load_fashion_mnist
from graphgrad.models import TwoLayerNet
from graphgrad.optim import SGD

from .blas import describe, pin_loaded


def numpy_loss_and_gradient(p, x, t):
    """The same network, forward and backward written out in numpy (DLFS ch5)."""
    a1 = x @ p["W1"] + p["b1"]
    z1 = np.maximum(a1, 0)
    a2 = z1 @ p["W2"] + p["b2"]
    z = a2 - a2.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    n, rows = len(x), np.arange(len(x))
    loss = (np.log(s[:, 0]) - z[rows, t]).sum() / n  # -mean log softmax of the labels
    dy = e / s
    dy[rows, t] -= 1
    dy /= n
    da1 = (dy @ p["W2"].T) * (a1 > 0)
    grads = {"W1": x.T @ da1, "b1": da1.sum(axis=0), "W2": z1.T @ dy, "b2": dy.sum(axis=0)}
    return loss, grads


def numpy_accuracy(p, x, t):
    scores = np.maximum(x @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]
    return float(np.mean(scores.argmax(axis=1) == t))


@dataclasses.dataclass
class Run:
    """One engine's training: its step ``(x, t) -> (loss, grads)``, the parameters the
    step reads, a context to run its chunks in (a profiler), and its totals so far."""
    step: Callable
    params: dict
    context: contextlib.AbstractContextManager = contextlib.nullcontext()
    seconds: float = 0.0
    loss: float = math.nan


def train_chunk(run, optimizer, x, t, batches):
    """Plain SGD over ``batches``, timed and added to ``run``."""
    with run.context:
        start = time.perf_counter()
        for batch in batches:
            run.loss, grads = run.step(x[batch], t[batch])
            optimizer.update(run.params, grads)
        run.seconds += time.perf_counter() - start


def train_interleaved(runs, x, t, batches, chunk, lr):
    """Each chunk of ``chunk`` batches on every run in turn, until the batches end."""
    optimizer = SGD(lr)  # keeps no state, so the runs can share it
    for start in range(0, len(batches), chunk):
        for run in runs:
            train_chunk(run, optimizer, x, t, batches[start:start + chunk])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=10000)
    parser.add_argument("--chunk", type=int, default=100, help="iterations per turn")
    parser.add_argument("--profile", action="store_true", help="cProfile the graphgrad run")
    args = parser.parse_args()
    print(f"BLAS: {describe(pin_loaded())}")
    (x_train, t_train), (x_test, t_test) = load_fashion_mnist()
    np.random.seed(0)
    net = TwoLayerNet(784, 50, 10)
    reference = {key: value.copy() for key, value in net.params.items()}
    batches = np.random.default_rng(0).integers(0, len(x_train), (args.iters, 100))

    profiler = cProfile.Profile() if args.profile else contextlib.nullcontext()
    engine = Run(net.loss_and_gradient, net.params, profiler)
    baseline = Run(lambda x, t: numpy_loss_and_gradient(reference, x, t), reference)
    train_interleaved([engine, baseline], x_train, t_train, batches, args.chunk, 0.1)
    for name, run, accuracy in (("graphgrad", engine, net.accuracy(x_test, t_test)),
                                ("numpy", baseline, numpy_accuracy(reference, x_test, t_test))):
        print(f"{name + ':':10} test acc {accuracy:.4f}, final loss {run.loss:.4f}, "
              f"{run.seconds:.1f} s ({run.seconds / args.iters * 1e3:.2f} ms/iter)")
    gap = max(np.abs(net.params[key] - reference[key]).max() for key in reference)
    print(f"graphgrad / numpy time: {engine.seconds / baseline.seconds:.2f}; "
          f"max weight difference {gap:.1e}")
    if args.profile:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
