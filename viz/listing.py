"""A graph as text, one line per node, like JAX's ``make_jaxpr``: cheap and greppable."""
import itertools
import re
import string

import numpy as np

from .graph import collect, is_constant, name_of, output_of
from .labels import number


def text(target):
    """The nodes of ``target`` (what ``viz.draw`` takes) as lines, in recording order:

    ```text
    in apple apple_num orange orange_num tax
    a = mul apple apple_num
    b = mul orange orange_num
    c = add a b
    price = mul c tax
    out price
    ```

    A tensor is called by its name (its ``str``: ``name=5`` is "5") when that is a free
    identifier, else a, b, c, ...; a constant is written in place (``1``, or
    ``const[4,3]`` for an array). A trailing comment gives the shape of an array result
    and the node's scope path.
    """
    graph = collect(target)
    names = _Names(graph)
    body = [_line(node, names) for node in graph.nodes]
    outputs = " ".join(names.of(out) for out in graph.outputs)
    return "\n".join([f"in {' '.join(names.inputs)}", *body, f"out {outputs}"])


def _line(node, names):
    out = output_of(node)
    args = " ".join(names.operand(x) for x in node.inputs)
    notes = []
    if np.ndim(out.data):
        notes.append("×".join(str(n) for n in np.shape(out.data)))
    if node.scope is not None:
        notes.append("/".join(s.name for s in node.scope.path()))
    comment = f"  # {' '.join(notes)}" if notes else ""
    return f"{names.of(out)} = {op_name(node)} {args}{comment}"


def op_name(node):
    """The node's class name in snake case: ``Mul`` -> mul, ``MatMul`` -> mat_mul."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", node.name).lower()


class _Names:
    """Short unique names for the tensors of a graph; collects its inputs in order."""

    def __init__(self, graph):
        self.made = {output_of(node) for node in graph.nodes}
        self.names = {}
        self.used = {name_of(t) for t in self._tensors(graph)} - {None}
        self.fresh = ("".join(letters) for n in itertools.count(1)
                      for letters in itertools.product(string.ascii_lowercase, repeat=n))
        self.inputs = []

    @staticmethod
    def _tensors(graph):
        yield from graph.outputs
        for node in graph.nodes:
            yield output_of(node)
            yield from node.inputs

    def of(self, t):
        if t not in self.names:
            self.names[t] = self._new_name(t)
            if t not in self.made:
                self.inputs.append(self.names[t])
        return self.names[t]

    def _new_name(self, t):
        name = name_of(t)
        if name is not None and name.isidentifier() and name not in self.names.values():
            return name
        name = next(self.fresh)
        while name in self.used:
            name = next(self.fresh)
        return name

    def operand(self, x):
        if not is_constant(x):
            return self.of(x)
        if np.ndim(x.data) == 0:
            return number(x.data)
        return f"const[{','.join(str(n) for n in np.shape(x.data))}]"
