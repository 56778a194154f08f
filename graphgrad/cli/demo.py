"""Run the DLFS apple/orange example, draw it, and train TwoLayerNet briefly on MNIST.

Prints the price and its gradients, writes the graph to ``apple_orange.svg``, then
trains TwoLayerNet 784-50-10 for 600 steps (batch 100, SGD lr 0.1) on the shipped
MNIST images (8,000 train / 2,000 test) with a progress bar and prints the test
accuracy.
"""
import numpy as np

import graphgrad as gg
from ..datasets import load_mnist
from ..models import TwoLayerNet
from ..optim import SGD
from .train import fit

try:
    import viz
except ImportError:  # the drawing package is optional
    viz = None

SVG_PATH = "apple_orange.svg"


def add_parser(parser):
    return parser


def apple_orange():
    """The DLFS shopping example: 2 apples at 100, 3 oranges at 150, tax 1.1."""
    apple, apple_num = gg.tensor(100.0, name="apple"), gg.tensor(2.0, name="apple_num")
    orange, orange_num = gg.tensor(150.0, name="orange"), gg.tensor(3.0, name="orange_num")
    tax = gg.tensor(1.1, name="tax")
    price = (apple * apple_num + orange * orange_num) * tax
    price.name = "price"
    price.backward()
    return price, (apple_num, apple, orange, orange_num, tax)


def train_briefly(iters=600, seed=0):
    """TwoLayerNet on the shipped MNIST split; returns the test accuracy."""
    np.random.seed(seed)
    train, test = load_mnist()
    net = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)
    history = fit(net, SGD(lr=0.1), train, test, iters, batch_size=100,
                  desc="TwoLayerNet on MNIST")
    return history["test_acc"][-1]


def run(args):
    price, leaves = apple_orange()
    print(f"price: {price.item():.4g}")
    for leaf in leaves:
        print(f"d{leaf.name}: {leaf.grad:.4g}")
    if viz is not None:
        viz.render(price, SVG_PATH)
        print(f"wrote {SVG_PATH}")
    print(f"test accuracy: {train_briefly():.4f}")
