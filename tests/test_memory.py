"""Memory: training does not accumulate nodes or tensors, and a graph is freed by
reference counting alone as soon as its output is dropped (no reference cycle, no
global tape) — unless a ``gg.Tape()`` that the user keeps holds it, as documented."""
import gc
import weakref
from collections import Counter
from contextlib import contextmanager

import numpy as np
import pytest

import graphgrad as gg
from graphgrad.models import MultiLayerNet, TwoLayerNet
from graphgrad.node import Node
from graphgrad.optim import SGD

STEPS = 2000
SAMPLED_AT = (100, STEPS)


def batch(seed=0, n=8, inputs=20, classes=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, inputs)), rng.integers(0, classes, size=n)


def live_graph_objects():
    """How many nodes, tensors and scopes are alive, by type (after a full collection)."""
    gc.collect()
    return Counter(type(o).__name__ for o in gc.get_objects()
                   if isinstance(o, (Node, gg.Tensor, gg.Scope)))


def counts_while_training(step):
    counts = []
    for i in range(1, STEPS + 1):
        step()
        if i in SAMPLED_AT:
            counts.append(live_graph_objects())
    return counts


def engine_two_layer_net_step(fused):
    """One SGD step of a 20-10-3 two-layer net written with engine operations."""
    x, t = batch()
    rng = np.random.default_rng(1)
    params = [gg.tensor(0.1 * rng.normal(size=(20, 10)), name="W1"),
              gg.tensor(np.zeros(10), name="b1"),
              gg.tensor(0.1 * rng.normal(size=(10, 3)), name="W2"),
              gg.tensor(np.zeros(3), name="b2")]

    def step():
        W1, b1, W2, b2 = params
        hidden = gg.sigmoid(x @ W1 + b1, fused=fused)
        loss = gg.softmax_with_loss(hidden @ W2 + b2, t, fused=fused)
        loss.backward()
        for p in params:
            p.data -= 0.1 * p.grad
            p.grad = None

    return step


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composite"])
def test_engine_training_does_not_accumulate_objects(fused):
    at_first, at_last = counts_while_training(engine_two_layer_net_step(fused))
    assert at_first == at_last


def test_model_training_does_not_accumulate_objects():
    np.random.seed(0)
    net, optimizer = TwoLayerNet(20, 10, 3), SGD(lr=0.1)
    x, t = batch()
    at_first, at_last = counts_while_training(
        lambda: optimizer.update(net.params, net.gradient(x, t)))
    assert at_first == at_last


# -- freed by reference counting ---------------------------------------------------

@contextmanager
def gc_disabled():
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def weak_graph(out):
    """Weak references to every node of ``out``'s graph and every tensor they made."""
    nodes, stack = set(), [out.creator]
    while stack:
        node = stack.pop()
        if node is not None and node not in nodes:
            nodes.add(node)
            stack.extend(x.creator for x in node.inputs)
    return [weakref.ref(obj) for node in nodes for obj in (node, *node.outputs)]


def scoped(x, t):
    with gg.scope("outer"):
        with gg.scope("inner"):
            h = gg.tanh(x * 2)
        return gg.sum(h * h + x)


def recorded_in_an_exited_tape(x, t):
    with gg.Tape():
        return gg.sum(gg.exp(x) / 3)


def composite_sigmoid(x, t):
    return gg.sum(gg.sigmoid(x, fused=False))


def composite_softmax_with_loss(x, t):
    return gg.softmax_with_loss(x, t, fused=False)


def second_derivative(x, t):
    (g,) = gg.grad(gg.sum(gg.tanh(x) ** 3), x, create_graph=True)
    return gg.sum(g * g)


NET = MultiLayerNet(20, [10], 3, use_batchnorm=True, use_dropout=True)


def nn_layers(x, t):  # Affine, BatchNormalization, Relu, Dropout, SoftmaxWithLoss
    return NET.loss_graph(x, t, train_flg=True)


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "after-backward"])
@pytest.mark.parametrize("build", [scoped, recorded_in_an_exited_tape, composite_sigmoid,
                                   composite_softmax_with_loss, second_derivative, nn_layers])
def test_graph_is_freed_when_its_output_is_dropped(build, backward):
    x, t = batch()
    x = gg.tensor(x, name="x")
    with gc_disabled():
        out = build(x, t)
        if backward:
            out.backward()
        graph = weak_graph(out)
        assert len(graph) > 2
        del out
        alive = [ref() for ref in graph if ref() is not None]
        assert alive == []


def test_a_kept_tape_keeps_its_nodes_until_it_is_dropped():
    x = gg.tensor(np.ones(3), name="x")
    with gc_disabled():
        with gg.Tape() as tape:
            y = gg.sum(gg.exp(x) * x)
        graph = weak_graph(y)
        del y
        assert all(ref() is not None for ref in graph)  # documented: the tape holds them
        assert len(tape.nodes) == 3
        x * 2  # recorded after the tape exited: not kept
        assert len(tape.nodes) == 3
        del tape
        assert all(ref() is None for ref in graph)
