"""What the interactive page plays, as one JSON-ready dict built from a ``Drawing``.

* ``steps``: step 0 shows no value; then one step per drawn operation in recording
  order (its output's value appears, and the values it reads), then the seeds'
  gradients, then one step per operation in reverse recording order whose output
  holds a gradient (the backward sweep visits those: a Tape may hold others; an
  input's gradient appears once its last consumer there is done). Consecutive
  operations folded into one box share a step.
* ``tensors``: name, shape, dtype, value and gradient as text (small arrays in full,
  large ones as their shape and a summary), and the steps that reveal them.
* ``shows``: SVG id of each label writing a tensor -> the tensor's index.
* ``nodes``: SVG id of each operation or box -> what the side panel says of it,
  with the node's chain-rule step (``chain_rule.py``).
* ``clusters``: SVG id of each scope's cluster -> the ids it holds, for collapsing.
"""
from collections import defaultdict

import numpy as np

from graphgrad.backend import to_numpy

from .chain_rule import chain_step
from .fold import Fold
from .graph import name_of, output_of
from .labels import number, value

FULL = 64  # arrays of at most this many elements are written out in full


def playback(drawing, grads=True):
    """The dict ``viz.html`` embeds in the page for ``drawing`` (built with ids).
    ``grads=False`` (a page of the forward pass): no gradient anywhere, the side
    panel's included, and each node's chain rule without numbers."""
    tensors = _Tensors(grads)
    steps, value_at, grad_at = timeline(drawing)
    nodes = {}
    for node in drawing.graph.nodes:
        head = "gg-" + drawing.head(node)
        if head.startswith("gg-n"):
            nodes[head] = describe_node(node, tensors, grads)
        elif head not in nodes:
            nodes[head] = describe_box(drawing.boxes[head[3:]])
    shows = {element: tensors.index(t) for element, t in drawing.shows.items()}
    for t, i in tensors.indices.items():
        tensors.rows[i]["at"] = [value_at.get(t), grad_at.get(t)]
    return {"steps": steps, "tensors": tensors.rows, "shows": shows, "nodes": nodes,
            "clusters": clusters(drawing), "note": drawing.note()}


def timeline(drawing):
    """``(steps, value_at, grad_at)``: the steps, and the step revealing each
    tensor's value and gradient."""
    graph = drawing.graph
    steps = [{"at": None, "text": "start: press → to run the forward pass"}]
    value_at, grad_at = {}, {}

    def step(node, phase, count, total):
        head = "gg-" + drawing.head(node)
        box = drawing.boxes.get(head[3:])
        if head != steps[-1]["at"] or box is None:
            what = f"{node.op} ({node.name})" if box is None else describe_box(box)["box"]
            steps.append({"at": head, "text": f"{phase} {count:,}/{total:,}: {what}"})
        return len(steps) - 1

    for count, node in enumerate(graph.nodes, start=1):
        at = step(node, "forward", count, len(graph.nodes))
        for x in node.inputs:
            value_at.setdefault(x, at)
        value_at[output_of(node)] = at
    for out in graph.outputs:  # a leaf drawn as a result: there by the forward's end
        value_at.setdefault(out, len(steps) - 1)
    if any(drawing.grad_color(out) for out in graph.outputs):
        steps.append({"at": None, "text": f"seed: {seeds(graph)}; press → to go backward"})
        grad_at.update(dict.fromkeys(graph.outputs, len(steps) - 1))
        swept = [node for node in reversed(graph.nodes) if drawing.grad_color(output_of(node))]
        for count, node in enumerate(swept, start=1):
            at = step(node, "backward", count, len(swept))
            for x in node.inputs:
                if drawing.grad_color(x):
                    grad_at[x] = at  # its last consumer in backward order completes it
    return steps, value_at, grad_at


def seeds(graph):
    """``∂L/∂price = 1``: the gradient of each output no node of ``graph`` consumes,
    which the sweep starts from (the seed backward was given, or the seeds of several
    backward calls added up)."""
    consumed = {x for node in graph.nodes for x in node.inputs}
    return ", ".join(f"∂L/∂{name_of(out) or 'output'} = {value(out.grad)}"
                     for out in graph.outputs if out.grad is not None and out not in consumed)


def describe_node(node, tensors, grads=True):
    """What the side panel shows of an operation (its chain-rule step with numbers
    where the page shows gradients, else the rule alone)."""
    rule = type(node).rule()
    symbols = [symbol for symbol, _ in rule.gradients]
    return {
        "op": node.op, "kind": node.name,
        "scope": "/".join(s.name for s in node.scope.path()) if node.scope else "",
        "inputs": [[symbols[i] if i < len(symbols) else "", tensors.index(x)]
                   for i, x in enumerate(node.inputs)],
        "output": [rule.output, tensors.index(output_of(node))],
        **chain_step(node, grads),
    }


def describe_box(box):
    """What the side panel shows of a box: a Fold, or a collapsed scope."""
    if isinstance(box, Fold):
        title, count = box.lines()
        return {"box": title, "count": count, "ops": box.ops()}
    return {"box": box.name, "count": "a scope drawn as one box (expand=False)", "ops": []}


def clusters(drawing):
    """For each cluster's SVG id: its name, how many operations it holds, and the ids
    of everything inside it (nodes, nested clusters, edges between two of those)."""
    where = {name: scope for scope, members in drawing.members.items()
             for name, _ in members if scope is not None}
    ids = {scope: f"gg-c{drawing.scope_ids[scope]}" for scope in drawing.scope_ids}
    inside = defaultdict(set)  # scope -> SVG ids inside it
    ops = defaultdict(int)
    for name, scope in where.items():
        path = scope.path()
        for depth, outer in enumerate(path):
            inside[outer].add(f"gg-{name}")
            inside[outer].update(ids[inner] for inner in path[depth + 1:])
            ops[outer] += name.startswith("n")
    for i, (tail, head, _) in enumerate(drawing.edges):
        if tail in where and head in where:
            for a, b in zip(where[tail].path(), where[head].path()):
                if a is not b:
                    break
                inside[a].add(f"gg-e{i}")
    return {ids[scope]: {"name": scope.name, "ops": ops[scope], "members": sorted(members)}
            for scope, members in inside.items()}


class _Tensors:
    """The tensors the page describes, numbered as first met (with their gradients
    where ``grads``)."""

    def __init__(self, grads=True):
        self.indices, self.rows, self.grads = {}, [], grads

    def index(self, tensor):
        if tensor not in self.indices:
            self.indices[tensor] = len(self.rows)
            self.rows.append(describe_tensor(tensor, self.grads))
        return self.indices[tensor]


def describe_tensor(tensor, grads=True):
    """Name, shape, dtype, value and gradient (where ``grads``) of a tensor, as text."""
    data = np.asarray(to_numpy(tensor.data))
    grad = tensor.grad if grads else None
    return {"name": name_of(tensor) or "", "shape": "×".join(map(str, data.shape)) or "scalar",
            "dtype": str(data.dtype), "value": full(data),
            "grad": None if grad is None else full(np.asarray(to_numpy(grad)))}


def full(array):
    """An array in full when small, else its shape and summary."""
    if array.size <= FULL:
        return value(array) if array.size <= 1 else np.array2string(
            array, separator=" ", max_line_width=10_000,
            formatter={"float_kind": number, "int_kind": number})
    return f"{value(array)}, mean {number(array.mean())}"
