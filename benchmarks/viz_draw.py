"""Time drawing big graphs, with their values and gradients (a benchmark, not a test).

* ``viz.draw(...).source`` on a chain of 2,500 steps ``y = y * c + x`` (5,000 nodes, ``x``
  reused at every step, half the steps in scopes): building the DOT text alone;
* to SVG (``viz.to_svg``: the DOT built and laid out by ``dot``) and to the viewer page
  (``viz.html``) for the scalar graph ``s = relu(s * x_i + 1) * 0.01`` of 500 terms (2,000
  operations), 2,500 terms (10,000) and 25,000 terms in a scope each (100,000). The goals
  of issue 19: 2,000 ops to SVG in 1.5 s, 10,000 in 10 s, 100,000 without hanging. The
  2,000 are drawn whole, values inside the nodes; the larger graphs fold (viz/fold.py).

Each time is the median of ``REPEATS`` runs; the graph is built and backpropagated once,
outside the timing. torchviz is left out: it draws no values or gradients, and is not
installed with the bench extra.

    python -m benchmarks viz_draw
"""
import statistics
import time

import numpy as np

import graphgrad as gg
import viz

STEPS = 2500
SCALAR_TERMS = [(500, False), (2500, False), (25000, True)]  # (terms, a scope each)
REPEATS = 3


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


def scalar_graph(terms, scoped=False):
    """``s = relu(s * x_i + 1) * 0.01`` for ``terms`` inputs x_i, after backward."""
    rng = np.random.default_rng(0)
    s = gg.tensor(0.0, name="s0")
    for i in range(terms):
        x = gg.tensor(rng.standard_normal(), name=f"x{i}")
        if scoped:
            with gg.scope("step"):
                s = gg.relu(s * x + 1) * 0.01
        else:
            s = gg.relu(s * x + 1) * 0.01
    s.name = "s"
    s.backward()
    return s


def median_seconds(work):
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run():
    y = chain()
    start = time.perf_counter()
    source = viz.draw(y).source
    seconds = time.perf_counter() - start
    nodes = 2 * STEPS
    print(f"\n## viz.draw(...).source: {nodes} nodes, {len(source) / 1e6:.1f} MB of DOT "
          f"in {seconds:.2f} s")
    rows = [(f"viz.draw source, {nodes} op nodes", "graphgrad + graphviz", seconds, "s", 1.0)]
    for terms, scoped in SCALAR_TERMS:
        s = scalar_graph(terms, scoped)
        ops = 4 * terms
        svg = median_seconds(lambda: viz.to_svg(s))
        page = median_seconds(lambda: viz.html(s))
        print(f"## {ops:,} ops: SVG in {svg:.2f} s, viewer page in {page:.2f} s")
        rows.append((f"draw {ops:,} scalar ops to SVG", "graphgrad + graphviz", svg, "s", 1.0))
        rows.append((f"draw {ops:,} scalar ops to the viewer page", "graphgrad + graphviz",
                     page, "s", page / svg))
    return rows


if __name__ == "__main__":
    run()
