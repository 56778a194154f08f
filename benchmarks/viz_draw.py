"""Time ``viz.draw(...).source`` on a graph of about 5,000 nodes (a benchmark, not a test).

The graph is a chain of 2,500 steps ``y = y * c + x`` (two nodes each) with ``x`` reused
at every step, after a backward, so every edge carries a value and a gradient; half
the steps sit in scopes, so clusters are drawn too.

    python -m benchmarks viz_draw
"""
import time

import numpy as np

import graphgrad as gg
import viz

STEPS = 2500


def chain(steps=STEPS):
    x = gg.tensor(np.float64(0.5), name="x")
    y = x
    for i in range(steps):
        if i % 2:
            with gg.scope(f"step{i}"):
                y = y * 0.999 + x
        else:
            y = y * 0.999 + x
    y.backward()
    return y


def run():
    y = chain()
    start = time.perf_counter()
    source = viz.draw(y).source
    seconds = time.perf_counter() - start
    nodes = source.count("shape=circle")
    print(f"\n## viz.draw(...).source: {nodes} nodes, {len(source) / 1e6:.1f} MB of DOT "
          f"in {seconds:.2f} s")
    return [(f"viz.draw source, {nodes} op nodes", "graphgrad + graphviz", seconds,
             "s", 1.0)]


if __name__ == "__main__":
    run()
