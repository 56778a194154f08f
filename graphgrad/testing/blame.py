"""Blame: which node of a graph computes a wrong gradient.

When gradcheck fails, each node of the recorded graph is checked on its own: its
backward against central differences of its own forward, at the input values the
forward pass gave it. For a node y = f(x₁, …, xₖ), a random output direction v and a
few random unit directions u per input:

    backward:  ⟨f.backward(v)ᵢ, u⟩
    numeric:   (⟨v, f(…, xᵢ + h·u, …)⟩ − ⟨v, f(…, xᵢ − h·u, …)⟩) / 2h

two evaluations of f per direction, whatever the sizes. Each u = w / |w| weighs every
element by one over its own tolerance, as gradcheck's fast mode does (``fast``), so
that one wrong element of a large input shows. The node runs standalone, in
the layer style (``fresh(node).forward(*arrays)``, then ``.backward(dout)``), as a new
instance with the same parameters: the recorded node's saved values stay as they are.
Across a kink of the node the difference is taken one-sided (``kinks``).

The first node in forward order whose numbers disagree is to blame. If none does,
every node is right on its own and what joins them is not: the engine's accumulation
of a tensor used twice, or its broadcasting.

For second derivatives (gradgradcheck) a node's backward is a function too,
B(x, g) = f.backward(g), recorded with ``create_graph``: the engine's derivatives of
⟨r, B(x, g)⟩ in each xᵢ and in g are checked against central differences of B.
"""
from dataclasses import dataclass

import numpy as np

from .. import functions as F
from ..autograd import _backward_recorded, grad, reverse_order
from ..backend import device_of, get_namespace, is_array, to_device, to_numpy
from ..node import Node, describe_operands, user_frame
from ..recording import Tape
from ..tensor import Tensor
from .fast import AGREE, weighted_direction
from .kinks import has_kinks
from .numeric import numerical_gradient

DIRECTIONS = 2  # random directions per input of a node
DETAIL = 256  # an input of at most this many elements is also checked element-wise
EXACT = 1e-12  # the tolerance of an element where atol + rtol·|a| is 0


@dataclass
class Local:
    """The local check of one input of a node (``position``: its index, or "gradient",
    the incoming gradient of a backward). ``numeric`` is None where every direction
    stepped across a kink of the node; ``error`` the text of an exception it raised."""

    position: object
    analytic: float = 0.0
    numeric: float = None
    passed: bool = True
    element: tuple = None  # (index, analytic, numeric) of the worst element
    error: str = None
    second: bool = False  # a check of the backward recorded with create_graph


class _Origins(Tape):
    """A tape that also keeps the user's source line that recorded each node."""

    def __init__(self):
        super().__init__()
        self.origins = {}

    def record(self, node, output):
        super().record(node, output)
        self.origins[node] = user_frame()


@dataclass
class Verdict:
    """The local checks of every node of ``out``'s graph, in forward order."""

    out: Tensor
    nodes: list
    origins: dict
    checks: list  # per node, its Locals
    order: int  # 1: gradcheck, 2: gradgradcheck
    unreached: list  # positions of inputs that need a gradient but no node reads

    @property
    def failing(self):
        """Forward numbers of the nodes that fail a local check."""
        return [i for i, locals_ in enumerate(self.checks)
                if any(not c.passed for c in locals_)]

    @property
    def blamed(self):
        failing = self.failing
        return failing[0] if failing else None

    def describe(self, i):
        """``node n3 Sigmoid (sigmoid) in scope 'net', recorded at file:line in f: code``"""
        node = self.nodes[i]
        scope = f" in scope {'/'.join(s.name for s in node.scope.path())!r}" if node.scope else ""
        return (f"node n{i} {node.name} ({node.op}){scope}, recorded at "
                f"{self.origins.get(node, 'unknown')}")

    def lines(self):
        """The blame, as lines of the failure message."""
        if self.blamed is None:
            return [self._no_node()]
        i = self.blamed
        node = self.nodes[i]
        lines = [f"blame: {self.describe(i)}"]
        lines += [f"  {_explain(node, c)}" for c in self.checks[i] if not c.passed]
        others = [j for j in self.failing if j != i]
        lines += [f"  {self.describe(j)} fails its local check too" for j in others]
        rest = len(self.nodes) - 1 - len(others)
        if rest:
            lines.append("  the other node passes its local check" if rest == 1 else
                         f"  the other {rest} nodes pass their local checks")
        return lines

    def _no_node(self):
        if self.unreached:
            listed = ", ".join(map(str, self.unreached))
            return (f"blame: no node — input {listed} reaches the output through no "
                    f"recorded node, so backprop sees a constant there: was it computed "
                    f"outside graphgrad (numpy on arrays, or on .data)?")
        what = "backward (and its own recorded backward)" if self.order == 2 else "backward"
        each = "its one node" if len(self.nodes) == 1 else f"each of the {len(self.nodes)} nodes"
        return (f"blame: no single node — the {what} of {each} agrees with central "
                f"differences of its own forward, yet the whole graph's does not: the fault "
                f"is in how the engine joins them (accumulating the gradients of a tensor "
                f"used more than once, or summing a broadcast gradient back to its "
                f"tensor's shape)")


def verdict(fn, inputs, order=1, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Record ``fn(*inputs)`` and check each of its nodes locally (first derivatives,
    and with ``order=2`` also their recorded backward) as a ``Verdict``."""
    with _Origins() as tape:
        out = fn(*inputs)
    nodes = forward_nodes(out)
    rng = np.random.default_rng(seed)
    checks = [_checks(node, order, rng, eps, atol, rtol) for node in nodes]
    read = {id(x) for node in nodes for x in node.inputs}
    unreached = [i for i, x in enumerate(inputs) if x.requires_grad and id(x) not in read]
    return Verdict(out, nodes, tape.origins, checks, order, unreached)


def forward_nodes(out):
    """The nodes of ``out``'s graph in forward order (n0, n1, …, as ``viz`` numbers them)."""
    return reverse_order([out])[::-1] if out.creator is not None else []


def fresh(node):
    """A new node of ``node``'s class with its parameters: every attribute but the
    graph's (inputs, output, scope, id, …), which ``Node`` itself declares."""
    clone = object.__new__(type(node))
    for cls in type(node).__mro__[:-1]:
        if cls is Node:
            continue
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and hasattr(node, name):
                setattr(clone, name, getattr(node, name))
    for name, value in getattr(node, "__dict__", {}).items():
        setattr(clone, name, value)
    return clone


def _checks(node, order, rng, eps, atol, rtol):
    """The node's Locals; a check that raises is a failing Local."""
    try:
        with np.errstate(all="ignore"):
            functions = _first_order(node, rng)
            if order == 2:
                functions += _second_order(node, rng)
            return [_check(f, rng, eps, atol, rtol) for f in functions]
    except Exception as error:  # noqa: BLE001  (any error of user code is the finding)
        return [Local(None, passed=False, error=f"{type(error).__name__}: {error}")]


@dataclass
class _Function:
    """s(a), one number from the values ``a`` (a host array) of one input of a node,
    with ``grad``, the engine's ∂s/∂a at ``base``, and ``signs(a)``, the signs of the
    node's kinks at ``a`` (None for a node without kinks)."""

    position: object
    base: np.ndarray
    value: object
    grad: object
    signs: object = None
    second: bool = False


def _first_order(node, rng):
    """s(a) = ⟨v, f(…, a, …)⟩ for each input that needs a gradient;
    ∂s/∂a by f.backward(v)."""
    values = [x._data for x in node.inputs]
    v = _like(fresh(node).forward(*values), rng)
    layer = fresh(node)
    layer.inputs = node.inputs  # which inputs need a gradient, as when recorded
    layer.forward(*values)
    grads = _per_input(layer.backward(v), values)

    def value(i):
        return lambda a: _dot(fresh(node).forward(*_put(values, i, a)), v)

    return [_Function(i, _host(values[i]), value(i), grads[i], _signs(node, values, i))
            for i in _checked(node)]


def _second_order(node, rng):
    """s(a, g) = Σᵢ ⟨rᵢ, f.backward(g)ᵢ⟩ as a function of each input that needs a
    gradient and of g; ∂s by the engine, through the backward recorded with
    ``create_graph``."""
    values, checked = [x._data for x in node.inputs], _checked(node)
    if not checked:
        return []
    xs = [Tensor(value, i in checked) for i, value in enumerate(values)]
    layer = fresh(node)
    out = layer(*xs)  # recorded: the backward below can read its saved tensors
    g = Tensor(_like(out._data, rng), True)
    rs = {i: _like(values[i], rng) for i in checked}
    recorded = _per_input(_backward_recorded(layer, g), values)
    s = sum((F.sum(recorded[i] * rs[i]) for i in checked
             if isinstance(recorded[i], Tensor)), Tensor(0.0))
    wrt = [xs[i] for i in checked] + [g]
    grads = [d._data for d in grad(s, wrt)] if s.requires_grad else [None] * len(wrt)

    def backward_value(vals, dout):
        plain = fresh(node)
        plain.inputs = xs
        plain.forward(*vals)
        gs = _per_input(plain.backward(dout), vals)
        return sum(_dot(gs[i], rs[i]) for i in checked if gs[i] is not None)

    def value(i):
        return lambda a: backward_value(_put(values, i, a), g._data)

    functions = [_Function(i, _host(values[i]), value(i), d, _signs(node, values, i), True)
                 for i, d in zip(checked, grads)]
    to_g = lambda a: backward_value(values, _device(a, g._data))  # noqa: E731
    return functions + [_Function("gradient", _host(g._data), to_g, grads[-1], None, True)]


def _check(f, rng, h, atol, rtol):
    """Compare ⟨∂s, w⟩ with the difference of s along w, for a few random w that
    weigh each element by one over its tolerance (``fast.weighted_direction``: one
    wrong element shows however large the input); the input fails at the first
    direction that disagrees. Reported along the unit u = w / |w|."""
    analytic = np.zeros(f.base.shape) if f.grad is None else _host(f.grad)
    if analytic.shape != f.base.shape:
        return Local(f.position, passed=False, second=f.second,
                     error=f"gradient of shape {analytic.shape} for an input of shape "
                           f"{f.base.shape}")
    tolerance = np.maximum(atol + rtol * np.abs(analytic), EXACT)
    local = Local(f.position, second=f.second)
    for _ in range(DIRECTIONS):
        _, length, u = weighted_direction(rng, tolerance)
        numeric = _difference(f, u, h)
        if numeric is None:
            continue  # a kink on both sides along u
        local = Local(f.position, float(np.sum(analytic * u)), numeric, second=f.second)
        if not length * abs(local.analytic - numeric) <= AGREE:
            local.passed = False
            local.element = _worst_element(f, analytic, h)
            return local
    return local


def _difference(f, u, h):
    """The central difference of s along u; one-sided from the side that crosses no
    kink of the node; None where both sides cross one."""
    plus, minus = f.base + h * u, f.base - h * u
    if f.signs is not None:
        at_x = f.signs(f.base)
        crosses_plus = not np.array_equal(f.signs(plus), at_x)
        crosses_minus = not np.array_equal(f.signs(minus), at_x)
        if crosses_plus and crosses_minus:
            return None
        if crosses_plus:
            return (f.value(f.base) - f.value(minus)) / h
        if crosses_minus:
            return (f.value(plus) - f.value(f.base)) / h
    return (f.value(plus) - f.value(minus)) / (2 * h)


def _worst_element(f, analytic, h):
    """(index, analytic, numeric) where they differ most, for an input of at most
    ``DETAIL`` elements (None for a larger one)."""
    if not 0 < f.base.size <= DETAIL:
        return None
    numeric = numerical_gradient(f.value, f.base.copy(), h)
    index = np.unravel_index(np.argmax(np.abs(analytic - numeric)), f.base.shape)
    index = tuple(int(k) for k in index)
    return index, float(analytic[index]), float(numeric[index])


def _explain(node, local):
    """One line: which input of the node fails its local check, and how."""
    if local.position is None:
        return f"its local check raised {local.error}"
    if local.position == "gradient":
        what = "its incoming gradient"
    else:
        what = f"input {local.position} ({describe_operands([node.inputs[local.position]])})"
    if local.second:
        what = f"its backward, recorded with create_graph, differentiated in {what}"
    if local.error is not None:
        return f"{what}: {local.error}"
    by = "engine" if local.second else "backward"
    line = (f"{what}: {by} {local.analytic:.6g} vs numeric {local.numeric:.6g} along a "
            f"random direction")
    if local.element is not None:
        index, a, n = local.element
        line += f"; at element {index}: {a:.6g} vs {n:.6g}"
    return line


# -- values -------------------------------------------------------------------------

def _checked(node):
    """Positions of the inputs that need a gradient and hold floats."""
    return [i for i, x in enumerate(node.inputs) if x.requires_grad and _is_float(x._data)]


def _is_float(value):
    return is_array(value) and get_namespace(value).isdtype(value.dtype, "real floating")


def _per_input(grads, values):
    """A backward's result as one entry per input."""
    return (grads,) if len(values) == 1 else tuple(grads)


def _put(values, i, a):
    """``values`` with the i-th replaced by host array ``a`` (on its device, shape)."""
    return [_device(a, v) if k == i else v for k, v in enumerate(values)]


def _device(a, like):
    """Host array ``a`` as a float64 value like ``like``: on its device, a scalar for 0-d."""
    a = to_device(np.asarray(a, dtype=np.float64), device_of(like))
    return a[()] if a.ndim == 0 else a


def _host(value):
    return np.asarray(to_numpy(getattr(value, "_data", value)), dtype=float)


def _like(value, rng):
    """A random direction shaped and placed like ``value``."""
    return _device(rng.standard_normal(np.shape(_host(value))), value)


def _dot(a, b):
    return float(np.sum(_host(a) * _host(b)))


def _signs(node, values, i):
    """a -> the signs of the node's kinks with input i at a (None: no kinks)."""
    if not has_kinks(node):
        return None
    return lambda a: np.sign(_host(node.kinks(*_put(values, i, a))))
