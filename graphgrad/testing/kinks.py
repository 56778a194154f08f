"""Kinks: points where a finite difference steps across a node's non-differentiable point.

A central difference (f(x + h) − f(x − h)) / 2h is a derivative only where f is
smooth on [x − h, x + h]. A node with a kink (relu at 0, a tie in max or maximum)
says where it is with ``node.kinks(*inputs)``: signed distances d whose signs tell
the piece of the function each element is on. A step from x to x ± h crossed a kink
exactly where some node's sign(d) at x ± h differs from its sign(d) at x — at any
node recorded, not only where the inputs enter, and not only on the way to the
output (gradgradcheck differentiates a gradient, which a relu's mask feeds but its
output does not):

    relu(x − 1e-3) at x = 1e-3 + 3e-7, h = 1e-6:  d = 3e-7 at x, −7e-7 at x − h

Such an element is checked one-sided, (f(x + h) − f(x)) / h from the side that stays
on x's piece, or skipped where both sides cross (an exact tie), and reported as "kink
crossed at node n7 (relu, input 3e-07)", never as a wrong gradient.
"""
from dataclasses import dataclass

import numpy as np

from ..backend import to_numpy
from ..node import Node


@dataclass(frozen=True)
class Kink:
    """The first kink a step crossed: at node ``n{index}`` (forward order, as drawings
    number nodes), of operation ``op``, its input ``distance`` from the kink at x."""

    index: int
    op: str
    distance: float

    def __str__(self):
        return f"kink crossed at node n{self.index} ({self.op}, input {self.distance:.1g})"


def has_kinks(node):
    return type(node).kinks is not Node.kinks


def sides(nodes):
    """{n: (op, d)} for each node with kinks among ``nodes`` (an evaluation's, in the
    order it recorded them: n0, n1, …, as drawings number a graph's nodes): d, as a
    host array, is the node's ``kinks`` at the input values it was given."""
    return {i: (node.op, np.asarray(to_numpy(node.kinks(*(x._data for x in node.inputs)))))
            for i, node in enumerate(nodes) if has_kinks(node)}


def crossing(at_x, at_step):
    """The first ``Kink`` (forward order) where sign(d) differs between ``sides``
    taken at x and at a step from x, or None."""
    for i, (op, d) in at_x.items():
        moved = at_step.get(i, (op, None))[1]
        if moved is None or moved.shape != d.shape:
            continue  # the step changed the graph itself: nothing to compare
        changed = np.sign(d) != np.sign(moved)
        if changed.any():
            return Kink(i, op, float(d[changed].flat[0]))
    return None
