"""Linear scaling: cost per node of a chain y = y + 1 as it grows 100×."""
import gc
import time

import graphgrad as gg


def chain(n):
    x = gg.tensor(1.0)
    y = x
    start = time.perf_counter()
    for _ in range(n):
        y = y + 1.0
    y.backward()
    elapsed = time.perf_counter() - start
    assert x.grad == 1.0
    del y
    gc.collect()
    return elapsed


def run():
    """Per node, with the cyclic collector on (what the goal counts: each full
    collection scans the whole heap, so where the collections fall decides the ratio)
    and off (the engine alone)."""
    rows = []
    for collector in ("on", "off"):
        print(f"\n## Deep chain y = y + 1, forward + backward, collector {collector}")
        base = None
        for n in (10_000, 100_000, 1_000_000):
            if collector == "off":
                gc.disable()
            try:
                per_node = min(chain(n) for _ in range(2 if n == 1_000_000 else 3)) / n
            finally:
                gc.enable()
            base = base or per_node
            print(f"  {n:>9,} nodes  {per_node * 1e6:6.2f} µs per node  {per_node / base:5.2f}×")
            rows.append((f"deep chain, {n:,} nodes, collector {collector}", "graphgrad",
                         per_node * 1e6, "µs/node", per_node / base))
    return rows


if __name__ == "__main__":
    run()
