"""The DLFS training recipe on Fashion-MNIST: graphgrad against hand-written numpy.

TwoLayerNet 784-50-10, SGD lr 0.1, batch 100, 10,000 iterations on the 60,000
training images; test accuracy on the 10,000 test images. Both runs start from the
same weights and see the same batches, so they should agree to rounding.

    python benchmarks/train_fashion.py [--iters 10000] [--profile]
"""
import argparse
import cProfile
import pstats
import time

import numpy as np

from graphgrad.datasets import load_fashion_mnist
from graphgrad.models import TwoLayerNet
from graphgrad.optim import SGD


def numpy_loss_and_gradient(p, x, t):
    """The same network, forward and backward written out in numpy (DLFS ch5)."""
    a1 = x @ p["W1"] + p["b1"]
    z1 = np.maximum(a1, 0)
    a2 = z1 @ p["W2"] + p["b2"]
    z = a2 - a2.max(axis=1, keepdims=True)
    log_y = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(x)
    loss = -log_y[np.arange(n), t].sum() / n
    dy = np.exp(log_y)
    dy[np.arange(n), t] -= 1
    dy /= n
    da1 = (dy @ p["W2"].T) * (a1 > 0)
    grads = {"W1": x.T @ da1, "b1": da1.sum(axis=0), "W2": z1.T @ dy, "b2": dy.sum(axis=0)}
    return loss, grads


def numpy_accuracy(p, x, t):
    scores = np.maximum(x @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]
    return float(np.mean(scores.argmax(axis=1) == t))


def train(step, params, x, t, batches, lr):
    """Plain SGD over the given batches; returns the last loss and the seconds taken."""
    optimizer = SGD(lr)
    start = time.perf_counter()
    for batch in batches:
        loss, grads = step(x[batch], t[batch])
        optimizer.update(params, grads)
    return loss, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=10000)
    parser.add_argument("--profile", action="store_true", help="cProfile the graphgrad run")
    args = parser.parse_args()
    (x_train, t_train), (x_test, t_test) = load_fashion_mnist()
    np.random.seed(0)
    net = TwoLayerNet(784, 50, 10)
    reference = {key: value.copy() for key, value in net.params.items()}
    batches = np.random.default_rng(0).integers(0, len(x_train), (args.iters, 100))

    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    loss, seconds = train(net.loss_and_gradient, net.params, x_train, t_train, batches, 0.1)
    if profiler:
        profiler.disable()
    accuracy = net.accuracy(x_test, t_test)
    print(f"graphgrad: test acc {accuracy:.4f}, final loss {loss:.4f}, {seconds:.1f} s "
          f"({seconds / args.iters * 1e3:.2f} ms/iter)")

    def numpy_step(x, t):
        return numpy_loss_and_gradient(reference, x, t)

    np_loss, np_seconds = train(numpy_step, reference, x_train, t_train, batches, 0.1)
    np_accuracy = numpy_accuracy(reference, x_test, t_test)
    print(f"numpy:     test acc {np_accuracy:.4f}, final loss {np_loss:.4f}, {np_seconds:.1f} s "
          f"({np_seconds / args.iters * 1e3:.2f} ms/iter)")
    gap = max(np.abs(net.params[key] - reference[key]).max() for key in reference)
    print(f"graphgrad / numpy time: {seconds / np_seconds:.2f}; max weight difference {gap:.1e}")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
