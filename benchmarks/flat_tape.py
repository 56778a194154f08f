"""A reference design, not graphgrad: reverse mode on a flat tape, with no node objects.

Each operation appends one record ``(op, a, b, out)`` of value indices to a list, and a
value is a small handle holding its index. It shows what the scalar-graph goal
(≤ 0.5× micrograd) asks for: graphgrad gives every operation a Node object that keeps
its own saved values (the DLFS layer design) and an output Tensor with a weak link back,
four objects the cyclic collector tracks; here there is one handle per value.
"""
import numpy as np

MUL, ADD, RELU = range(3)


class FlatTape:
    """The values computed so far and the records of the operations that made them."""

    def __init__(self):
        self.values, self.records = [], []

    def value(self, number):
        return self._push(np.float64(number), None)

    def _push(self, value, record):
        self.values.append(value)
        if record is not None:
            self.records.append(record + (len(self.values) - 1,))
        return Handle(self, len(self.values) - 1)

    def gradients(self, root):
        """∂root/∂value for every value: the records walked in reverse."""
        values, grads = self.values, [0.0] * len(self.values)
        grads[root.index] = np.float64(1)
        for op, a, b, out in reversed(self.records):
            g = grads[out]
            if op == ADD:
                grads[a] += g
                grads[b] += g
            elif op == MUL:
                grads[a] += g * values[b]
                grads[b] += g * values[a]
            elif values[a] > 0:  # RELU
                grads[a] += g
        return grads


class Handle:
    """A value on a tape: its index."""

    __slots__ = ("tape", "index")

    def __init__(self, tape, index):
        self.tape, self.index = tape, index

    def _operand(self, other):
        return other if isinstance(other, Handle) else self.tape.value(other)

    def __add__(self, other):
        other, values = self._operand(other), self.tape.values
        return self.tape._push(values[self.index] + values[other.index],
                               (ADD, self.index, other.index))

    __radd__ = __add__

    def __mul__(self, other):
        other, values = self._operand(other), self.tape.values
        return self.tape._push(values[self.index] * values[other.index],
                               (MUL, self.index, other.index))

    def relu(self):
        x = self.tape.values[self.index]
        return self.tape._push(x if x > 0 else 0.0 * x, (RELU, self.index, -1))


def flat_tape_step(a, b, c):
    """The scalar-graph workload of ``scalar_graph.py`` on a flat tape."""
    tape = FlatTape()
    xs = [tape.value(v) for v in a + b + c]
    n = len(a)
    s = 0.0
    for i in range(n):
        s = s + (xs[i] * xs[n + i] + xs[2 * n + i]).relu()
    return tape.gradients(s)[xs[0].index]
