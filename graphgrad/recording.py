"""What the forward pass records, and where: grad mode, tapes and scopes.

Four switches decide what happens when a node runs on tensors:

* ``no_grad()`` switches recording off (inference, optimizer updates);
* every active ``Tape()`` appends the node to its ``nodes`` list;
* the innermost ``scope(name)`` labels the node, so tools can group the nodes of one
  composite call (a composite sigmoid, a layer) and draw them as a cluster;
* ``detect_anomaly()`` checks every value.

They belong to the thread, and to the asyncio task, that sets them (a ``Mode`` held
in a ``contextvars.ContextVar``, as PyTorch keeps grad mode per thread): ``no_grad``
in one thread leaves another recording, and a new thread starts with grad enabled,
no tape, no scope and no anomaly checks. Tensors, their ``.grad`` and the node clock
are shared by all threads.
"""
import bisect
import contextvars
import itertools
import operator
import threading
import weakref
from contextlib import contextmanager

from .numpy_warnings import keep_first


class Mode:
    """The recording switches of one thread or task, read by ``Node.apply`` on every
    operation. Never changed in place: a context manager sets a changed copy for its
    block, so the copies other threads and tasks hold stay as they are."""

    __slots__ = ("enabled", "tapes", "scope", "anomaly")

    def __init__(self, enabled=True, tapes=(), scope=None, anomaly=False):
        self.enabled = enabled  # record nodes for backward
        self.tapes = tapes  # active Tape objects, outermost first
        self.scope = scope  # innermost active Scope
        self.anomaly = anomaly  # check every value and gradient for NaN/Inf

    def but(self, **changes):
        """A copy with ``changes``."""
        values = {name: getattr(self, name) for name in self.__slots__}
        return Mode(**{**values, **changes})

    def in_scope(self, scope):
        """A copy with ``scope`` (entered on every layer call: the fast way)."""
        return Mode(self.enabled, self.tapes, scope, self.anomaly)


_mode = contextvars.ContextVar("graphgrad_mode", default=Mode())
mode = _mode.get  # the current thread's (or task's) Mode: ~40 ns, once per operation


class _Writes:
    """Process-wide: the tick of the latest write to any ``Tensor.data``, and of the
    latest ``x[index] = v`` written in place into each array's memory (keyed by the
    array that owns it, so that a write through a view and a write through the
    array it views are one: ``written_since``)."""

    last_write = 0
    KEEP = 64  # entries kept before the dead ones are dropped

    def __init__(self):
        self.memory = {}  # id(owner array) -> (weak reference to it, tick)

    def wrote_into(self, array, tick):
        """Note a write at ``tick`` into ``array``'s memory."""
        owner = owner_of(array)
        if len(self.memory) >= self.KEEP:
            self.memory = {k: v for k, v in self.memory.items() if v[0]() is not None}
        self.memory[id(owner)] = (weakref.ref(owner), tick)

    def written_since(self, array, tick):
        """Whether ``x[index] = v`` wrote into ``array``'s memory after ``tick``."""
        if not self.memory:
            return False
        owner = owner_of(array)
        ref, written = self.memory.get(id(owner), (None, 0))
        return written > tick and ref() is owner


def owner_of(array):
    """The array that owns ``array``'s memory: itself, or the array it is a view of."""
    while getattr(getattr(array, "base", None), "shape", None) is not None:
        array = array.base
    return array


writes = _Writes()

# One clock orders both recordings (a node's id) and writes to ``Tensor.data``: a
# tensor written after a node that saved it was recorded has a later tick than the
# node's id, which is how backward notices a saved value was modified in place.
# (``next`` on it is atomic under the GIL, so ids stay unique across threads.)
clock = itertools.count(1)

# Accumulation into a leaf's .grad (read, add, store) from sweeps running in several
# threads at once: without it, two terms arriving together could leave only one.
leaf_lock = threading.Lock()


@contextmanager
def _set(**changes):
    """The current mode with ``changes`` for the block (this thread or task only)."""
    token = _mode.set(mode().but(**changes))
    try:
        yield
    finally:
        _mode.reset(token)


def no_grad():
    """Run operations without recording them: outputs have no creator, no grad."""
    return _set(enabled=False)


def detect_anomaly():
    """Raise ``FloatingPointError`` at the first NaN or Inf a node produces, in the
    forward pass or in backward, naming the node (op, scope) and the line of user
    code that recorded it. Each value is checked, so this is slow: for debugging.

    Each node also keeps a copy of the arrays it saved for backward, and a backward
    run in this mode raises RuntimeError if one was written in place since
    (``x.data[0] = v``, ``out=x.data``), which numpy cannot report otherwise."""
    return _set(anomaly=True)


def is_grad_enabled():
    """True when operations on tensors that require grad are recorded."""
    return mode().enabled


def refuse_in_compile(what, tensors=None):
    """Raise RuntimeError while ``gg.compile`` records, where ``what`` cannot be
    replayed: a Python side effect (``tensors`` None), or a use of the values of
    ``tensors`` when one of them changes from call to call (it is traced)."""
    for tape in mode().tapes:
        if tape.traced is not None and (tensors is None or tape.traces(tensors)):
            raise RuntimeError(
                f"compile: {what}, which a replay cannot redo (it reruns the recorded "
                f"nodes only); call this step without gg.compile")


def guard(read):
    """While ``gg.compile`` records: ``read()`` returns arrays read from outside the
    graph (a layer's running statistics), which went into the recording as
    constants. Copies of them are kept; a compiled step reads them again before each
    replay and records anew when they differ."""
    tapes = [tape for tape in mode().tapes if tape.traced is not None]
    if tapes:
        values = [array.copy() for array in read()]
        for tape in tapes:
            tape.guards.append((read, values))


class Scope:
    """A named group of nodes, one per ``scope(...)`` entry; nested scopes form a tree."""

    __slots__ = ("name", "parent", "id")
    _ids = itertools.count()

    def __init__(self, name, parent):
        self.name = name
        self.parent = parent
        self.id = next(Scope._ids)

    def path(self):
        """Scopes from the outermost to this one."""
        chain = []
        scope = self
        while scope is not None:
            chain.append(scope)
            scope = scope.parent
        return chain[::-1]

    def __repr__(self):
        return f"Scope({'/'.join(s.name for s in self.path())!r})"


class scope:
    """Label every node recorded inside with a fresh ``Scope(name)``.

    ```python
    with scope("sigmoid"):
        y = 1 / (1 + exp(-x))      # the four nodes share one scope
    ```

    (A class rather than a ``@contextmanager``: every layer call enters one, and a
    generator-based context costs ~2 µs, four times this.)
    """

    def __init__(self, name):
        self.name = str(name)
        self.tokens = []  # a stack, should one object be reentered

    def __enter__(self):
        current = mode()
        inner = Scope(self.name, current.scope)
        self.tokens.append(_mode.set(current.in_scope(inner)))
        return inner

    def __exit__(self, *exc):
        _mode.reset(self.tokens.pop())
        return False


_by_id = operator.attrgetter("id")


class Tape:
    """Context that records every node run inside it, in execution order.

    ``tape.nodes`` is the forward order; ``reversed(tape.nodes)`` is the order in
    which ``backward`` visits them. The tape also keeps the nodes' outputs alive, so
    a drawing of the tape can show every forward value.

    ``trace``: tensors whose values will change (the inputs of a compiled step).
    Every node computed from them is recorded too, even where nothing needs a
    gradient or grad mode is off (its output then has a ``creator`` but
    ``requires_grad=False``), so that a replay recomputes everything they feed.
    """

    def __init__(self, trace=None):
        self.nodes = []
        self.outputs = []
        self.traced = None if trace is None else {id(t) for t in trace}
        self.guards = []  # see ``guard``

    def __enter__(self):
        keep_first()  # numpy's warnings inside: said again naming the node
        current = mode()
        self.token = _mode.set(current.but(tapes=current.tapes + (self,)))
        return self

    def __exit__(self, *exc):
        _mode.reset(self.token)
        return False

    def record(self, node, output):
        self.nodes.append(node)
        self.outputs.append(output)
        if self.traced is not None and not output.requires_grad:
            self.traced.add(id(output))  # alive as long as the tape: ids stay unique

    def replace_output(self, node, output):
        """Keep ``output`` as ``node``'s output from now on, if ``node`` is on this
        tape (``x[index] = v`` moves x's previous version into a new tensor: see
        ``graphgrad.inplace``). Nodes are on the tape in id order: a binary search."""
        i = bisect.bisect_left(self.nodes, node.id, key=_by_id)
        if i == len(self.nodes) or self.nodes[i] is not node:
            return
        if self.traced is not None and id(self.outputs[i]) in self.traced:
            self.traced.discard(id(self.outputs[i]))
            self.traced.add(id(output))
        self.outputs[i] = output

    def traces(self, inputs):
        """Whether a node on ``inputs`` must be recorded for this tape although no
        input needs a gradient now: one of them is traced, or would be recorded in
        grad mode (a parameter used under ``no_grad``)."""
        return self.traced is not None and any(
            t.requires_grad or id(t) in self.traced for t in inputs)

    def __len__(self):
        return len(self.nodes)

    def __repr__(self):
        return f"<Tape: {len(self.nodes)} nodes>"
