"""Node: the base class of every primitive operation.

A node follows the layer protocol of "Deep Learning from Scratch": ``forward`` takes
arrays and keeps what ``backward`` will need; ``backward(dout)`` returns the
gradient for each input (one value for a one-input node, a tuple otherwise):

```python
m = Mul(); m.forward(100, 2)   # 200
m.backward(1)                  # (2, 100)
```

Called on tensors, ``node(x, y)`` runs ``forward`` on their data and, when any input
requires grad, records the node: it keeps its inputs, the output keeps the node as
its ``creator``, and every active ``Tape`` appends it. A bad operand raises one
error naming the node and its operands; a numpy warning from ``forward`` is said
again naming them, at the caller's line (``graphgrad.numpy_warnings``).
"""
import os
import traceback
import weakref

import numpy as np

from .backend import device_of, get_namespace, is_array
from .numpy_warnings import raise_naming
from .recording import clock, mode
from .rules import parse
from .tensor import Tensor


class Node:
    """One operation in the graph; subclasses define ``op``, ``forward``, ``backward``.

    ``saved`` names the attributes ``forward`` sets for ``backward``: they are freed
    after a sweep (unless ``retain_graph``). ``saved_inputs`` maps those that hold an
    input's value to the input's position, and ``saved_output`` names the one holding
    the output, so that ``create_graph`` can swap in the tensors themselves and the
    same ``backward`` code records a differentiable graph.
    """

    __slots__ = ("inputs", "_output", "scope", "id", "freed", "origin", "snapshots",
                 "__weakref__")
    op = "?"
    saved = ()
    saved_inputs = {}
    saved_output = None

    def apply(self, *inputs):
        """Run ``forward`` on the inputs' values and, when one needs a gradient, record
        the node. ``node(x, y)`` is the same: operators call ``apply``, ~60 ns quicker
        than calling an instance."""
        # The hottest code of the engine: one call per operation of every forward pass,
        # kept to straight-line code (each extra Python call costs ~0.1 µs, a tenth of
        # a scalar node's whole budget; see benchmarks/scalar_graph.py).
        try:
            n = len(inputs)
            if n == 2 and type(inputs[0]) is Tensor is type(inputs[1]):
                a, b = inputs[0]._data, inputs[1]._data
                if type(a) is not type(b):  # a Python number, or another device
                    check_same_device(self, inputs)
                y = self.forward(a, b)
            elif n == 1 and type(inputs[0]) is Tensor:
                y = self.forward(inputs[0]._data)
            else:  # constants to wrap, devices to check, or more inputs
                inputs = _as_tensors(inputs)
                data = [t._data for t in inputs]
                if len(data) > 2 or type(data[0]) is not type(data[-1]):
                    check_same_device(self, inputs)
                y = self.forward(*data)
        except NAMED_ERRORS as error:
            raise named(error, self.describe(inputs)) from error
        except RuntimeWarning as warning:  # numpy's, made an error by a warnings filter
            raise_naming(warning, self.describe(inputs))
        current = mode()  # this thread's (or task's) switches
        if current.anomaly:
            self.origin, self.scope = user_frame(), current.scope
            check_finite(self, y, "forward value")
            self.snapshots = snapshot_saved(self, inputs, y)
        for t in inputs:
            if t.requires_grad and current.enabled:
                out = Tensor(y, True, None, self)
                break
        else:  # no input needs a gradient (or grad mode is off): nothing to record
            if not current.tapes or not _traced(current.tapes, inputs):
                return Tensor(y)
            out = Tensor(y, False, None, self)  # recorded for a replay to recompute
        # record: inputs kept, the output weakly (no cycle), every active tape told
        self.inputs = inputs
        self._output = weakref.ref(out)
        self.scope = current.scope
        self.id = next(clock)
        self.freed = False
        for tape in current.tapes:
            tape.record(self, out)
        return out

    __call__ = apply

    @property
    def outputs(self):
        """The output tensors (one for every graphgrad primitive)."""
        out = self._output()
        return () if out is None else (out,)

    @property
    def name(self):
        return type(self).__name__

    @classmethod
    def rule(cls):
        """The local chain rule this class states in its docstring, as a ``Rule``."""
        return parse(cls.__doc__)

    def describe(self, inputs):
        """``Mul (×) on x 'apple' float64 (), float64 (3,)``: the node and its operands."""
        return f"{self.name} ({self.op}) on {describe_operands(inputs)}"

    def free(self):
        """Drop the values saved for backward; a later sweep through here raises. (A
        node that saves nothing is never freed: sweeping it again is harmless.)"""
        for attr in self.saved:
            try:
                delattr(self, attr)
            except AttributeError:  # a value this forward did not need to save
                pass
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

    def kinks(self, *inputs):
        """Where the node is not differentiable, for its input values ``inputs``: None
        for a node smooth everywhere; else an array of signed distances d whose sign
        tells the piece of the function each element is on (relu: d = x, a kink at
        0). A central difference whose x ± h change the sign of some d stepped across
        a kink (``graphgrad.testing.kinks``)."""
        return None

    def __repr__(self):
        return f"<{self.name} {self.op!r}>"


# raised again naming the node (FloatingPointError: numpy's, under np.errstate "raise")
NAMED_ERRORS = (ValueError, TypeError, IndexError, FloatingPointError)


def named(error, description):
    """A new error of ``error``'s kind (one of ``NAMED_ERRORS``) whose message is
    ``description: `` and then ``error``'s."""
    kind = next(k for k in NAMED_ERRORS if isinstance(error, k))
    return kind(f"{description}: {error}")


def _traced(tapes, inputs):
    """Whether a tape that traces (``gg.compile`` recording) needs this node."""
    return any(tape.traces(inputs) for tape in tapes)


def user_frame():
    """``file:line`` of the innermost caller outside graphgrad (where a node was made)."""
    package = os.path.dirname(os.path.abspath(__file__))
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(package):
            return f"{frame.filename}:{frame.lineno} in {frame.name}: {frame.line}"
    return "unknown"


def snapshot_saved(node, inputs, y):
    """Copies of the arrays ``node`` saved of its inputs (by position) and output
    (position None), taken in anomaly mode: backward compares them with the arrays,
    so a write into one (``x.data[...] = v``, ``out=x.data``) is caught."""
    values = [(i, inputs[i]._data) for i in node.saved_inputs.values()]
    if node.saved_output is not None:
        values.append((None, y))
    return [(i, get_namespace(v).asarray(v, copy=True)) for i, v in values
            if is_array(v) and not isinstance(v, np.generic)]  # numpy scalars: immutable


def constant_unless_float(out):
    """``out``, made a constant (``requires_grad`` False) where its dtype is an
    integer or boolean one. Such a value is a step function of the node's inputs (a
    cast rounds, a write into an integer array truncates): ∂out/∂x = 0 wherever it
    exists, so no gradient flows back through it, as in PyTorch. Its node stays
    recorded where it was: a tape that traces (``gg.compile``) replays it, and the
    nodes computed from it, as ``Tape.record`` does for any constant output."""
    if out.requires_grad and not get_namespace(out._data).isdtype(
            out.dtype, "real floating"):
        out.requires_grad = False
        for tape in mode().tapes:
            if tape.traced is not None:
                tape.traced.add(id(out))
    return out


def check_finite(node, value, what):
    """Raise FloatingPointError if ``value`` holds a NaN or Inf (anomaly mode)."""
    value = getattr(value, "data", value)
    if value is None or get_namespace(value).all(get_namespace(value).isfinite(value)):
        return
    scope = f" in scope {'/'.join(s.name for s in node.scope.path())!r}" if getattr(
        node, "scope", None) else ""
    origin = getattr(node, "origin", "unknown (recorded outside detect_anomaly)")
    raise FloatingPointError(
        f"detect_anomaly: {node.name} ({node.op}){scope} produced a non-finite "
        f"{what}; the node was recorded at {origin}")


def check_same_device(node, inputs):
    """Raise RuntimeError when the inputs' values live on different devices. Python
    numbers go with any device; numpy values, scalars included, are on the CPU."""
    kinds = {type(t._data) for t in inputs} - _PYTHON_NUMBERS
    if len(kinds) < 2:  # the usual case: one array type, and numbers
        return
    devices = {device_of(t._data) for t in inputs if type(t._data) not in _PYTHON_NUMBERS}
    if len(devices) > 1:
        raise RuntimeError(
            f"{node.describe(inputs)}: inputs are on different devices "
            f"({' and '.join(sorted(devices))}); move them to one with .to(device)")


_PYTHON_NUMBERS = frozenset([float, int, bool])


def describe_operands(values):
    """``x 'apple' float64 (), float64 (3,)``: each operand's name (if it has one),
    dtype and shape; ``values`` are tensors or the raw operands a user passed."""
    return ", ".join(_describe_operand(v) for v in values)


def _describe_operand(value):
    name = getattr(value, "name", None) if isinstance(value, Tensor) else None
    data = value._data if isinstance(value, Tensor) else value
    if is_array(data) and device_of(data) != "cpu":  # no numpy view of it
        named = f"x {name!r} " if name is not None else ""
        return f"{named}{data.dtype} {tuple(data.shape)} on {device_of(data)}"
    try:
        array = np.asarray(data)
    except ValueError:  # a ragged nested list
        return f"ragged {type(data).__name__}"
    return f"{'x ' + repr(name) + ' ' if name is not None else ''}{array.dtype} {array.shape}"


def _as_tensors(values):
    """The operands as a tuple of tensors (numbers and arrays wrapped as constants)."""
    return tuple([v if isinstance(v, Tensor) else _constant(v) for v in values])


def _constant(value):
    """Wrap a non-tensor operand: numbers stay Python scalars (they take the other
    operand's dtype, numpy's rule), lists become float64 arrays. Complex, string and
    object operands raise TypeError (as ``gg.tensor`` does)."""
    if isinstance(value, (float, int)):  # bool is an int
        return Tensor(value)
    if not isinstance(value, (np.ndarray, np.generic)) and is_array(value):
        if not get_namespace(value).isdtype(value.dtype, ("real floating", "integral", "bool")):
            raise TypeError(f"operand of dtype {value.dtype} is not a real number type")
        return Tensor(value)  # an array of another device
    if not isinstance(value, (np.ndarray, np.generic)):
        value = np.asarray(value)
        if value.dtype.kind in "iub":
            value = value.astype(np.float64)
    if value.dtype.kind not in "fiub":
        raise TypeError(f"operand of dtype {value.dtype} is not a real number type")
    return Tensor(value)


def needs_grad(node, i):
    """Whether input ``i`` needs a gradient: always, for a node used standalone."""
    inputs = getattr(node, "inputs", None)
    return inputs is None or inputs[i].requires_grad
