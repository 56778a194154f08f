"""One forward and backward pass of a tiny two-layer net (4 inputs, 3 hidden, 2 classes).

Each DLFS layer is a scope built from graphgrad ops, so the drawing can show the net
layer by layer (collapsed: x, W1, b1 → Affine1 → Relu1 → Affine2 → SoftmaxWithLoss →
loss, with the gradient of every parameter in red) or every step inside the layers
(expanded: nested clusters, softmax and cross_entropy_error inside SoftmaxWithLoss).

    python examples/two_layer_net.py   # docs/two_layer_net.svg/.png, _expanded too
    graphgrad draw examples/two_layer_net.py --collapse -o net.svg
"""
from pathlib import Path

import numpy as np

import graphgrad as gg
import viz

rng = np.random.default_rng(0)
x = gg.tensor(rng.normal(size=(2, 4)), name="x", requires_grad=False)
t = gg.tensor(np.array([1, 0]), name="t")  # labels of the 2 samples
W1 = gg.tensor(0.5 * rng.normal(size=(4, 3)), name="W1")
b1 = gg.tensor(np.zeros(3), name="b1")
W2 = gg.tensor(0.5 * rng.normal(size=(3, 2)), name="W2")
b2 = gg.tensor(np.zeros(2), name="b2")

with gg.scope("Affine1"):
    a1 = x @ W1 + b1
with gg.scope("Relu1"):
    z1 = gg.relu(a1)
with gg.scope("Affine2"):
    a2 = z1 @ W2 + b2
with gg.scope("SoftmaxWithLoss"):
    out = gg.cross_entropy_error(gg.softmax(a2), t)
out.name = "loss"
out.backward()

if __name__ == "__main__":
    docs = Path(__file__).resolve().parent.parent / "docs"
    for suffix in ("svg", "png"):
        print(viz.render(viz.draw(out, expand=False), docs / f"two_layer_net.{suffix}"))
        print(viz.render(out, docs / f"two_layer_net_expanded.{suffix}"))
