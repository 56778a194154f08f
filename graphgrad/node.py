"""Node: the base class of every primitive operation.

A node follows the layer protocol of "Deep Learning from Scratch": ``forward`` takes
arrays and keeps what ``backward`` will need; ``backward(dout)`` returns the
gradient for each input (one value for a one-input node, a tuple otherwise)::

    m = Mul(); m.forward(100, 2)   # 200
    m.backward(1)                  # (2, 100)

Called on tensors, ``node(x, y)`` runs ``forward`` on their data and, when any input
requires grad, records the node: it keeps its inputs, the output keeps the node as
its ``creator``, and every active ``Tape`` appends it.
"""
import os
import traceback
import weakref

import numpy as np

from .recording import clock, state
from .tensor import Tensor


class Node:
    """One operation in the graph; subclasses define ``op``, ``forward``, ``backward``.

    ``saved`` names the attributes ``forward`` sets for ``backward``: they are freed
    after a sweep (unless ``retain_graph``). ``saved_inputs`` maps those that hold an
    input's value to the input's position, and ``saved_output`` names the one holding
    the output, so that ``create_graph`` can swap in the tensors themselves and the
    same ``backward`` code records a differentiable graph.
    """

    __slots__ = ("inputs", "_output", "scope", "id", "freed", "origin", "__weakref__")
    op = "?"
    saved = ()
    saved_inputs = {}
    saved_output = None

    def __call__(self, *args):
        inputs = tuple([a if isinstance(a, Tensor) else _constant(a) for a in args])
        try:
            y = self.forward(*[t._data for t in inputs])
        except (ValueError, TypeError, IndexError) as error:
            kind = next(k for k in (ValueError, TypeError, IndexError) if isinstance(error, k))
            raise kind(f"{self.describe(inputs)}: {error}") from error
        if state.anomaly:
            self.origin, self.scope = user_frame(), state.scope
            check_finite(self, y, "forward value")
        if state.enabled:
            for t in inputs:
                if t.requires_grad:
                    return self._record(inputs, y)
        return Tensor(y)

    def _record(self, inputs, y):
        """Link the node into the graph: inputs kept, output weakly, tapes told."""
        out = Tensor(y, True)
        out.creator = self
        self.inputs = inputs
        self._output = weakref.ref(out)
        self.scope = state.scope
        self.id = next(clock)
        self.freed = False
        for tape in state.tapes:
            tape.record(self, out)
        return out

    @property
    def outputs(self):
        """The output tensors (one for every graphgrad primitive)."""
        out = self._output()
        return () if out is None else (out,)

    @property
    def name(self):
        return type(self).__name__

    def describe(self, inputs):
        """``Mul (×) on x 'apple' float64 (), float64 (3,)``: the node and its operands."""
        operands = ", ".join(
            f"{'x ' + repr(t.name) + ' ' if t.name is not None else ''}"
            f"{np.result_type(t.data)} {np.shape(t.data)}" for t in inputs)
        return f"{self.name} ({self.op}) on {operands}"

    def free(self):
        """Drop the values saved for backward; a later sweep through here raises."""
        for attr in self.saved:
            if hasattr(self, attr):
                delattr(self, attr)
        self.freed = True

    def swap_saved(self, values):
        """Replace saved values by ``values`` (name -> value); return the old ones."""
        old = {attr: getattr(self, attr) for attr in values}
        for attr, value in values.items():
            setattr(self, attr, value)
        return old

    def tensor_saved(self):
        """The saved attributes that hold an input or the output, as those tensors."""
        values = {attr: self.inputs[i] for attr, i in self.saved_inputs.items()}
        if self.saved_output is not None:
            values[self.saved_output] = self._output()
        return values

    def __repr__(self):
        return f"<{self.name} {self.op!r}>"


def user_frame():
    """``file:line`` of the innermost caller outside graphgrad (where a node was made)."""
    package = os.path.dirname(os.path.abspath(__file__))
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(package):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "unknown"


def check_finite(node, value, what):
    """Raise FloatingPointError if ``value`` holds a NaN or Inf (anomaly mode)."""
    if value is None or np.all(np.isfinite(getattr(value, "data", value))):
        return
    scope = f" in scope {'/'.join(s.name for s in node.scope.path())!r}" if getattr(
        node, "scope", None) else ""
    origin = getattr(node, "origin", "unknown (recorded outside detect_anomaly)")
    raise FloatingPointError(
        f"detect_anomaly: {node.name} ({node.op}){scope} produced a non-finite "
        f"{what}; the node was recorded at {origin}")


def _constant(value):
    """Wrap a non-tensor operand: numbers stay Python scalars (they take the other
    operand's dtype, numpy's rule), lists become float64 arrays."""
    if not isinstance(value, (np.ndarray, np.generic, float, int, bool)):
        value = np.asarray(value, dtype=np.float64)
    return Tensor(value)


def needs_grad(node, i):
    """Whether input ``i`` needs a gradient: always, for a node used standalone."""
    inputs = getattr(node, "inputs", None)
    return inputs is None or inputs[i].requires_grad
