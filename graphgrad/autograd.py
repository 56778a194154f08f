"""The reverse sweep: walk the recorded nodes backwards, accumulating gradients.

Nodes get increasing positions as the forward pass records them, so every node comes
after the nodes that made its inputs. The sweep visits the nodes that lead to the
outputs in the reverse of that order, with an explicit stack (no recursion, any
depth) in time linear in the number of nodes and edges:

    for node in reversed(tape):               # consumers before producers
        dout = pending.pop(node output)       # complete: all consumers are done
        for x, dx in zip(node.inputs, node.backward(dout)):
            pending[x] += dx                  # a tensor used twice gets both terms
"""
import numpy as np

from .tensor import Tensor


def reverse_order(roots):
    """The nodes that lead to ``roots``, each before the nodes that made its inputs.

    An iterative depth-first search: a node is emitted once all nodes it depends on
    have been, which is the forward (recording) order of this subgraph; reversed, it
    is the order of the sweep.
    """
    forward, opened, done = [], set(), set()
    stack = [t.creator for t in roots if t.creator is not None]
    while stack:
        node = stack[-1]
        if node in opened:
            stack.pop()
            if node not in done:
                done.add(node)
                forward.append(node)
            continue
        opened.add(node)
        for x in node.inputs:
            if x.creator is not None and x.creator not in opened:
                stack.append(x.creator)
    forward.reverse()
    return forward


def sweep(roots, seeds, retain_graph=False, create_graph=False):
    """Yield ``(tensor, gradient)`` for every tensor of the graph of ``roots``.

    Each tensor is yielded once, when its gradient is complete: a node's output just
    before the node's ``backward`` runs, the leaves at the end. With ``create_graph``
    the gradients are tensors and the sweep records the graph of its own computation.
    """
    order = reverse_order(roots)
    _check_not_freed(order)
    pending = {}
    for root, seed in zip(roots, seeds):
        _accumulate(pending, root, seed)
    for node in order:
        out = node._output()
        dout = pending.pop(out)
        yield out, dout
        grads = _backward(node, dout, create_graph)
        for x, dx in zip(node.inputs, grads):
            if x.requires_grad:
                _accumulate(pending, x, dx)
        if not retain_graph:
            node.free()
    yield from pending.items()


def _backward(node, dout, create_graph):
    """The node's input gradients as a tuple."""
    if create_graph:
        old = node.swap_saved(node.tensor_saved())
        try:
            grads = node.backward(dout)
        finally:
            node.swap_saved(old)
    else:
        grads = node.backward(dout)
    return (grads,) if len(node.inputs) == 1 else grads


def _accumulate(pending, x, dx):
    previous = pending.get(x)
    pending[x] = dx if previous is None else previous + dx


def _check_not_freed(order):
    for node in order:
        if node.freed:
            raise RuntimeError(
                f"backward through {node.name} ({node.op}) a second time: its saved "
                f"values were freed by the first backward; call the first "
                f"backward(retain_graph=True) to backpropagate twice")


def seed_for(root, grad):
    """The gradient a sweep starts from: ``grad``, or ones shaped like ``root``."""
    kind = root.dtype.kind
    if kind != "f":
        raise RuntimeError(
            f"backward{_label(root)}: output dtype {root.dtype} is not a float type; "
            f"only float outputs can be differentiated")
    if not root.requires_grad:
        raise RuntimeError(
            f"backward{_label(root)}: this tensor does not require grad (it was made "
            f"from constants, or under no_grad())")
    if grad is None:
        return np.ones_like(root.data)
    grad = grad.data if isinstance(grad, Tensor) else np.asarray(grad, dtype=root.dtype)
    if np.shape(grad) != root.shape:
        raise ValueError(
            f"backward{_label(root)}: seed gradient of shape {np.shape(grad)} does not "
            f"match the output's shape {root.shape}")
    return grad


def _label(t):
    return f" of {t.name!r}" if t.name is not None else ""


def backward(root, grad=None, retain_graph=False):
    """Backpropagate from ``root``: every tensor of its graph accumulates ``.grad``.

    Gradients stored in ``.grad`` are writable arrays never shared between two
    tensors of one sweep (a gradient passed on unchanged, as ``+`` does, is copied).
    """
    stored = set()
    for t, g in sweep([root], [seed_for(root, grad)], retain_graph):
        if isinstance(g, np.ndarray) and (not g.flags.writeable or id(g) in stored):
            g = g.copy()
        if t.grad is None:
            t.grad = g
            stored.add(id(g))
        else:
            t.grad = t.grad + g


def grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """Gradients of ``outputs`` with respect to ``inputs``, as a list of Tensors.

    ``.grad`` attributes are left untouched. With ``create_graph=True`` the results
    are part of a graph and can be differentiated again (higher-order derivatives).
    An input the outputs do not depend on gets zeros.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs] * len(outputs)
    seeds = [seed_for(out, g) for out, g in zip(outputs, grad_outputs)]
    if create_graph:
        seeds = [Tensor(s) for s in seeds]
    wanted = {x: None for x in inputs}
    retain = create_graph if retain_graph is None else retain_graph
    for t, g in sweep(outputs, seeds, retain, create_graph):
        if t in wanted:
            wanted[t] = g
    return [_as_tensor(wanted[x], x) for x in inputs]


def _as_tensor(g, x):
    if g is None:
        return Tensor(np.zeros_like(x.data))
    return g if isinstance(g, Tensor) else Tensor(g)
