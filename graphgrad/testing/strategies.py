"""Hypothesis strategies for property tests of gradients.

Shapes, float arrays and tensors, and random expression graphs built from every
graphgrad primitive, so that a gradient property is one short test:

```python
from hypothesis import given, strategies as st
from graphgrad.testing import gradcheck
from graphgrad.testing.strategies import arrays, broadcastable_shapes, expressions

@given(broadcastable_shapes().flatmap(
    lambda s: st.tuples(arrays(s[0]), arrays(s[1]))))
def test_mul_gradient(xy):
    assert gradcheck(lambda x, y: x * y, xy)

@given(st.data())
def test_any_expression(data):
    shapes = [(2, 3), (3,)]
    # e.g. { lambda a:[2,3] b:[3]. c = a * b ... }
    expr = data.draw(expressions(shapes))
    # relu, max and maximum have kinks: separated values keep clear of them
    assert gradcheck(expr, [data.draw(arrays(s, separated=True)) for s in shapes])
```

Values stay in a bounded range ([-3, 3] by default) and expression graphs keep every
operation inside its domain (``log(x*x + 1)``, ``a / (b*b + 1)``), so gradients are
finite and central differences accurate.
"""
import functools
import itertools
import math
import string
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

from .. import functions as F
from ..tensor import tensor

__all__ = [
    "OPS", "SMOOTH_OPS", "ExtraOp", "Expression", "arrays", "broadcastable_shapes",
    "expressions", "shapes", "shapes_broadcasting_to", "tensors",
]


# -- shapes -----------------------------------------------------------------------

def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Array shapes: tuples of ``min_dims..max_dims`` sides in ``min_side..max_side``.

    ```pycon
    >>> shapes(max_dims=2).example()
    (3, 1)
    ```
    """
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Tuples of ``num_shapes`` shapes that broadcast together (numpy's rules).

    ```pycon
    >>> broadcastable_shapes().example()
    ((2, 1, 3), (4, 3))
    ```
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda drawn: drawn.input_shapes)


def shapes_broadcasting_to(shape):
    """Shapes ``s`` with ``np.broadcast_to(np.zeros(s), shape)`` valid: some trailing
    sides of ``shape``, each possibly replaced by 1. These are also the shapes that
    ``sum_to`` can sum an array of ``shape`` down to.

    ```pycon
    >>> shapes_broadcasting_to((2, 3, 4)).example()
    (1, 4)
    ```
    """
    shape = tuple(shape)

    @st.composite
    def draw_shape(draw):
        kept = shape[len(shape) - draw(st.integers(0, len(shape))):]
        ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
        return tuple(1 if one else side for side, one in zip(kept, ones))

    return draw_shape()


# -- arrays and tensors ---------------------------------------------------------------

def arrays(shape=None, dtype=np.float64, min_value=-3, max_value=3, separated=False,
           gap=0.05):
    """Float arrays of ``shape`` (a shape or a strategy; default: ``shapes()``) with
    values in ``[min_value, max_value]``, never NaN or infinite.

    ``separated=True`` keeps values away from kinks and ties, so that ``relu``, ``max``
    and ``maximum`` can be checked by central differences: the values are then
    distinct nonzero multiples of ``gap``, hence ``|x| >= gap`` and
    ``|x - y| >= gap`` for any two elements (an array can hold at most
    ``(max_value - min_value) / gap`` of them).

    ```pycon
    >>> arrays((2, 2), separated=True).example()
    array([[ 0.05, -1.2 ],
           [ 2.75,  0.1 ]])
    ```
    """
    shape = shapes() if shape is None else shape
    if separated:
        steps = math.floor(max_value / gap + 1e-9), math.ceil(min_value / gap - 1e-9)
        multiples = [k for k in _by_magnitude(*steps) if k != 0]
        return hnp.arrays(np.int64, shape, elements=st.sampled_from(multiples),
                          unique=True).map(lambda k: np.asarray(k * gap, dtype=dtype))
    low, high = _representable(min_value, dtype, up=True), _representable(max_value, dtype)
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False,
                         width=np.finfo(dtype).bits)
    return hnp.arrays(dtype, shape, elements=elements)


def tensors(shape=None, dtype=np.float64, min_value=-3, max_value=3, separated=False,
            gap=0.05):
    """``arrays(...)`` as leaf tensors (``gg.tensor``) that require grad.

    ```pycon
    >>> tensors((3,)).example()
    tensor([ 0.5 , -2.25,  1.  ])
    ```
    """
    return arrays(shape, dtype, min_value, max_value, separated, gap).map(tensor)


def _representable(value, dtype, up=False):
    """The nearest value of ``dtype`` inside the range that ``value`` bounds."""
    rounded = np.asarray(value, dtype=dtype)
    if up and rounded < value or not up and rounded > value:
        rounded = np.nextafter(rounded, np.inf if up else -np.inf)
    return float(rounded)


def _by_magnitude(high, low):
    """The integers of [low, high], smallest magnitude first (hypothesis shrinks there)."""
    return sorted(range(low, high + 1), key=lambda k: (abs(k), k < 0))


# -- expressions ----------------------------------------------------------------------

OPS = (
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "tanh", "relu", "maximum",
    "max", "sum", "mean", "reshape", "transpose", "broadcast_to", "sum_to", "getitem",
    "matmul", "dot",
)
KINKED = ("relu", "maximum", "max")
SMOOTH_OPS = tuple(op for op in OPS if op not in KINKED)

MAX_SIZE = 64  # elements of any intermediate value
MAX_NDIM = 4
LIMIT = 100.0  # a step whose values could exceed this in magnitude is passed through tanh
GOLDEN = (math.sqrt(5) - 1) / 2


def expressions(shapes, max_ops=6, ops=None, smooth=False, input_bound=3.0, extra_ops=()):
    """Random expression graphs over inputs of ``shapes``, as ``Expression`` objects:
    ``expr(*tensors) -> Tensor``, deterministic and callable any number of times.

    ``shapes`` is a list of input shapes (or a strategy of such lists). Each graph has
    1 to ``max_ops`` operations drawn from ``ops`` (default: ``OPS``, every primitive,
    and the names of ``extra_ops``; with ``smooth=True`` only the twice-differentiable
    ones, ``SMOOTH_OPS``), and reuses intermediates (diamonds). ``extra_ops`` are a
    user's own operations (``ExtraOp``), mixed in beside the built-in ones. Every
    input is used; values nobody consumed are added into the output, which may have
    any shape. Sides may be 0 (``(0, 3)``): a max or a mean then reduces only
    nonempty axes, so that every value stays finite.

    Operations stay in their domains and bounded for inputs in
    ``[-input_bound, input_bound]``: ``exp(tanh(x))``, ``log(x*x + 1)``,
    ``a / (b*b + 1)``, powers of ``x*x + 0.5``; kinks are shifted off the ties that
    repeated values create (``relu(x + 0.063)``); a step whose values could exceed
    100 in magnitude is wrapped in ``tanh``. The repr lists the steps, one per line,
    in graphgrad's own function names (a jaxpr-like dump):

    ```text
    { lambda a:[2,3] b:[3].
        c:[2,3] = a * b
        d:[2,3] = exp(tanh(c))
        e:[2] = sum(d, axis=1)
      -> e }
    ```
    """
    if isinstance(shapes, st.SearchStrategy):
        return shapes.flatmap(
            lambda drawn: expressions(drawn, max_ops, ops, smooth, input_bound, extra_ops))
    extras = _extras(extra_ops)
    known = OPS + tuple(extras)
    ops = known if ops is None else tuple(ops)
    unknown = [op for op in ops if op not in known]
    if unknown:
        raise InvalidArgument(f"expressions: unknown ops {unknown}; choose from {known}")
    if smooth:
        kinked = KINKED + tuple(name for name, op in extras.items() if op.kinked)
        ops = tuple(op for op in ops if op not in kinked)
    if not ops or max_ops < 1:
        raise InvalidArgument("expressions: need max_ops >= 1 and at least one op")
    shapes = [tuple(shape) for shape in shapes]
    if not shapes:
        raise InvalidArgument("expressions: need at least one input shape")
    return _expressions(shapes, max_ops, ops, float(input_bound), extras)


@st.composite
def _expressions(draw, shapes, max_ops, ops, input_bound, extras):
    """The steps are drawn as a list, one element per operation, so that hypothesis
    shrinks a failing graph by deleting operations as it deletes list elements."""
    builder = _Builder(draw, shapes, input_bound)
    draw(st.lists(_operation(builder, ops, extras), min_size=1, max_size=max_ops),
         label="operations")
    return builder.finish()


@st.composite
def _operation(draw, builder, ops, extras):
    """Add one operation of ``ops`` to ``builder`` (none where none applies)."""
    usable = [op for op in ops if op in extras or builder.applies(op)]
    if not usable:
        return
    op = draw(st.sampled_from(usable), label="op")
    if op in extras:
        builder.op_extra(extras[op])
    else:
        getattr(builder, "op_" + op)()


@dataclass(frozen=True)
class ExtraOp:
    """A user's own operation for ``expressions(extra_ops=[...])``.

    ``fn(*tensors) -> Tensor`` takes ``arity`` operands of shapes that broadcast
    together (the same value may come twice) and returns a tensor (a node of the
    user's, or a composite). ``domain`` says which values it takes, as the built-in
    ops keep theirs (``log(x*x + 1)``); an operand x is passed as

    * ``"real"``: x itself, any value of the graph;
    * ``"positive"``: x*x + 0.5, at least 0.5 (a logarithm, a square root, a base);
    * ``"unit"``: tanh(x), in (−1, 1) (arcsin, or an op that overflows for large x).

    ``bound(*operand_bounds)`` bounds the magnitude of the result from those of the
    operands (after ``domain``); None, unknown, puts the result through tanh, as any
    step that may exceed 100. ``kinked=True`` (a kink, like relu) leaves the op out
    of ``smooth=True`` graphs.

    A user's op runs on graphgrad's tensors only: its steps refuse any other namespace
    (``expr(*arrays, namespace=...)``) with NotImplementedError, so the differential
    references (numpy, HIPS autograd) cannot evaluate an expression that uses one;
    ``gradcheck`` and ``gradgradcheck`` can.
    """

    name: str
    fn: object
    arity: int = 1
    domain: str = "real"
    bound: object = None
    kinked: bool = False


DOMAINS = {  # domain -> (operand transform, its text, the bound it leaves of bound b)
    "real": (lambda ns, x: x, "{}", lambda b: b),
    "positive": (lambda ns, x: x * x + 0.5, "{0}*{0} + 0.5", lambda b: b * b + 0.5),
    "unit": (lambda ns, x: ns.tanh(x), "tanh({})", lambda b: 1.0),
}


def _extras(extra_ops):
    """``extra_ops`` as a dict name -> ExtraOp, checked."""
    extras = {}
    for op in extra_ops:
        if not isinstance(op, ExtraOp):
            raise InvalidArgument(f"expressions: extra_ops takes ExtraOp objects, got {op!r}")
        if op.name in OPS or op.name in extras:
            raise InvalidArgument(f"expressions: extra op name {op.name!r} is already taken")
        if op.domain not in DOMAINS or op.arity < 1:
            raise InvalidArgument(
                f"expressions: extra op {op.name!r} needs arity >= 1 and a domain among "
                f"{sorted(DOMAINS)} (got arity {op.arity}, domain {op.domain!r})")
        extras[op.name] = op
    return extras


@dataclass(frozen=True)
class _Value:
    """A named value of the graph, with an upper bound on its elements' magnitude."""
    name: str
    shape: tuple
    bound: float

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    def __str__(self):
        return self.name


@dataclass(frozen=True)
class _Step:
    value: _Value
    args: tuple  # names of the operands
    fn: object  # (namespace, *operands) -> the value, calling the namespace's functions
    text: str

    def __str__(self):
        return f"{self.value}:{_format_shape(self.value.shape)} = {self.text}"


class Expression:
    """A straight-line program over tensors, drawn by ``expressions``.

    ``expr(*tensors)`` runs the steps on the input tensors and returns the output
    tensor; ``input_shapes`` lists the shapes it expects, ``steps`` the steps (each
    with ``text``, ``args`` naming its operands, and the ``value`` it defines).

    The steps call the functions of ``graphgrad.functions`` (``add``, ``exp``,
    ``sum(x, axis, keepdims)``, ``getitem(x, index)``, …) and Python's operators.
    ``expr(*arrays, namespace=ref)`` calls those of ``ref`` instead: any object with
    the same names and signatures runs the same graph elsewhere, e.g. in numpy as a
    reference (``graphgrad.testing.differential``).
    """

    def __init__(self, inputs, steps, output):
        self.inputs = tuple(inputs)
        self.steps = tuple(steps)
        self.output = output

    @property
    def input_shapes(self):
        return [v.shape for v in self.inputs]

    def __call__(self, *inputs, namespace=F):
        if len(inputs) != len(self.inputs):
            raise TypeError(f"expression takes {len(self.inputs)} inputs, got {len(inputs)}")
        values = {v.name: x for v, x in zip(self.inputs, inputs)}
        for step in self.steps:
            operands = (values[name] for name in step.args)
            values[step.value.name] = step.fn(namespace, *operands)
        return values[self.output.name]

    def __repr__(self):
        params = " ".join(f"{v}:{_format_shape(v.shape)}" for v in self.inputs)
        lines = [f"{{ lambda {params}."]
        lines += [f"    {step}" for step in self.steps]
        lines.append(f"  -> {self.output} }}")
        return "\n".join(lines)


class _Builder:
    """Draws the steps of one expression; ``op_<name>`` methods each add one step
    (two for a product with a transposed operand)."""

    def __init__(self, draw, shapes, input_bound):
        self.draw = draw
        self.names = _names()
        self.inputs = [_Value(next(self.names), shape, input_bound) for shape in shapes]
        self.values = list(self.inputs)
        self.steps = []
        self.uses = {v.name: 0 for v in self.values}
        self.kinks = 0

    # -- choosing operands --------------------------------------------------------
    def pick(self, candidates, label="operand"):
        """One of ``candidates``, values not used yet first (so every input is)."""
        ordered = sorted(candidates, key=lambda v: self.uses[v.name] > 0)
        return self.draw(st.sampled_from(ordered), label=label)

    def pair(self):
        """Two operands that broadcast together (possibly the same value twice)."""
        return tuple(self.operands(2))

    def operands(self, count):
        """``count`` operands that broadcast together (values may repeat)."""
        chosen = [self.pick(self.values)]
        for _ in range(count - 1):
            chosen.append(self.pick(
                [b for b in self.values if _broadcast_size(*chosen, b) <= MAX_SIZE]))
        return chosen

    def emit(self, fn, args, text, bound):
        """Add the step ``fn(namespace, *args)``; its shape comes from running it
        on ones."""
        if bound > LIMIT:
            fn, text, bound = _then_tanh(fn), f"tanh({text})", 1.0
        out = fn(F, *(tensor(np.ones(a.shape), requires_grad=False) for a in args))
        value = _Value(next(self.names), np.shape(out.data), bound)
        self.steps.append(_Step(value, tuple(a.name for a in args), fn, text))
        self.values.append(value)
        self.uses[value.name] = 0
        for a in args:
            self.uses[a.name] += 1
        return value

    def applies(self, op):
        if op in ("getitem", "matmul"):
            return any(v.ndim >= 1 for v in self.values)
        if op == "dot":
            return any(self.dot_partners(v) for v in self.values)
        return True

    def finish(self):
        """Add every value nobody consumed into the output."""
        out = self.values[-1]
        for v in self.values[:-1]:
            if self.uses[v.name] == 0:
                out = self.add_into(out, v)
        return Expression(self.inputs, self.steps, out)

    def add_into(self, out, v):
        """``out + v``; where that would not broadcast or grow past ``MAX_SIZE``,
        ``out + mean(v)``, or ``out + sum(v)`` for an empty ``v`` (the sum of
        nothing is 0, its mean NaN)."""
        if _broadcast_size(out, v) <= MAX_SIZE:
            return self.emit(lambda ns, x, y: ns.add(x, y), (out, v), f"{out} + {v}",
                             out.bound + v.bound)
        if v.size == 0:
            return self.emit(lambda ns, x, y: x + ns.sum(y), (out, v), f"{out} + sum({v})",
                             out.bound)
        return self.emit(lambda ns, x, y: x + ns.mean(y), (out, v), f"{out} + mean({v})",
                         out.bound + v.bound)

    # -- element-wise -------------------------------------------------------------
    def op_add(self):
        a, b = self.pair()
        self.emit(lambda ns, x, y: ns.add(x, y), (a, b), f"{a} + {b}", a.bound + b.bound)

    def op_sub(self):
        a, b = self.pair()
        self.emit(lambda ns, x, y: ns.sub(x, y), (a, b), f"{a} - {b}", a.bound + b.bound)

    def op_mul(self):
        a, b = self.pair()
        self.emit(lambda ns, x, y: ns.mul(x, y), (a, b), f"{a} * {b}", a.bound * b.bound)

    def op_div(self):
        a, b = self.pair()
        self.emit(lambda ns, x, y: x / (y * y + 1), (a, b), f"{a} / ({b}*{b} + 1)", a.bound)

    def op_neg(self):
        a = self.pick(self.values)
        self.emit(lambda ns, x: ns.neg(x), (a,), f"-{a}", a.bound)

    def op_pow(self):
        # (x*x + 0.5) ** y only for small x and y: an overflow would give inf · 0 = nan
        exponents = [v for v in self.values if v.bound <= 3]
        forms = ["constant", "integer", "base"] + (["tensor"] if exponents else [])
        form = self.draw(st.sampled_from(forms), label="pow form")
        if form == "tensor":
            b = self.pick(exponents, label="exponent")
            a = self.pick([v for v in self.values
                           if v.bound <= 10 and _broadcast_size(v, b) <= MAX_SIZE])
            self.emit(lambda ns, x, y: ns.pow(x * x + 0.5, y), (a, b),
                      f"({a}*{a} + 0.5) ** {b}",
                      _power_bound(max(a.bound ** 2 + 0.5, 2.0), b.bound))
            return
        a = self.pick(self.values)
        if form == "constant":
            p = self.draw(st.sampled_from([2, 0.5, -1, 1.5, -0.5, 3]), label="exponent")
            bound = max(_power_bound(a.bound ** 2 + 0.5, p), 0.5 ** p)
            self.emit(lambda ns, x: (x * x + 0.5) ** p, (a,), f"({a}*{a} + 0.5) ** {p}", bound)
        elif form == "integer":
            k = self.draw(st.sampled_from([2, 3]), label="exponent")
            self.emit(lambda ns, x: x ** k, (a,), f"{a} ** {k}", _power_bound(a.bound, k))
        else:
            self.emit(lambda ns, x: 1.5 ** x, (a,), f"1.5 ** {a}", _power_bound(1.5, a.bound))

    def op_exp(self):
        a = self.pick(self.values)
        self.emit(lambda ns, x: ns.exp(ns.tanh(x)), (a,), f"exp(tanh({a}))", math.e)

    def op_log(self):
        a = self.pick(self.values)
        self.emit(lambda ns, x: ns.log(x * x + 1), (a,), f"log({a}*{a} + 1)",
                  math.log1p(a.bound ** 2))

    def op_tanh(self):
        a = self.pick(self.values)
        self.emit(lambda ns, x: ns.tanh(x), (a,), f"tanh({a})", 1.0)

    def offset(self):
        """A shift for the next kink, unlike the previous ones: ``relu(a + s)``,
        ``maximum(a, b + s)`` and ``max(a + ramp)`` do not sit on their kinks when
        values repeat (``maximum(a, a)``) or inputs are simple (0, equal values)."""
        self.kinks += 1
        return round(0.0371 + 0.0419 * (self.kinks * GOLDEN % 1), 4)

    def op_relu(self):
        a = self.pick(self.values)
        s = self.offset()
        self.emit(lambda ns, x: ns.relu(x + s), (a,), f"relu({a} + {s})", a.bound + s)

    def op_maximum(self):
        a, b = self.pair()
        s = self.offset()
        self.emit(lambda ns, x, y: ns.maximum(x, y + s), (a, b), f"maximum({a}, {b} + {s})",
                  max(a.bound, b.bound + s))

    # -- a user's own ----------------------------------------------------------------
    def op_extra(self, op):
        """``op.fn`` on operands moved into its domain; graphgrad's namespace only."""
        transform, form, bounded = DOMAINS[op.domain]
        operands = self.operands(op.arity)

        def step(ns, *xs):
            if ns is not F:
                raise NotImplementedError(
                    f"expressions: {op.name!r} is a user's op (ExtraOp): it runs on "
                    f"graphgrad tensors only, so a reference namespace "
                    f"({getattr(ns, '__name__', type(ns).__name__)}) cannot "
                    f"evaluate this expression")
            return op.fn(*(transform(ns, x) for x in xs))

        bounds = [bounded(a.bound) for a in operands]
        bound = math.inf if op.bound is None else op.bound(*bounds)
        text = f"{op.name}({', '.join(form.format(a) for a in operands)})"
        self.emit(step, tuple(operands), text, bound)

    # -- reductions and broadcasting ------------------------------------------------
    def op_sum(self):
        a = self.pick(self.values)
        axis, keepdims = self.draw_axis(a.shape)
        self.emit(lambda ns, x: ns.sum(x, axis, keepdims), (a,),
                  f"sum({a}{_reduction_args(axis, keepdims)})",
                  a.bound * _reduced_count(a.shape, axis))

    def op_mean(self):
        """The mean over nonempty axes (the mean of nothing is NaN)."""
        a = self.pick(self.values)
        axis, keepdims = self.draw_axis(a.shape, nonempty=True)
        self.emit(lambda ns, x: ns.mean(x, axis, keepdims), (a,),
                  f"mean({a}{_reduction_args(axis, keepdims)})", a.bound)

    def op_max(self):
        """The max of ``a`` plus a ramp of distinct offsets, so no two elements tie."""
        a = self.pick(self.values)
        axis, keepdims = self.draw_axis(a.shape, nonempty=True)
        s = self.offset()
        ramp = f"{s}*arange({a.size}).reshape({a.shape})"
        self.emit(lambda ns, x: ns.max(x + _ramp(x, s), axis, keepdims), (a,),
                  f"max({a} + {ramp}{_reduction_args(axis, keepdims)})", a.bound + s * a.size)

    def op_broadcast_to(self):
        a = self.pick(self.values)
        budget = MAX_SIZE // max(a.size, 1)  # an empty value stays empty
        lead = self.draw(st.integers(0, MAX_NDIM - a.ndim), label="new axes")
        target = []
        for side in (1,) * lead + a.shape:
            if side == 1:
                side = self.draw(st.integers(1, min(3, budget)), label="side")
                budget //= side
            target.append(side)
        target = tuple(target)
        self.emit(lambda ns, x: ns.broadcast_to(x, target), (a,),
                  f"broadcast_to({a}, {target})", a.bound)

    def op_sum_to(self):
        a = self.pick(self.values)
        target = self.draw(shapes_broadcasting_to(a.shape), label="shape")
        self.emit(lambda ns, x: ns.sum_to(x, target), (a,), f"sum_to({a}, {target})",
                  a.bound * a.size / max(math.prod(target), 1))

    def draw_axis(self, shape, nonempty=False):
        """An ``axis`` argument for an array of ``shape`` (None, an int or a tuple,
        negative ones included) and ``keepdims``. With ``nonempty=True`` only axes of
        sides > 0 are reduced (the max of nothing is an error)."""
        ndim = len(shape)
        axes = [i for i, side in enumerate(shape) if side or not nonempty]
        kinds = [st.none()] if len(axes) == ndim else []
        if axes:
            kinds.append(st.integers(-len(axes), len(axes) - 1).map(
                lambda k: _axis_among(axes, ndim, k)))
        if ndim:
            kinds.append(hnp.valid_tuple_axes(len(axes)).map(
                lambda ks: tuple(_axis_among(axes, ndim, k) for k in ks)))
        axis = self.draw(st.one_of(kinds), label="axis")
        return axis, self.draw(st.booleans(), label="keepdims")

    # -- moving values ---------------------------------------------------------------
    def op_reshape(self):
        a = self.pick(self.values)
        target = self.draw(st.sampled_from(_reshape_targets(a.size)), label="shape")
        inferable = _inferable_sides(target)
        if inferable and self.draw(st.booleans(), label="use -1"):
            i = self.draw(st.sampled_from(inferable))
            target = target[:i] + (-1,) + target[i + 1:]
        self.emit(lambda ns, x: ns.reshape(x, target), (a,), f"reshape({a}, {target})", a.bound)

    def op_transpose(self):
        a = self.pick(self.values)
        if a.ndim < 2 or self.draw(st.booleans(), label="reverse axes"):
            self.emit(lambda ns, x: ns.transpose(x), (a,), f"transpose({a})", a.bound)
            return
        perm = self.draw(st.permutations(range(a.ndim)), label="axes")
        negative = self.draw(st.lists(st.booleans(), min_size=a.ndim, max_size=a.ndim),
                             label="negative axes")
        axes = tuple(p - a.ndim if neg else p for p, neg in zip(perm, negative))
        self.emit(lambda ns, x: ns.transpose(x, axes), (a,), f"transpose({a}, {axes})", a.bound)

    def op_getitem(self):
        a = self.pick([v for v in self.values if v.ndim >= 1])
        kinds = ["basic", "integer arrays"] if a.size else ["basic"]  # no position in 0
        kind = self.draw(st.sampled_from(kinds), label="index kind")
        if kind == "basic":
            index = tuple(self.draw_basic(side)
                          for side in a.shape[:self.draw(st.integers(1, a.ndim))])
        else:  # one or two integer arrays, on neighbouring axes, after some ':'
            count = self.draw(st.integers(1, min(2, a.ndim)), label="integer arrays")
            axis = self.draw(st.integers(0, a.ndim - count), label="first axis")
            sides = a.shape[axis:axis + count]
            longest = max(1, min(4, MAX_SIZE * math.prod(sides) // a.size))
            length = self.draw(st.integers(1, longest), label="index length")
            index = (slice(None),) * axis + tuple(
                self.draw_positions(side, length) for side in sides)
        self.emit(lambda ns, x: ns.getitem(x, index), (a,), f"{a}[{_format_index(index)}]",
                  a.bound)

    def draw_basic(self, side):
        """An integer or a nonempty slice (steps 1, 2 or -1) into an axis of ``side``;
        ``:`` into an empty axis."""
        if not side:
            return slice(None)
        if self.draw(st.booleans(), label="integer index"):
            return self.draw(st.integers(-side, side - 1), label="index")
        step = self.draw(st.sampled_from([1, 2, -1]), label="step")
        start = self.draw(st.integers(0, side - 1), label="start")
        if step < 0:
            return slice(start, None, -1)
        stop = self.draw(st.integers(start + 1, side), label="stop")
        return slice(start or None, None if stop == side else stop, None if step == 1 else step)

    def draw_positions(self, side, length):
        """Integer positions into an axis of ``side``, repeats and negatives included."""
        return np.array(self.draw(
            st.lists(st.integers(-side, side - 1), min_size=length, max_size=length),
            label="positions"))

    # -- products --------------------------------------------------------------------
    def op_matmul(self):
        """``a @ b`` for a compatible pair, or ``a`` with its own transpose."""
        a = self.pick([v for v in self.values if v.ndim >= 1])
        partners = [b for b in self.values if _product_size(np.matmul, a, b) <= MAX_SIZE]
        if a.ndim >= 2:  # the products (…, n, m) @ (…, m, n) and (…, m, n) @ (…, n, m)
            n, m = a.shape[-2:]
            partners += [form for form, side in (("swapaxes(a) @ a", m), ("a @ swapaxes(a)", n))
                         if math.prod(a.shape[:-2]) * side * side <= MAX_SIZE]
        partner = self.draw(st.sampled_from(partners), label="partner")
        if isinstance(partner, str):
            t = self.emit(lambda ns, x: ns.swapaxes(x, -1, -2), (a,), f"swapaxes({a}, -1, -2)",
                          a.bound)
            a, partner = (t, a) if partner.startswith("swapaxes") else (a, t)
        self.emit(lambda ns, x, y: ns.matmul(x, y), (a, partner), f"{a} @ {partner}",
                  a.bound * partner.bound * a.shape[-1])

    def op_dot(self):
        """``dot(a, b)`` for a compatible pair, or ``dot(a, a.T)`` for a matrix ``a``."""
        a = self.pick([v for v in self.values if self.dot_partners(v)])
        partner = self.draw(st.sampled_from(self.dot_partners(a)), label="partner")
        if partner == "transpose":
            partner = self.emit(lambda ns, x: ns.transpose(x), (a,), f"transpose({a})", a.bound)
        self.emit(lambda ns, x, y: ns.dot(x, y), (a, partner), f"dot({a}, {partner})",
                  a.bound * partner.bound * a.shape[-1])

    def dot_partners(self, a):
        partners = [b for b in self.values
                    if b.ndim <= 2 and _product_size(np.dot, a, b) <= MAX_SIZE]
        return partners + (["transpose"] if a.ndim == 2 and a.shape[0] ** 2 <= MAX_SIZE else [])


# -- helpers ----------------------------------------------------------------------------

def _names():
    """a, b, …, z, aa, ab, …"""
    for n in itertools.count(1):
        for letters in itertools.product(string.ascii_lowercase, repeat=n):
            yield "".join(letters)


def _then_tanh(fn):
    return lambda ns, *xs: ns.tanh(fn(ns, *xs))


def _ramp(x, step):
    """Distinct offsets 0, step, 2·step, … shaped and typed like ``x``."""
    return (step * np.arange(np.size(x))).reshape(np.shape(x)).astype(x.dtype)


def _power_bound(base, exponent):
    """base ** exponent for base > 0, or base 0 (values that are all 0: sums of
    nothing) and exponent > 0; saturating instead of overflowing."""
    if base == 0:
        return 0.0
    return math.exp(min(exponent * math.log(base), 700.0))


def _broadcast_size(*values):
    try:
        return math.prod(np.broadcast_shapes(*(v.shape for v in values)))
    except ValueError:
        return math.inf


def _product_size(product, a, b):
    """The size of ``product(a, b)`` (np.matmul or np.dot), inf where it is invalid."""
    if a.ndim == 0 or b.ndim == 0:
        return math.inf
    try:
        return product(np.zeros(a.shape), np.zeros(b.shape)).size
    except ValueError:
        return math.inf


def _axis_among(axes, ndim, k):
    """Axis ``axes[k]`` of an array of ``ndim`` axes, written negative when ``k`` is
    (so with every axis in ``axes``, axis ``k`` itself)."""
    return axes[k] - ndim if k < 0 else axes[k]


def _reduced_count(shape, axis):
    """How many elements a sum over ``axis`` adds up."""
    if axis is None:
        return math.prod(shape)
    axes = axis if isinstance(axis, tuple) else (axis,)
    return math.prod(shape[a] for a in axes)


def _reshape_targets(size):
    """Shapes an array of ``size`` elements can be reshaped to."""
    return _factorizations(size) if size else _empty_shapes()


@functools.lru_cache(maxsize=None)
def _empty_shapes(ndim=MAX_NDIM, max_side=3):
    """Every shape of 1 to ``ndim`` axes with a side 0 and the others up to
    ``max_side``, fewest axes first."""
    return [shape for n in range(1, ndim + 1)
            for shape in itertools.product(range(max_side + 1), repeat=n) if 0 in shape]


def _inferable_sides(shape):
    """The axes of ``shape`` that reshape can take as -1: those whose other sides
    multiply to a nonzero size (every axis, unless the shape is empty)."""
    return [i for i in range(len(shape)) if math.prod(shape[:i] + shape[i + 1:])]


@functools.lru_cache(maxsize=None)
def _factorizations(size, ndim=MAX_NDIM):
    """Every shape of at most ``ndim`` axes holding ``size`` elements, fewest axes first."""
    found = [()] if size == 1 else []
    if ndim:
        for side in range(1, size + 1):
            if size % side == 0:
                found += [(side,) + rest for rest in _factorizations(size // side, ndim - 1)]
    return sorted(set(found), key=lambda s: (len(s), s))


def _reduction_args(axis, keepdims):
    return (f", axis={axis}" if axis is not None else "") + (
        ", keepdims=True" if keepdims else "")


def _format_shape(shape):
    return "[" + ",".join(map(str, shape)) + "]"


def _format_index(index):
    return ", ".join(_format_index_part(part) for part in index)


def _format_index_part(part):
    if isinstance(part, slice):
        text = ("" if part.start is None else str(part.start)) + ":" + (
            "" if part.stop is None else str(part.stop))
        return text + ("" if part.step is None else f":{part.step}")
    if isinstance(part, np.ndarray):
        return str(part.tolist())
    return str(part)
