"""Buying apples and oranges (DLFS figure 5-17): (2 × 100 + 3 × 150) × 1.1 = 715.

Forward values over the edges: 100, 2, 150, 3, 200, 450, 650, 1.1, 715; the gradients
in red under them: 2.2, 110, 3.3, 165, 1.1, 1.1, 1.1, 650, 1. Also writes the
backward pass step by step as an animated GIF.

    python examples/apple_orange.py       # docs/apple_orange.svg, .png, _backprop.gif
    graphgrad draw examples/apple_orange.py -o apple_orange.svg
"""
import shutil
import tempfile
from pathlib import Path

import graphgrad as gg
import viz

apple = gg.tensor(100.0, name="apple")
apple_num = gg.tensor(2.0, name="apple_num")
orange = gg.tensor(150.0, name="orange")
orange_num = gg.tensor(3.0, name="orange_num")
tax = gg.tensor(1.1, name="tax")

out = (apple * apple_num + orange * orange_num) * tax
out.name = "price"
out.backward()

if __name__ == "__main__":
    docs = Path(__file__).resolve().parent.parent / "docs"
    for suffix in ("svg", "png"):
        print(viz.render(out, docs / f"apple_orange.{suffix}"))
    with tempfile.TemporaryDirectory() as frames:
        viz.animate(out, frames, format="gif")
        print(shutil.copy(Path(frames) / "backprop.gif", docs / "apple_orange_backprop.gif"))
