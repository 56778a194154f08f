"""One forward and backward pass of a tiny TwoLayerNet (4 inputs, 3 hidden, 2 classes).

The model records each layer in a scope named after its key in ``net.layers`` and
each parameter under its key in ``net.params``, so the drawing uses the book's names:
collapsed, x, W1, b1 → Affine1 → Relu1 → Affine2 → softmax_with_loss → loss, with the
gradient of every parameter in red; expanded (top to bottom), every step inside the
layers, and the composite softmax-with-loss as the book's two blocks (figure 5-29):
Softmax feeding Cross Entropy Error.

    python examples/two_layer_net.py   # docs/two_layer_net.svg/.png, _expanded too
    graphgrad draw examples/two_layer_net.py --collapse -o net.svg
    graphgrad draw examples/two_layer_net.py --rankdir TB -o net_expanded.svg
"""
from pathlib import Path

import numpy as np

import graphgrad as gg
import viz
from graphgrad.models import TwoLayerNet

np.random.seed(0)
net = TwoLayerNet(input_size=4, hidden_size=3, output_size=2, weight_init_std=0.5)
x = np.random.randn(2, 4)  # 2 samples
t = np.array([1, 0])  # their labels

out = gg.softmax_with_loss(net.scores(x), t, fused=False)
out.name = "loss"
out.backward()

if __name__ == "__main__":
    docs = Path(__file__).resolve().parent.parent / "docs"
    for suffix in ("svg", "png"):
        print(viz.render(viz.draw(out, expand=False), docs / f"two_layer_net.{suffix}"))
        expanded = viz.draw(out, rankdir="TB")
        print(viz.render(expanded, docs / f"two_layer_net_expanded.{suffix}"))
