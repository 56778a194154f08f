"""What a drawing shows: the recorded nodes of a target, in forward order, and its outputs.

A target is a Tensor (its whole graph), a list of Tensors, or a ``gg.Tape`` (the nodes
recorded inside it; its outputs are the results no recorded node consumed).
"""
from dataclasses import dataclass

import graphgrad as gg
from graphgrad.autograd import reverse_order


@dataclass
class Graph:
    """``nodes`` in forward (recording) order; ``outputs`` each drawn with its own edge."""

    nodes: list
    outputs: list


def collect(target):
    """The ``Graph`` of a Tensor, a list of Tensors or a Tape."""
    if isinstance(target, gg.Tape):
        consumed = {x for node in target.nodes for x in node.inputs}
        return Graph(list(target.nodes), [t for t in target.outputs if t not in consumed])
    roots = list(target) if isinstance(target, (list, tuple)) else [target]
    for root in roots:
        if not isinstance(root, gg.Tensor):
            raise TypeError(
                f"viz: cannot draw {type(root).__name__}; give a Tensor, a list of "
                f"Tensors or a gg.Tape")
    return Graph(reverse_order(roots)[::-1], roots)


def output_of(node):
    """The tensor a node made (kept alive by its consumers, the caller or a Tape)."""
    return node.outputs[0]


def name_of(tensor):
    """A tensor's name as text: ``str`` of whatever names it (``5`` -> "5"), or None."""
    return None if tensor.name is None else str(tensor.name)


def is_constant(tensor):
    """An operand like the 1 in ``1 + exp(-x)``: unnamed, no creator, no gradient."""
    return tensor.creator is None and tensor.name is None and not tensor.requires_grad
