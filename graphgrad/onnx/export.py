"""``export``: record a function on example inputs and write the graph as ONNX.

The recording is a ``gg.Tape`` that traces the inputs, as ``gg.compile`` records a
step: every node computed from them is kept, also where nothing needs a gradient,
so the model recomputes all that depends on its inputs. Parameters (tensors that
require grad and are not inputs) become named initializers; other values the graph
did not compute become ``Constant`` nodes. With ``gradients=True`` the backward pass
is recorded too (``gg.grad(..., create_graph=True)``, in a scope "backward") and its
nodes are written like the others.
"""
import numpy as np
import onnx

from ..autograd import grad
from ..backend import to_numpy
from ..recording import Tape, scope
from ..tensor import Tensor, tensor
from ..serialization import atomic_writer
from .builder import Builder, check_opset
from .ops import BACKWARD_PROBLEMS, SAVED, UnsupportedOperationError, describe, lookup
from .scopes import scope_labels


def export(fn, example_inputs, path, *, input_names=None, output_names=None,
           gradients=False, opset=17):
    """Record ``fn(*example_inputs)`` and write it to ``path`` as an ONNX model.

    ``example_inputs``: a tuple of arrays, numbers or tensors; each becomes a graph
    input of its shape and dtype (integer labels included): shapes are fixed at the
    examples'. A tensor that requires
    grad is an input whose gradient ``gradients=True`` exports. ``fn`` returns a
    Tensor or a tuple of them: the graph's outputs. Names: ``input_names`` /
    ``output_names``, else the tensors' names, else ``input_<i>`` / ``output``
    (``output_<i>`` for several). With ``gradients=True`` the (single, scalar) output
    is followed by ``grad_<name>`` for every input and parameter that requires grad.

    Returns the ``onnx.ModelProto`` written (checked by ``onnx.checker``). Raises
    ``UnsupportedOperationError`` naming a node that has no ONNX form.
    """
    check_opset(opset)
    inputs = [x if isinstance(x, Tensor) else tensor(x, requires_grad=False)
              for x in example_inputs]
    recording = Recording(fn, inputs, gradients)
    model = Writer(recording, opset).model(
        _names(input_names, inputs, "input"), _names(output_names, recording.outputs, "output"))
    onnx.checker.check_model(model)
    with atomic_writer(path) as file:
        file.write(model.SerializeToString())
    return model


class Recording:
    """``fn`` recorded on ``inputs``: the tape, the outputs, and with ``gradients``
    the tensors differentiated (``wrt``) and their recorded gradients (``grads``)."""

    def __init__(self, fn, inputs, gradients):
        self.inputs = inputs
        # a traced 1 that the loss is multiplied by before backward: the sweep's seed
        # then flows through recorded nodes only, so no step of the backward pass is
        # computed once as a constant (``seed · mask`` would keep the example's mask)
        self.one = Tensor(1)
        with Tape(trace=[*inputs, self.one]) as self.tape:
            self.outputs = _outputs(self._call(fn))
            self.wrt, self.grads = [], []
            if gradients:
                self.record_gradients()
        self.nodes = self.needed(self.outputs + self.grads)

    def _call(self, fn):
        try:
            return fn(*self.inputs)
        except RuntimeError as error:
            if not str(error).startswith("compile:"):
                raise
            raise RuntimeError(f"onnx.export records fn as a fixed graph, as gg.compile "
                               f"does: {error}") from error

    def record_gradients(self):
        """Record the backward pass of the scalar output for every input and
        parameter that requires grad."""
        if len(self.outputs) != 1 or self.outputs[0].shape != ():
            shapes = ", ".join(str(out.shape) for out in self.outputs)
            raise ValueError(f"onnx.export: gradients=True needs fn to return one scalar "
                             f"(a loss), not outputs of shapes {shapes}")
        loss = self.outputs[0]
        nodes = self.needed([loss])
        for node in nodes:
            self.check_backward(node)
            _own_saved_scalars(node)
        self.wrt = [x for x in self.inputs if x.requires_grad] + [
            leaf for leaf in self.leaves(nodes) if leaf.requires_grad and not self.is_input(leaf)]
        if loss.requires_grad and self.wrt:
            with scope("backward"):
                self.grads = grad(loss * self.one, self.wrt, create_graph=True)
        else:  # nothing requires grad: zeros
            self.grads = [Tensor(np.zeros_like(x._data)) for x in self.wrt]

    def needed(self, roots):
        """The recorded nodes the ``roots`` depend on, in tape order."""
        made_by = {id(out): node for node, out in zip(self.tape.nodes, self.tape.outputs)}
        found, stack = set(), [id(t) for t in roots]
        while stack:
            node = made_by.get(stack.pop())
            if node is not None and node not in found:
                found.add(node)
                stack.extend(id(x) for x in node.inputs)
        return [node for node in self.tape.nodes if node in found]

    def leaves(self, nodes):
        """The tensors ``nodes`` read that none of them made, in order of first use."""
        made = {id(node._output()) for node in nodes}
        seen = {}
        for node in nodes:
            for x in node.inputs:
                if id(x) not in made:
                    seen.setdefault(id(x), x)
        return list(seen.values())

    def is_input(self, t):
        """Whether ``t`` is one of the example inputs (compared by identity)."""
        return any(t is x for x in self.inputs)

    def check_backward(self, node):
        """Raise UnsupportedOperationError if ``node``'s backward cannot be exported."""
        problem = BACKWARD_PROBLEMS.get(type(node))
        reason = problem and problem(node, self.is_constant)
        if reason:
            _refuse_backward(node, reason)

    def is_constant(self, t):
        """Whether ``t`` is the same in every run of the model (no input, parameter
        or value computed from them)."""
        return not self.tape.traces([t])


def _refuse_backward(node, reason):
    where = "/".join(s.name for s in node.scope.path()) if node.scope else ""
    raise UnsupportedOperationError(
        f"onnx.export(gradients=True): the backward of {describe(node, where)} "
        f"cannot be exported: {reason} (export with gradients=False)")


def _own_saved_scalars(node):
    """Give ``node`` saved arrays of its own where it holds numpy scalars (Relu's
    mask of a 0-d input is ``np.True_``, shared by every such node), so that
    ``Writer.derived`` can tell by identity which node saved a value backward uses."""
    for cls, attr in SAVED:
        if type(node) is cls and isinstance(getattr(node, attr, None), np.generic):
            setattr(node, attr, np.array(getattr(node, attr)))


def _outputs(result):
    """``fn``'s result as a list of tensors."""
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    for out in outputs:
        if not isinstance(out, Tensor):
            raise TypeError(f"onnx.export: fn must return Tensors, not a "
                            f"{type(out).__name__}")
    return outputs


def _names(given, tensors, kind):
    """``given`` names, or the tensors' own, or ``<kind>_<i>`` (``output`` alone)."""
    if given is not None:
        given = list(given)
        if len(given) != len(tensors):
            raise ValueError(f"onnx.export: {len(given)} {kind}_names for "
                             f"{len(tensors)} {kind}s")
        return given
    if kind == "output" and len(tensors) == 1:
        return [tensors[0].name or "output"]
    return [t.name or f"{kind}_{i}" for i, t in enumerate(tensors)]


class Writer:
    """Writes a ``Recording`` with a ``Builder``; the ``ctx`` the mapping table's
    functions receive (``g``, ``operands``, ``output``, ``derived``)."""

    def __init__(self, recording, opset):
        self.recording = recording
        self.g = Builder(opset)
        self.values = {}  # id(tensor) -> ONNX value name
        self.constants = {}  # (id(tensor), dtype) -> Constant value name
        self.recomputed = {}  # id(saved array) -> ONNX value name
        self.outputs = {node: out for node, out in zip(recording.tape.nodes,
                                                       recording.tape.outputs)}
        self.saved = {id(getattr(node, attr)): (node, attr) for node in recording.nodes
                      for (cls, attr) in SAVED
                      if type(node) is cls and isinstance(getattr(node, attr, None), np.ndarray)}
        self.labels = scope_labels(recording.nodes)

    def model(self, input_names, output_names):
        r, g = self.recording, self.g
        for x, name in zip(r.inputs, input_names):
            self.values[id(x)] = g.input(name, x.dtype)
        self.add_parameters()
        for node in r.nodes:
            g.prefix = self.labels.get(node.scope, "")
            self.values[id(self.outputs[node])] = lookup(node, g.prefix.rstrip("/"))(
                self, node, self.outputs[node])
        g.prefix = ""
        names = output_names + ["grad_" + self.values[id(x)] for x in r.wrt]
        results = r.outputs + r.grads
        outputs = [(self.output_as(t, name), t.shape) for t, name in zip(results, names)]
        inputs = [(self.values[id(x)], x.shape) for x in r.inputs]
        return g.model(inputs, outputs, "graphgrad")

    def add_parameters(self):
        """Initializers for the tensors that require grad and are no input, named
        after the tensors (``Affine1.W`` where another parameter is also ``W``)."""
        r = self.recording
        params = [t for t in r.leaves(r.nodes) if t.requires_grad and not r.is_input(t)]
        first_user = {}
        for node in r.nodes:
            for x in node.inputs:
                first_user.setdefault(id(x), node)
        names = [t.name or "param" for t in params]
        for t, name in zip(params, names):
            label = self.labels.get(first_user[id(t)].scope, "").rstrip("/")
            if names.count(name) > 1 and label:
                name = f"{label}.{name}"
            self.values[id(t)] = self.g.initializer(to_numpy(t._data), name)

    def output_as(self, t, name):
        """The value of ``t`` under the output name ``name`` (an Identity)."""
        return self.g.identity(self.operand(t), name)

    # -- what the mapping table's functions call ---------------------------------
    def operands(self, node, dtype=None):
        """The ONNX names of ``node``'s inputs, cast to ``dtype`` when given."""
        return [self.operand(x, dtype) for x in node.inputs]

    def operand(self, t, dtype=None):
        """The ONNX name of tensor ``t``: computed, an input or parameter, a mask
        computed again, or a Constant; cast to ``dtype`` when given."""
        name = self.values.get(id(t))
        if name is None:
            name = self.derived(t._data)
        if name is None:
            return self.constant(t, dtype)
        return name if dtype is None else self.g.cast(name, dtype)

    def constant(self, t, dtype):
        """A Constant holding ``t``'s value (in ``dtype``: a Python number takes the
        other operand's dtype, as in numpy), made once per dtype."""
        key = (id(t), dtype)
        if key not in self.constants:
            value = to_numpy(t._data)
            self.constants[key] = self.g.constant(value, dtype)
        return self.constants[key]

    def output(self, node):
        """The output tensor of a recorded node."""
        return self.outputs[node]

    def derived(self, array):
        """The ONNX value computing again ``array``, a value some node saved for its
        backward (see ``ops.SAVED``), or None when ``array`` is no such value."""
        if id(array) not in self.saved:
            return None
        if id(array) not in self.recomputed:  # in the scope of its first user
            node, attr = self.saved[id(array)]
            self.recomputed[id(array)] = SAVED[type(node), attr](self, node)
        return self.recomputed[id(array)]
