"""Writing into a tensor: ``x[index] = value``, as the book's ReLU layer does:

```python
out = x.copy()
out[self.mask] = 0
```

Where a gradient flows through the write (``x`` or the value requires grad, in grad
mode; or ``gg.compile`` traces one of them) it is recorded as a ``SetItem`` node,
as PyTorch records it. ``x`` stays the same Python object for the user, but it
becomes the node's output, holding the new value; its previous version moves into a
new tensor that keeps the old creator and is the node's first input:

```text
before:   creator → x
after:    creator → x′ (the old value) → SetItem(index) → x (the new value)
                                value ↗
```

A node recorded before the write that took ``x`` as an input read the previous
version. Those in the value's own graph (``x[0] = x[1] * 2``) are found, and take
the previous version instead; any other would send its gradient to the new
version: the write ticks the clock (``x.written_at``), so that the backward sweep
refuses it (``autograd._check_not_rewritten``).

Elsewhere the value is written into ``x``'s array in place, as ``x.data[index] =
value`` would, and the clock ticks as for ``x.data = ...``: a node that saved ``x``
is refused at backward, and so is one that saved a tensor sharing its memory (a view
of it, or the array it views: ``r = c[:2]; r[0] = 1`` writes into c, as in numpy). That covers a leaf that needs no gradient and any tensor
under ``gg.no_grad()``. A leaf that requires grad is refused in grad mode (its
gradient would be that of a value it no longer holds), as in PyTorch; so is a
step's input or a parameter while ``gg.compile`` records (a replay cannot redo the
write).
"""
import weakref

import numpy as np

from .backend import get_namespace
from .functions import _index_values, setitem as recorded_setitem
from .node import NAMED_ERRORS, describe_operands, named
from .recording import mode, refuse_in_compile, writes
from .tensor import Tensor


def setitem(x, index, value):
    """``x[index] = value``: recorded where a gradient flows through it, else
    written into ``x``'s array; refused for a leaf that requires grad."""
    if x.creator is None:
        _check_leaf(x)
    if _recorded((x, value) if isinstance(value, Tensor) else (x,)):
        _record(x, index, value)
    else:
        _write(x, index, value)


def _check_leaf(x):
    """Refuse a leaf whose gradient is wanted: in grad mode, or while compiling."""
    if x.requires_grad and mode().enabled:
        name = x.name or "x"
        raise RuntimeError(
            f"{name}[index] = v on the leaf tensor {name!r} that requires grad: a leaf "
            f"that requires grad cannot be written in place in grad mode (its gradient "
            f"would be that of a value it no longer holds); write it under `with "
            f"gg.no_grad():`, or into its array: {name}.data[index] = v")
    refuse_in_compile("x[index] = v writes into a step's input or a parameter in place",
                      [x])


def _recorded(tensors):
    """Whether a node on ``tensors`` is recorded (as ``Node.apply`` decides)."""
    current = mode()
    return (current.enabled and any(t.requires_grad for t in tensors)) or any(
        tape.traces(tensors) for tape in current.tapes)


def _record(x, index, value):
    """Record ``SetItem`` on x and make x its output; x's previous version moves into
    a new tensor, the output of x's creator and the node's first input."""
    new = recorded_setitem(x, index, value)
    node = new.creator
    previous = Tensor(x._data, x.requires_grad, None, x.creator)
    previous.written_at, previous.grad, x.grad = x.written_at, x.grad, None
    if isinstance(value, Tensor):
        _read_previous(value, x, previous)
    if x.creator is not None:
        _move_output(x.creator, previous)
    node.inputs = tuple(previous if t is x else t for t in node.inputs)  # x[...] = x too
    _move_output(node, x)
    x._data, x.creator, x.requires_grad = new._data, node, new.requires_grad
    x.written_at = writes.last_write = node.id  # nodes before it that took x: refused


def _read_previous(value, x, previous):
    """Let the nodes of ``value``'s graph that took ``x`` take ``previous``, the
    version they read, instead. Only nodes newer than x's creator can have taken x:
    the walk stops at older ones."""
    oldest = x.creator.id if x.creator is not None else 0
    stack, seen = [value.creator] if value.creator is not None else [], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if any(t is x for t in node.inputs):
            node.inputs = tuple(previous if t is x else t for t in node.inputs)
        stack.extend(t.creator for t in node.inputs
                     if t.creator is not None and t.creator.id > oldest)


def _move_output(node, output):
    """Make ``output`` the output of ``node``, also on the tapes recording now."""
    node._output = weakref.ref(output)
    for tape in mode().tapes:
        tape.replace_output(node, output)


def _write(x, index, value):
    """``x.data[index] = value`` (a numpy scalar, immutable, is replaced), with the
    clock ticked as ``x.data = ...`` ticks it."""
    data = x._data
    v = value._data if isinstance(value, Tensor) else value
    try:
        if isinstance(data, np.generic):
            data = get_namespace(data).setitem(data, _index_values(index), v)
        else:
            data[_index_values(index)] = v
    except NAMED_ERRORS as error:
        raise named(error, f"SetItem ([]=) in place on {describe_operands([x, value])}") \
            from error
    x.data = data
    if not isinstance(data, np.generic):  # views of this memory, and what it views
        writes.wrote_into(data, x.written_at)
