"""Buying apples (DLFS figure 5-16): 2 apples at 100 with tax 1.1 cost 220.

The drawing shows each forward value over its edge and, after ``backward``, the
gradient in red under it: d price / d apple = 2.2, / d apple_num = 110, / d tax = 200.

    python examples/apple.py                        # writes docs/apple.svg and .png
    graphgrad draw examples/apple.py -o apple.svg   # draws ``out``
"""
from pathlib import Path

import graphgrad as gg
import viz

apple = gg.tensor(100.0, name="apple")
apple_num = gg.tensor(2.0, name="apple_num")
tax = gg.tensor(1.1, name="tax")

out = apple * apple_num * tax
out.name = "price"
out.backward()

if __name__ == "__main__":
    docs = Path(__file__).resolve().parent.parent / "docs"
    for suffix in ("svg", "png"):
        print(viz.render(out, docs / f"apple.{suffix}"))
