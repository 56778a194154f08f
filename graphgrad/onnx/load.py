"""``load``: an ONNX model as a callable that rebuilds its graph in graphgrad.

Each call runs the model's nodes in order with ``operators.OPERATORS``: the result
is a graphgrad graph like any other, so it can be differentiated (``backward``,
``gg.grad``) and drawn (``viz``). Initializers are the parameters: leaf tensors
named after them that require grad, kept on the model (``params``) so that their
``.grad`` accumulates across calls. Node names' scope prefixes (``Affine1/MatMul``)
become scopes again, so a drawing shows each layer as a cluster.
"""
import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..recording import scope
from ..tensor import Tensor, tensor
from .operators import OPERATORS
from .ops import UnsupportedOperationError


def load(path):
    """Read the ONNX model at ``path``: a ``Model`` to call on its inputs."""
    return Model(onnx.load(str(path)))


class Model:
    """``model(*inputs)`` → the output Tensor (a tuple for several outputs).

    ``input_names`` and ``output_names`` list the graph's; ``params`` maps each
    initializer's name to its tensor. Raises UnsupportedOperationError at load time
    for an operator that has no graphgrad form.
    """

    def __init__(self, proto):
        graph = proto.graph
        unknown = sorted({node.op_type for node in graph.node
                          if node.op_type not in OPERATORS and node.op_type != "Constant"})
        if unknown:
            raise UnsupportedOperationError(
                f"onnx.load: no graphgrad form for the ONNX operators {', '.join(unknown)}; "
                f"graphgrad.onnx.operators knows {', '.join(sorted(OPERATORS))}")
        self.params = {init.name: _parameter(numpy_helper.to_array(init), init.name)
                       for init in graph.initializer}
        self.input_names = [i.name for i in graph.input if i.name not in self.params]
        self.output_names = [o.name for o in graph.output]
        self.nodes = list(graph.node)

    def __call__(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise TypeError(f"the model takes {len(self.input_names)} inputs "
                            f"({', '.join(self.input_names)}), got {len(inputs)}")
        values = dict(self.params)
        for name, x in zip(self.input_names, inputs):
            values[name] = x if isinstance(x, Tensor) else tensor(
                x, name=name, requires_grad=False)
        scopes = _Scopes()
        try:
            for node in self.nodes:
                scopes.move_to(node.name.split("/")[:-1])
                _run(node, values)
        finally:
            scopes.move_to([])
        results = [_named(values[name], name) for name in self.output_names]
        return results[0] if len(results) == 1 else tuple(results)


def _parameter(array, name):
    return tensor(array, name=name, requires_grad=np.issubdtype(array.dtype, np.floating))


class _Scopes:
    """The scopes open while a node is rebuilt: those its name's prefix lists."""

    def __init__(self):
        self.open = []  # (name, entered gg.scope), outermost first

    def move_to(self, path):
        """Open the scopes of ``path``, first closing those of the previous node that
        it leaves (consecutive nodes of one prefix share one scope)."""
        common = 0
        while common < min(len(self.open), len(path)) and self.open[common][0] == path[common]:
            common += 1
        while len(self.open) > common:
            self.open.pop()[1].__exit__(None, None, None)
        for name in path[common:]:
            context = scope(name)
            context.__enter__()
            self.open.append((name, context))


def _run(node, values):
    """Compute ``node``'s outputs into ``values``."""
    attrs = {a.name: _attribute(a) for a in node.attribute}
    if node.op_type == "Constant":
        outputs = [_scalar(numpy_helper.to_array(attrs["value"]))]
    else:
        inputs = [values[name] if name else None for name in node.input]
        try:
            result = OPERATORS[node.op_type](inputs, attrs, len(node.output))
        except NotImplementedError as error:
            raise UnsupportedOperationError(f"onnx.load: node {node.name!r}: {error}") from error
        outputs = result if len(node.output) > 1 else [result]
    values.update(zip(node.output, outputs))


def _attribute(attribute):
    value = helper.get_attribute_value(attribute)
    return value.decode() if isinstance(value, bytes) else value


def _scalar(array):
    return array[()] if array.ndim == 0 else array


def _named(value, name):
    """An output as a Tensor, named after the graph's output if it has no name."""
    if not isinstance(value, Tensor):
        return Tensor(value, name=name)
    if value.name is None and value.creator is not None:
        value.name = name
    return value
