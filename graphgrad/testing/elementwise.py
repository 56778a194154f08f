"""The element-by-element comparison of gradcheck: backprop's ∂f/∂xᵢ against

    nᵢ = (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h,    |aᵢ − nᵢ| <= atol + rtol·|nᵢ|

for every element i of one input (``f`` a ``Probe``). An element that fails is looked
at again for kinks (``kinks``): where the step crossed one, the element is checked
one-sided from the side that stays on x's piece, or skipped where both sides cross.
Only the elements that fail are looked at again, so a passing check costs 2 evaluations
of fn per element and nothing more.
"""
from dataclasses import dataclass, field

import numpy as np

from . import kinks


@dataclass
class Mismatch:
    """The first element of input ``position`` whose gradient is wrong."""

    probe: object
    position: int
    index: tuple
    analytic: object
    numeric: object
    differ: int  # elements that fail, kinks excused (as far as they were looked at)
    skipped: list = field(default_factory=list)  # (index, Kink) of elements skipped
    one_sided: object = None  # the Kink the failing element crossed, if it did

    @property
    def shape(self):
        return self.probe.base.shape

    def headline(self):
        x = self.probe.x
        name = f" {x.name!r}" if x.name is not None else ""
        how = f" (one-sided: the step crossed a {self.one_sided})" if self.one_sided else ""
        return (f"gradcheck: input {self.position}{name} (shape {self.shape}) at index "
                f"{self.index}: backprop {self.analytic!r} vs numerical {self.numeric!r}"
                f"{how} ({self.differ} of {self.probe.base.size} elements differ)")


def compare(probe, position, analytic, numeric, eps, atol, rtol):
    """None where every element of ``analytic`` agrees with ``numeric`` (kinks
    excused), else the ``Mismatch``."""
    bad = ~_close(analytic, numeric, atol, rtol)
    if not bad.any():
        return None
    return _excuse_kinks(probe, position, analytic, numeric, bad, eps, atol, rtol)


def _close(analytic, numeric, atol, rtol):
    return np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric)


def _excuse_kinks(probe, position, analytic, numeric, bad, eps, atol, rtol):
    """Look at the failing elements in order: skip those whose step crossed a kink
    on both sides, check one-sided those that crossed on one; the first that crossed
    none, or fails one-sided, is the ``Mismatch``."""
    at_x, f_x = _look(probe, probe.base)
    skipped = []
    for index in (tuple(int(k) for k in where) for where in np.argwhere(bad)):
        crossed = _crossings(probe, index, eps, at_x) if at_x else None
        if crossed is None:
            return Mismatch(probe, position, index, analytic[index], numeric[index],
                            int(bad.sum()), skipped)
        (plus, f_plus), (minus, f_minus) = crossed
        if plus and minus:
            skipped.append((index, plus))
        else:
            one_sided = (f_plus - f_x) / eps if minus else (f_x - f_minus) / eps
            if not _close(analytic[index], one_sided, atol, rtol):
                return Mismatch(probe, position, index, analytic[index], np.float64(one_sided),
                                int(bad.sum()), skipped, plus or minus)
        bad[index] = False
    return None


def _crossings(probe, index, eps, at_x):
    """((Kink or None, f) at x + h·eᵢ, the same at x − h·eᵢ), or None where neither
    step crossed a kink."""
    found = []
    for h in (eps, -eps):
        sides, f = _look(probe, probe.moved(index, h))
        found.append((kinks.crossing(at_x, sides), f))
    return found if found[0][0] or found[1][0] else None


def _look(probe, values):
    """The kinks' ``sides`` and f at ``values``."""
    return probe.recorded(values, lambda out, nodes: (kinks.sides(nodes), probe.value(out)))
