"""Tape replay: record a step's graph once, then rerun it on new data.

Building the graph costs Python work per node on every step. A training step builds
the same graph each time, so ``gg.compile(fn)`` records it on the first call and
afterwards only reruns each node's ``forward`` (in tape order) and ``backward``
(in reverse) on the new input arrays:

    step = gg.compile(lambda x, t: gg.softmax_with_loss(gg.relu(x @ W1 + b1) @ W2 + b2, t))
    for x, t in batches:
        loss = step(x, t)            # forward + backward; W1.grad ... accumulate
        for p in (W1, b1, W2, b2):
            p.data -= lr * p.grad
            p.grad = None

What is replayed is what was recorded: the same operations on arrays of the same
shapes and dtypes (anything else is refused). The inputs are arrays, or tensors that
need no gradient: a step computes none for its inputs, so one that requires grad is
refused (TypeError) rather than left without ``.grad``. Every node computed from the step's
inputs is recorded, also where nothing needs a gradient (``x / 255``,
``x.reshape(...)``, labels turned into one-hot rows), so each call recomputes all
that depends on its inputs. What a replay cannot redo is refused while recording,
with a RuntimeError: reading ``.data`` or ``.numpy()`` of a tensor whose value
changes from call to call, an index tensor computed from the inputs, and layers with
side effects (Dropout's new mask, BatchNormalization's running statistics, in
training). Values read from outside the graph that may change between calls
(BatchNormalization's running statistics, in test mode) are checked before each
replay: when they changed, the step is recorded anew. Python control flow inside
``fn`` and values made inside it from nothing that changes (a random number) are
frozen at recording, and so are the parameters themselves: the replay reads the
tensors the recording used, so update their values (``W.data -= ...``, or
``W.data = new``), not the names that hold them (``net.W = gg.tensor(...)`` is not
seen: compile the step again).
"""
import weakref

from .autograd import reverse_order, seed_for, sweep
from .backend import get_namespace, shape_of
from .node import check_finite, snapshot_saved
from .numpy_warnings import keep_first
from .recording import Tape, clock, mode
from .tensor import Tensor, tensor


class CompiledStep:
    """``fn`` recorded on its first call, replayed on later calls."""

    def __init__(self, fn):
        self.fn = fn
        self.placeholders = None  # the input tensors the tape reads
        self.tape = None
        self.out = None
        self.order = None  # the backward sweep's node order

    def __call__(self, *args):
        if self.tape is None or self.tape.guards and not _guards_hold(self.tape):
            return self._record(args)
        self._check(args)
        # forward again: new values are written under the hood (``_data``), not as
        # in-place modifications, since every node re-saves what it reads
        for i, (placeholder, value) in enumerate(zip(self.placeholders, args)):
            placeholder._data = _data(value, i)
        keep_first()  # numpy's warnings in a forward: said again naming the node
        anomaly = mode().anomaly
        for node, out in zip(self.tape.nodes, self.tape.outputs):
            out._data = node.forward(*[x._data for x in node.inputs])
            out.grad = None
            node.id = next(clock)  # recorded anew: writes before now are forgotten
            node.freed = False
            if anomaly:  # as Node.apply does: the value checked, saved arrays copied
                check_finite(node, out._data, "forward value")
                node.snapshots = snapshot_saved(node, node.inputs, out._data)
        return self._backward()

    def _record(self, args):
        self.placeholders = [tensor(_data(a, i), requires_grad=False)
                             for i, a in enumerate(args)]
        with Tape(trace=self.placeholders) as self.tape:
            self.out = self.fn(*self.placeholders)
        if not isinstance(self.out, Tensor) or not self.out.requires_grad:
            raise TypeError("compile: the function must return a Tensor computed from "
                            "tensors that require grad")
        self.order = reverse_order([self.out])
        return self._backward()

    def _backward(self):
        """Backpropagate from this call's result (see ``_result``); return it."""
        result = self._result()
        # saved values are freed as the sweep passes (the next forward saves new
        # ones): the memory is reused at once, as in a graph built anew each step
        sweep([result], [seed_for(result, None)], order=self.order)
        return result

    def _result(self):
        """The output's value in a new tensor per call, made its creator's output (the
        root of the sweep): a result kept from an earlier call keeps its value and
        gradient, as ``fn``'s results do. (The tape's own output tensor, which later
        nodes may read, is rewritten by every replay.)"""
        out = self.out
        if out.creator is None:  # fn returned a leaf (a parameter): nothing recomputed
            return out
        result = Tensor(out._data, True, out.name, out.creator)
        out.creator._output = weakref.ref(result)
        return result

    def _check(self, args):
        if len(args) != len(self.placeholders):
            raise TypeError(f"compiled step: recorded with {len(self.placeholders)} "
                            f"inputs, called with {len(args)}")
        for i, (placeholder, value) in enumerate(zip(self.placeholders, args)):
            value = _data(value, i)
            recorded = (placeholder.shape, placeholder.dtype)
            given = (getattr(value, "shape", ()), getattr(value, "dtype", None))
            if given != recorded:
                raise ValueError(
                    f"compiled step: input {i} has shape {given[0]} and dtype {given[1]}, "
                    f"but the step was recorded with shape {recorded[0]} and dtype "
                    f"{recorded[1]}; compile again for new shapes")


def compile(fn):
    """Record ``fn``'s graph on the first call; replay forward + backward after."""
    return CompiledStep(fn)


def _guards_hold(tape):
    """Whether every value read from outside the graph while ``tape`` recorded
    (``recording.guard``) is as it was then."""
    return all(len(now) == len(then) and all(_equal(a, b) for a, b in zip(now, then))
               for now, then in ((read(), values) for read, values in tape.guards))


def _equal(a, b):
    return shape_of(a) == shape_of(b) and bool(get_namespace(a).all(a == b))


def _data(value, i):
    """The value of input ``i``. A tensor that requires grad is refused: the tape
    reads the inputs' arrays, so its ``.grad`` would silently stay unset."""
    if not isinstance(value, Tensor):
        return value
    if value.requires_grad:
        raise TypeError(
            f"compiled step: input {i} is a tensor that requires grad, but a compiled "
            f"step computes no gradient for its inputs; pass its array (or a tensor "
            f"with requires_grad=False), or call the step without gg.compile")
    return value.data
