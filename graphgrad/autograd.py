"""The reverse sweep: walk the tape backwards, accumulating gradients.

Each node gets an increasing ``id`` as the forward pass records it, so the tape's
order puts every node after the nodes that made its inputs. The sweep takes the
nodes that lead to the outputs (found with an explicit stack: no recursion, any
depth) and visits them in reverse tape order:

    for node in reversed(tape):               # consumers before producers
        dout = pending.pop(node output)       # complete: all consumers are done
        for x, dx in zip(node.inputs, node.backward(dout)):
            pending[x] += dx                  # a tensor used twice gets both terms

Finding the nodes is linear in nodes and edges; ordering them is one sort by id,
O(n log n): the set that collects them hands them over in no useful order (on a
400,000-node graph of scalar terms, half of all pairs out of order). It is cheap
next to the sweep: on that graph 40 ms of ``reverse_order``'s 150 ms and of
``backward``'s 830 ms. (Listing the nodes in the order the walk visits them sorts
chains and trees in advance but not graphs that reuse values; it measured no faster.)
"""
import operator

import numpy as np

from .backend import get_namespace, shape_of, to_numpy
from .node import check_finite
from .numpy_warnings import keep_first, raise_naming
from .recording import leaf_lock, mode, writes
from .tensor import Tensor

_by_id = operator.attrgetter("id")
_FLOAT_SCALARS = frozenset([np.float64, np.float32, np.float16])
_SCALARS = _FLOAT_SCALARS | {float, int}  # immutable


def reverse_order(roots):
    """The nodes that lead to ``roots``, in reverse tape order (consumers first).
    A tensor that does not require grad is a constant here, whether or not it has
    a creator (``gg.compile`` records the nodes computed from its inputs alone)."""
    nodes = {t.creator for t in roots if t.creator is not None}
    stack = list(nodes)
    while stack:
        node = stack.pop()
        for x in node.inputs:
            creator = x.creator
            if creator is not None and creator not in nodes and x.requires_grad:
                nodes.add(creator)
                stack.append(creator)
    return sorted(nodes, key=_by_id, reverse=True)


def sweep(roots, seeds, retain_graph=False, create_graph=False, wanted=None, order=None):
    """Backpropagate ``seeds`` from ``roots`` through their graph.

    Each tensor's gradient is complete when its creator's turn comes (the leaves':
    at the end). With ``wanted`` (a dict keyed by tensors) the gradients of those
    tensors are put there; without, every tensor of the graph accumulates its
    gradient into ``.grad``. With ``create_graph`` the gradients are tensors and the
    sweep records the graph of its own computation. ``order`` may pass the nodes'
    ``reverse_order``, computed once, to a sweep that runs many times (replay).
    """
    if order is None:
        order = reverse_order(roots)
    keep_first()  # numpy's warnings in a backward: said again naming the node
    last_write = writes.last_write  # no node recorded after it can be affected
    anomaly = mode().anomaly
    for node in order:
        if node.freed:
            _raise_freed(node)
        if node.id < last_write:
            _check_not_rewritten(node)
    if anomaly:
        for node in order:
            _check_snapshots(node)
    pending = {}
    for root, seed in zip(roots, seeds):
        pending[root] = seed if root not in pending else pending[root] + seed
    # ids of arrays put in .grad, and of the seeds (a leaf must not get those)
    stored = {id(seed) for seed in seeds} if wanted is None else None
    owned = set()  # ids of sums this sweep made that only ``pending`` holds
    for node in order:
        out = node._output()
        dout = pending.pop(out)
        if owned:
            owned.discard(id(dout))  # handed on from here: no longer ours alone
        if wanted is None:
            stored.add(id(dout))
            out.grad = dout if out.grad is None else out.grad + dout
        elif out in wanted:
            wanted[out] = dout
        try:
            if create_graph:
                grads = _backward_recorded(node, dout)
            else:
                grads = node.backward(dout)
        except RuntimeWarning as warning:  # numpy's, made an error by a warnings filter
            raise_naming(warning, f"the backward of {node.describe(node.inputs)}")
        if len(node.inputs) == 1:
            grads = (grads,)
        if anomaly:
            for dx in grads:
                check_finite(node, dx, "gradient in backward")
        for x, dx in zip(node.inputs, grads):
            if x.requires_grad:
                pending[x] = dx if x not in pending else _accumulate(pending[x], dx, owned)
        if node.saved and not retain_graph:
            node.free()
    if wanted is None:
        with leaf_lock:  # sweeps in other threads may add into the same leaves
            for x, dx in pending.items():  # the leaves
                _store_leaf(x, dx, stored)
    else:
        for x, dx in pending.items():
            if x in wanted:
                wanted[x] = dx


def _accumulate(total, dx, owned):
    """``total + dx`` for a tensor used more than once. The first sum is a new array,
    which the sweep owns while it waits in ``pending``; later terms are added into it
    in place, saving an allocation and a pass over memory per extra use (a tensor
    used 10 times: 9 arrays → 1)."""
    if id(total) in owned:
        if getattr(dx, "dtype", None) == total.dtype:
            total += dx
            return total
        owned.discard(id(total))  # replaced below: its id may be reused
    total = total + dx
    if type(total) is np.ndarray:
        owned.add(id(total))
    return total


def _backward_recorded(node, dout):
    """``node.backward`` on tensors: saved values swapped for the tensors they came
    from, so the backward computation is itself recorded and differentiable."""
    old = node.swap_saved(node.tensor_saved())
    try:
        return node.backward(dout)
    finally:
        node.swap_saved(old)


def _store_leaf(t, g, stored):
    """Accumulate a leaf's gradient. A leaf's ``.grad`` (a parameter's: what users
    clip, scale and zero in place) is a writable array of its own, in the leaf's
    dtype: copied if the sweep gave the same array to another tensor or took it from
    the seed (``+`` passes its gradient on unchanged), or if it may be a view of
    another array (``transpose`` and ``reshape`` pass views back). An intermediate's
    ``.grad`` may share memory with another intermediate's."""
    kind = type(g)
    if kind is not type(t._data) or (kind not in _SCALARS and g.dtype != t._data.dtype):
        g = _in_dtype_of(t, g)  # (a scalar of the leaf's type has its dtype: no call)
        kind = type(g)
    if kind not in _SCALARS:  # numbers are immutable: shared or not, no copy
        if id(g) in stored or _may_share_memory(g, kind):
            g = g.copy() if kind is np.ndarray else get_namespace(g).asarray(g, copy=True)
        stored.add(id(g))
    t.grad = g if t.grad is None else t.grad + g


def _may_share_memory(g, kind):
    """Whether array ``g`` may be a view of another array: numpy's and CuPy's say so
    (``base``); an array of a library that does not (array-api-strict) may be."""
    if kind is np.ndarray:
        return g.base is not None or not g.flags.writeable
    return getattr(g, "base", g) is not None


def _in_dtype_of(x, g):
    """``g`` cast to the dtype of ``x``'s value, as PyTorch gives a gradient its
    tensor's dtype (a float32 weight times a float64 constant: a float32 gradient)."""
    dtype = getattr(x._data, "dtype", None)
    if dtype is None or isinstance(g, Tensor) or getattr(g, "dtype", dtype) == dtype:
        return g  # (a create_graph result stays as recorded: no cast node)
    return get_namespace(g).astype(g, dtype)


def _check_not_rewritten(node):
    """Refuse a node that a write after its recording makes wrong: a saved input or
    output written (``x.data -= ...``): its backward would silently use the new
    values; an input that ``x[index] = v`` made the output of a newer node since
    (``graphgrad.inplace``): its gradient would go to the new value."""
    for x in node.inputs:
        if x.written_at > node.id and x.creator is not None and x.creator.id > node.id:
            name = x.name or "x"
            _raise_rewritten(node, x, "that it took as an input", (
                f"its gradient would reach the new value ({name}[index] = v made it "
                f"the output of a later node)"))
    saved = [node.inputs[i] for i in node.saved_inputs.values()]
    if node.saved_output is not None:
        saved.append(node._output())
    for x in saved:
        if x.written_at > node.id or writes.written_since(x._data, node.id):
            _raise_rewritten(node, x)


def _check_snapshots(node):
    """Anomaly mode: refuse a node whose saved arrays differ from the copies taken
    in its forward pass (a write into the array itself: ``x.data[0] = v``)."""
    for i, copy in getattr(node, "snapshots", ()):
        x = node._output() if i is None else node.inputs[i]
        if not _same_values(to_numpy(x._data), to_numpy(copy)):
            _raise_rewritten(node, x)


def _same_values(a, b):
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def _raise_rewritten(node, x, role="that it saved", consequence="its gradient would be wrong"):
    name = f"tensor {x.name!r}" if x.name is not None else "a tensor"
    raise RuntimeError(
        f"backward through {node.name} ({node.op}): {name} of shape {x.shape} "
        f"({x.dtype}) {role} was modified in place after the forward pass, so "
        f"{consequence}; run the forward pass again after modifying it")


def _raise_freed(node):
    raise RuntimeError(
        f"backward through {node.describe(node.inputs)} a second time: its saved "
        f"values were freed by the first backward; call the first "
        f"backward(retain_graph=True) to backpropagate twice")


def seed_for(root, grad, caller="backward"):
    """The gradient a sweep starts from: ``grad`` (an array, a number, a list or a
    tensor's value) in ``root``'s dtype, or ones shaped like ``root``. ``caller``
    ("backward" or "grad") opens the error messages."""
    if grad is None and type(root._data) in _FLOAT_SCALARS and root.requires_grad:
        return root._data.dtype.type(1)  # a loss: 0.4 µs (the general path: 1.8 µs)
    xp = get_namespace(root._data)
    if not xp.isdtype(root.dtype, "real floating"):
        raise RuntimeError(
            f"{caller}{_label(root)}: output dtype {root.dtype} (shape {root.shape}) is "
            f"not a float type; only float outputs can be differentiated")
    if not root.requires_grad:
        raise RuntimeError(
            f"{caller}{_label(root)}: the output ({root.dtype}, shape {root.shape}) does "
            f"not require grad (it was made from constants, or under no_grad())")
    if grad is None:
        ones = xp.ones_like(root._data)
        return ones[()] if ones.ndim == 0 else ones  # a scalar stays a numpy scalar
    grad = xp.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.dtype)
    if shape_of(grad) != root.shape:
        raise ValueError(
            f"{caller}{_label(root)}: seed gradient of shape {shape_of(grad)} does not "
            f"match the output's shape {root.shape}")
    return grad


def _label(t):
    return f" of {t.name!r}" if t.name is not None else ""


def backward(root, grad=None, retain_graph=False):
    """Backpropagate from ``root``: every tensor of its graph accumulates ``.grad``."""
    sweep([root], [seed_for(root, grad)], retain_graph)


def grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """Gradients of ``outputs`` with respect to ``inputs``, as a list of Tensors.

    ``.grad`` attributes are left untouched. With ``create_graph=True`` the results
    are part of a graph and can be differentiated again (higher-order derivatives).
    An input the outputs do not depend on gets zeros.

    ``grad_outputs`` seeds the sweep, by the rule ``backward(grad)`` follows: for one
    Tensor output it is that output's seed (an array, a number, a list of numbers);
    for a list of outputs it is a list with one seed per output. None: ones. With
    ``create_graph`` a seed given as a Tensor is part of the recorded graph: the
    results can be differentiated with respect to it (the double-backward trick).
    """
    single = isinstance(outputs, Tensor)
    outputs = [outputs] if single else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    grad_outputs = _seeds_per_output(outputs, grad_outputs, single)
    seeds = [seed_for(out, g, "grad") for out, g in zip(outputs, grad_outputs)]
    if create_graph:  # a seed given as a tensor stays one: v in vᵀJ is differentiable
        seeds = [g if isinstance(g, Tensor) else Tensor(s)
                 for g, s in zip(grad_outputs, seeds)]
    wanted = {x: None for x in inputs}
    retain = create_graph if retain_graph is None else retain_graph
    sweep(outputs, seeds, retain, create_graph, wanted)
    return [_as_tensor(wanted[x], x) for x in inputs]


def _seeds_per_output(outputs, grad_outputs, single):
    """``grad_outputs`` as a list with one seed (or None) per output."""
    if single or grad_outputs is None:
        return [grad_outputs] * len(outputs)
    if not isinstance(grad_outputs, (list, tuple)) or len(grad_outputs) != len(outputs):
        given = len(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else "no list of"
        raise ValueError(
            f"grad: {len(outputs)} outputs but {given} seed{'s' * (given != 1)} in "
            f"grad_outputs; give one seed per output (or one seed for a single Tensor)")
    return list(grad_outputs)


def _as_tensor(g, x):
    if g is None:
        return Tensor(get_namespace(x._data).zeros_like(x._data))
    g = _in_dtype_of(x, g)
    return g if isinstance(g, Tensor) else Tensor(g)
