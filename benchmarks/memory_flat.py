"""Flat memory: 10,000 training steps on the engine hold no more memory than 1,000.

After 1,000 warm-up steps, tracemalloc traces the next 9,000: what they allocate and
still hold at the end is what a leaking tape or graph would accumulate. Live graph
objects (tensors and nodes) are counted at both points too.
"""
import gc
import time
import tracemalloc

import numpy as np

import graphgrad as gg
from graphgrad.node import Node

from .mlp_step import LR, make_problem

WARMUP, STEPS = 1_000, 10_000


def live_graph_objects():
    gc.collect()
    # type(), not isinstance: some objects of other libraries warn when asked __class__
    return sum(issubclass(type(o), (Node, gg.Tensor)) for o in gc.get_objects())


def train(steps, tensors, x, t):
    W1, b1, W2, b2 = tensors
    for _ in range(steps):
        gg.softmax_with_loss(gg.relu(x @ W1 + b1) @ W2 + b2, t).backward()
        for p in tensors:
            p.data -= LR * p.grad
            p.grad = None


def run():
    params, x, t = make_problem((784, 50, 10), 100, np.float32)
    tensors = [gg.tensor(v) for v in params.values()]
    start = time.perf_counter()
    train(WARMUP, tensors, x, t)
    live_before = live_graph_objects()
    tracemalloc.start()
    train(STEPS - WARMUP, tensors, x, t)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    live_after = live_graph_objects()
    seconds = time.perf_counter() - start
    print(f"\n## Memory over {STEPS:,} TwoLayerNet steps ({seconds:.1f} s)")
    print(f"  held after steps {WARMUP:,}–{STEPS:,}: {held / 1e3:.1f} kB allocated and not freed")
    print(f"  live tensors and nodes: {live_before} after {WARMUP:,} steps, "
          f"{live_after} after {STEPS:,}")
    return [(f"memory still held from steps {WARMUP:,}–{STEPS:,}", "graphgrad", held / 1e3,
             "kB", 1.0)]


if __name__ == "__main__":
    run()
