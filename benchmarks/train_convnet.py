"""SimpleConvNet on the shipped MNIST split (8,000 train / 2,000 test): accuracy and
time per training iteration (forward + backward + update), evaluation excluded.

    python -m benchmarks.train_convnet [--iters 300] [--optimizer adam --lr 0.001] [--profile]
"""
import argparse
import cProfile
import pstats
import time

import numpy as np

from graphgrad.datasets import load_mnist
from graphgrad.models import SimpleConvNet
from graphgrad.optim import SGD, Adam

from .blas import describe, pin_loaded


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--profile", action="store_true", help="cProfile the training steps")
    args = parser.parse_args()
    print(f"BLAS: {describe(pin_loaded())}")
    (x_train, t_train), (x_test, t_test) = load_mnist(flatten=False)
    np.random.seed(0)
    net = SimpleConvNet()  # DLFS defaults: 30 filters 5×5, hidden 100
    optimizer = {"adam": Adam, "sgd": SGD}[args.optimizer](lr=args.lr)
    batches = np.random.default_rng(0).integers(0, len(x_train), (args.iters, args.batch_size))

    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    start, cpu_start = time.perf_counter(), time.thread_time()
    for batch in batches:
        optimizer.update(net.params, net.gradient(x_train[batch], t_train[batch]))
    seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
    if profiler:
        profiler.disable()
    print(f"SimpleConvNet, {args.iters} iterations of {args.batch_size}, {args.optimizer} "
          f"lr {args.lr}: {seconds:.1f} s, {seconds / args.iters * 1e3:.1f} ms/iter "
          f"({cpu / args.iters * 1e3:.1f} ms of CPU time); "
          f"train acc {net.accuracy(x_train, t_train):.4f}, "
          f"test acc {net.accuracy(x_test, t_test):.4f}")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
