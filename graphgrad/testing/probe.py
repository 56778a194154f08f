"""The scalar function gradcheck differentiates, as a function of one input.

    f(x) = ⟨v, fn(*inputs)⟩    with input ``x`` set to given values, the others fixed

``v`` is a fixed random direction shaped like fn's output, so any output shape gives
one number; backprop's ∂f/∂x is compared with differences of f.
"""
import numpy as np

from ..backend import to_device, to_numpy
from ..recording import Tape


class Probe:
    """f(values) for input tensor ``x`` of ``inputs``: ``values`` is a host array of
    x's shape; x gets its own value back after each evaluation."""

    def __init__(self, fn, inputs, x, v):
        self.fn, self.inputs, self.x = fn, inputs, x
        self.base = np.array(to_numpy(x._data))  # a host copy, to perturb
        self.v = np.asarray(to_numpy(v))
        self.device = x.device

    def __call__(self, values):
        original = self._put(values)
        try:
            return self.value(self.fn(*self.inputs))
        finally:
            self.x.data = original

    def recorded(self, values, read):
        """``read(out, nodes)`` for fn's output at ``values`` and the nodes its
        evaluation recorded (on a ``Tape``), read while x still holds ``values``."""
        original = self._put(values)
        try:
            with Tape() as tape:
                return read(self.fn(*self.inputs), tape.nodes)
        finally:
            self.x.data = original

    def value(self, out):
        """⟨v, out⟩ for an output tensor of fn."""
        return float(np.sum(np.asarray(to_numpy(out.data)) * self.v))

    def _put(self, values):
        """Set x to ``values``; return the value it had."""
        original = self.x._data
        values = values.reshape(self.base.shape) if self.base.ndim else values[()]
        self.x.data = to_device(values, self.device)
        return original

    def moved(self, index, h):
        """x with element ``index`` moved by h."""
        values = self.base.copy()
        values[index] += h
        return values

    def along(self, u, h):
        """x moved by h·u (u an array of x's shape)."""
        return self.base + h * u
