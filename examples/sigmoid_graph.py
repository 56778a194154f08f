"""The sigmoid as a graph of steps (DLFS figure 5-19/5-20): y = 1 / (1 + exp(−x)).

``gg.sigmoid(x, fused=False)`` records the composite in a scope named "sigmoid",
drawn as a cluster of the book's four steps: ``× −1``, ``exp``, ``+ 1``, ``1 /``.
Backward gives dy/dx = y (1 − y) = 0.1966 at x = 1.

    python examples/sigmoid_graph.py   # docs/sigmoid_graph.svg/.png, collapsed too
"""
from pathlib import Path

import graphgrad as gg
import viz

x = gg.tensor(1.0, name="x")
out = gg.sigmoid(x, fused=False)
out.name = "y"
out.backward()

if __name__ == "__main__":
    docs = Path(__file__).resolve().parent.parent / "docs"
    for suffix in ("svg", "png"):
        print(viz.render(out, docs / f"sigmoid_graph.{suffix}"))
        collapsed = viz.draw(out, expand=False)
        print(viz.render(collapsed, docs / f"sigmoid_graph_collapsed.{suffix}"))
