"""Gradient-failure diagnosis (issue 20): a failing gradcheck names the node to blame
and the line that recorded it, draws the failing graph, tells kinks and
finite-difference noise from wrong gradients, has a fast mode, and a user's own ops
go into the random expression graphs. Every bug here is planted on purpose."""
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import find, given, settings, strategies as st

import graphgrad as gg
from graphgrad import autograd
from graphgrad.node import Node
from graphgrad.nodes import Max, Maximum, MaxPool, Relu, SoftmaxWithLoss, Sum, arithmetic
from graphgrad.testing import GradcheckError, evidence, gradcheck, gradgradcheck
from graphgrad.testing.blame import fresh, verdict
from graphgrad.testing.differential import NUMPY
from graphgrad.testing.strategies import ExtraOp, arrays, expressions
from planted import DetachedSquare

RNG = np.random.default_rng(20)
X, W, B = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 5)), RNG.normal(size=5)
LABELS = np.array([0, 2, 1, 4])


class Scale(Node):
    """y = k·x, with a backward that is off by a factor (1% by default):
    ∂L/∂x = error·k·∂L/∂y."""

    __slots__ = ("k", "error")
    op = "scale"

    def __init__(self, k, error=1.01):
        self.k, self.error = k, error

    def forward(self, x):
        return self.k * x

    def backward(self, dout):
        return dout * self.k * self.error


def recorded_at(marker):
    """``file:line`` of the line of this file holding ``marker``."""
    lines = Path(__file__).read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if marker in line and "def " not in line
                  and "recorded_at(" not in line)
    return f"{__file__}:{number}"


def ten_nodes(x, w, b, error=1.01):
    """Ten nodes: @, +, tanh, a Scale, sigmoid, −, exp, ×, sum, mean."""
    with gg.scope("layer"):
        h = gg.tanh(x @ w + b)
    h = Scale(0.5, error)(h)  # the node under test
    y = gg.sigmoid(h, fused=True) * gg.exp(-h)
    return gg.mean(gg.sum(y, axis=1))


def classifier(x, w, b):
    h = gg.relu(x @ w + b)  # broadcasting b
    return gg.softmax_with_loss(h * 2.0, LABELS)  # the fused loss


def check_fails(fn, inputs, tmp_path, check=gradcheck, **options):
    """The GradcheckError message of a check that must fail."""
    with pytest.raises(GradcheckError) as error:
        check(fn, inputs, report_dir=tmp_path, **options)
    return str(error.value)


# -- blame ---------------------------------------------------------------------------

def test_a_wrong_backward_in_a_ten_node_graph_is_named_with_its_line(tmp_path):
    assert gradcheck(lambda x, w, b: ten_nodes(x, w, b, error=1.0), [X, W, B])
    message = check_fails(ten_nodes, [X, W, B], tmp_path)
    assert message.startswith("gradcheck: input 0 (shape (4, 3)) at index (0, 0)")
    assert (f"blame: node n3 Scale (scale) in scope 'layer'" not in message
            and f"blame: node n3 Scale (scale), recorded at "
                f"{recorded_at('# the node under test')}" in message)
    assert re.search(r"input 0 \(float64 \(4, 5\)\): backward \S+ vs numeric \S+ along a "
                     r"random direction; at element", message)
    assert "the other 9 nodes pass their local checks" in message


class OneWrongElement(Node):
    """y = x, with a backward off by 1% at one element only (the rest exact)."""

    op = "id"

    def forward(self, x):
        return x

    def backward(self, dout):
        dx = dout.copy()
        dx.flat[dx.size // 2] *= 1.01
        return dx


def test_one_wrong_element_of_a_large_node_is_blamed(tmp_path):
    """A node of 1,600 elements, far above the element-wise detail: its local check
    weighs each element by its own tolerance, as gradcheck's fast mode does, so one
    element off by 1% is found (along unit directions it hid among the others)."""
    x = np.random.default_rng(21).normal(size=(40, 40))
    message = check_fails(lambda t: gg.tanh(OneWrongElement()(t)), [x], tmp_path)
    assert "blame: node n0 OneWrongElement (id)" in message


def test_a_wrong_fused_node_is_named(tmp_path, monkeypatch):
    right = SoftmaxWithLoss.backward
    monkeypatch.setattr(SoftmaxWithLoss, "backward",
                        lambda self, dout: (right(self, dout)[0] * 1.02, None))
    message = check_fails(classifier, [X, W, B], tmp_path)
    assert (f"blame: node n4 SoftmaxWithLoss (softmax_with_loss), recorded at "
            f"{recorded_at('# the fused loss')}") in message
    assert "input 0 (float64 (4, 5))" in message  # the scores; the labels are not checked


def wrong_sum_to(g, shape):
    """sum_to that keeps the first row instead of summing the broadcast axis."""
    if g is None or np.ndim(g) == len(shape):
        return g
    return g[0]


def test_a_wrong_broadcast_gradient_names_the_node_that_broadcast(tmp_path, monkeypatch):
    monkeypatch.setattr(arithmetic, "sum_to", wrong_sum_to)
    message = check_fails(classifier, [X, W, B], tmp_path)
    assert message.startswith("gradcheck: input 2 (shape (5,))")  # b, broadcast over rows
    assert f"blame: node n1 Add (+), recorded at {recorded_at('# broadcasting b')}" in message
    assert "input 1 (float64 (5,))" in message


def test_a_wrong_second_derivative_is_named(tmp_path):
    def fn(x):
        return gg.sum(gg.tanh(DetachedSquare()(x) * 0.3 + x))  # the detached square

    x = RNG.normal(size=3)
    assert gradcheck(fn, [x])  # its first derivative is right
    message = check_fails(fn, [x], tmp_path, check=gradgradcheck)
    assert (f"blame: node n0 DetachedSquare (sq), recorded at "
            f"{recorded_at('# the detached square')}") in message
    assert ("its backward, recorded with create_graph, differentiated in input 0 "
            "(float64 (3,)): engine 0 vs numeric") in message
    assert "the other 4 nodes pass their local checks" in message


def test_a_fault_between_the_nodes_is_put_on_the_engine(tmp_path, monkeypatch):
    monkeypatch.setattr(autograd, "_accumulate", lambda total, dx, owned: total)  # drops terms
    message = check_fails(lambda a: gg.tanh(a) * a, [RNG.normal(size=3)], tmp_path)
    assert "blame: no single node — the backward of each of the 2 nodes agrees" in message
    assert "accumulating the gradients of a tensor used more than once" in message


def test_an_input_outside_the_graph_is_named(tmp_path):
    message = check_fails(lambda a, b: gg.tensor(np.sin(a.data)) * b,
                          [np.ones(2), np.ones(2)], tmp_path)
    assert message.startswith("gradcheck: input 0")
    assert "blame: no node — input 0 reaches the output through no recorded node" in message


def test_a_node_that_cannot_run_on_its_own_is_blamed_with_the_error(tmp_path):
    class Bookkeeping(Scale):
        """Its wrong backward reads ``id``, which only recording gives a node."""

        __slots__ = ()

        def backward(self, dout):
            return dout * self.k * (self.error if self.id else 1.0)

    message = check_fails(lambda a: gg.sum(Bookkeeping(2.0)(a) + a), [RNG.normal(size=3)],
                          tmp_path)
    assert "blame: node n0 Bookkeeping (scale)" in message
    assert "  its local check raised AttributeError: " in message


def test_a_gradient_of_the_wrong_shape_is_blamed(tmp_path):
    class Squashed(Scale):
        __slots__ = ()

        def backward(self, dout):
            return np.sum(dout, keepdims=True) * self.k

    message = check_fails(lambda a: Squashed(2.0)(a), [np.ones(3)], tmp_path)
    assert message.startswith("gradcheck: input 0 has shape (3,) but its backprop gradient "
                              "has shape (1,)")
    assert ("input 0 (float64 (3,)): gradient of shape (1,) for an input of shape (3,)"
            in message)


def test_local_checks_run_fresh_nodes_and_leave_the_graph_as_recorded():
    node = Sum(axis=1, keepdims=True)
    copy = fresh(node)
    assert (type(copy), copy.axis, copy.keepdims) == (Sum, 1, True)
    x = gg.tensor(RNG.normal(size=(2, 3)))
    result = verdict(lambda a: Relu()(a * a).sum(), [x])
    assert result.blamed is None and len(result.nodes) == 3
    relu = result.nodes[1]
    assert relu.mask.shape == (2, 3) and not relu.freed  # still as its forward left it


# -- the drawing and hypothesis -------------------------------------------------------

def test_the_failing_graph_is_drawn_with_the_blamed_node_in_red(tmp_path):
    with pytest.raises(GradcheckError) as error:
        gradcheck(ten_nodes, [X, W, B], report_dir=tmp_path / "reports")
    drawing = error.value.drawing
    assert drawing.parent == tmp_path / "reports" and drawing.suffix == ".svg"
    assert f"drawing: {drawing}" in str(error.value)
    svg = drawing.read_text()
    assert svg.count("#ff6b6b") == 1  # the blamed node only
    assert re.search(r">analytic (&#45;)?[\d.]+<", svg)
    assert re.search(r">numeric (&#45;)?[\d.]+<", svg)


def test_the_report_directory_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHGRAD_REPORT_DIR", str(tmp_path))
    with pytest.raises(GradcheckError) as error:
        gradcheck(lambda a: Scale(2.0)(a), [np.ones(2)])
    assert error.value.drawing.parent == tmp_path


def test_inside_hypothesis_the_report_is_noted_with_the_falsifying_example(tmp_path):
    @settings(database=None, max_examples=10)
    @given(arrays((3,)))
    def property_(x):
        gradcheck(lambda a: Scale(2.0)(a), [x], report_dir=tmp_path)

    with pytest.raises(GradcheckError) as error:
        property_()
    notes = "\n".join(getattr(error.value, "__notes__", []))
    assert "Falsifying example" in notes and "blame: node n0 Scale (scale)" in notes
    assert len(list(tmp_path.iterdir())) == 1  # drawn once: for the final example only


# -- kinks ------------------------------------------------------------------------------

@pytest.mark.parametrize("fn, x", [
    (lambda a: gg.relu(a) * 2.0, [1e-9, 0.0, -1e-9, 1.0]),
    (lambda a: gg.relu(a - 1e-3) * a, [1e-3 + 3e-7, 1e-3, 0.5]),
    (lambda a: gg.max(a, axis=1), [[1.0, 1.0, 1.0, 0.0], [2.0, 2.0, 0.0, -1.0]]),
    (lambda a: gg.max(a * a), [1.0, -1.0, 0.5]),
    (lambda a: gg.maximum(a, a), [1.0, 0.0, -2.0]),
    (lambda a: gg.maximum(a, 1e-8) + gg.maximum(a, a.sum()), [1e-8, 0.0, 2e-8]),
], ids=["relu-1e-9", "relu-deep", "max-three-ties", "max-tie-of-squares", "maximum-x-x",
        "maximum-ties"])
def test_kinks_give_no_false_failure(fn, x):
    assert gradcheck(fn, [np.array(x)])
    assert gradgradcheck(fn, [np.array(x)])


def test_max_pooling_ties_give_no_false_failure():
    image = np.ones((1, 1, 4, 4))  # every window a four-way tie
    assert gradcheck(lambda x: MaxPool(2, 2, 2)(x) * 3.0, [image])


def test_nodes_say_where_their_kinks_are():
    np.testing.assert_array_equal(Relu().kinks(np.array([-1.0, 0.0, 2.0])), [-1, 0, 2])
    np.testing.assert_array_equal(Maximum().kinks(np.array([1.0, 2.0]), 2.0), [-1, 0])
    np.testing.assert_array_equal(Max(axis=1).kinks(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]])),
                                  [[-2, 0, 0], [1, -2, -1]])  # ties at 0, the maximum > 0
    d = MaxPool(2, 2, 2).kinks(np.arange(16.0).reshape(1, 1, 4, 4))
    assert d.shape == (1, 1, 2, 2, 4) and (d[..., 3] == 1).all() and (d[..., :3] < 0).all()
    assert Sum().kinks(np.ones(2)) is None  # smooth


def test_a_kink_is_crossed_where_central_differences_alone_would_fail():
    # the cases above are not vacuous: at relu's input 1e-9 the central difference is ½
    f = lambda a: float(gg.relu(gg.tensor(a)).data)  # noqa: E731
    assert (f(np.array(1e-9 + 1e-6)) - f(np.array(1e-9 - 1e-6))) / 2e-6 == pytest.approx(0.5, 1e-2)


def test_skipped_kinks_are_reported_beside_a_real_failure(tmp_path):
    message = check_fails(lambda a: Scale(2.0)(gg.relu(a)), [np.array([0.0, 1.0, 2.0])],
                          tmp_path)
    assert "at index (1,)" in message  # (0,) sits on the kink: skipped, not blamed
    assert ("skipped 1 element at kinks, checked no further: (0,): kink crossed at node n0 "
            "(relu, input 0)") in message
    assert "blame: node n1 Scale (scale)" in message


def test_a_wrong_gradient_at_a_kink_is_still_caught_one_sided(tmp_path):
    class WrongRelu(Relu):
        __slots__ = ()

        def backward(self, dout):
            return dout * self.mask * 0.8

    message = check_fails(lambda a: WrongRelu()(a), [np.array([1e-9, 1.0])], tmp_path)
    assert "at index (0,)" in message and "(one-sided: the step crossed a kink crossed at " \
                                          "node n0 (relu, input 1e-09))" in message


# -- evidence ---------------------------------------------------------------------------

def test_the_error_by_eps_tells_a_wrong_gradient_from_noise(tmp_path):
    message = check_fails(lambda a: Scale(2.0)(a), [np.ones(2)], tmp_path)
    assert re.search(r"\|backprop − numerical\| at \(0,\) by eps: 1e-03: [\d.e-]+, 1e-04: "
                     r"[\d.e-]+, 1e-05: [\d.e-]+, 1e-06: [\d.e-]+ — flat in eps \(order 0.0\): "
                     r"a wrong gradient", message)
    truncation = [c * eps ** 2 for c, eps in zip([3.0] * 4, evidence.EPSILONS)]
    rounding = [1e-16 / eps for eps in evidence.EPSILONS]
    assert "truncation" in evidence.verdict(evidence.order(truncation))
    assert "rounding noise" in evidence.verdict(evidence.order(rounding))


# -- fast mode ---------------------------------------------------------------------------

PLANTED = {  # name -> (fn, inputs, check, what the message blames)
    "custom node": (ten_nodes, [X, W, B], gradcheck, "node n3 Scale"),
    "second derivative": (lambda a: gg.sum(DetachedSquare()(a) * a), [RNG.normal(size=3)],
                          gradgradcheck, "node n0 DetachedSquare"),
}


@pytest.mark.parametrize("name", PLANTED)
def test_fast_mode_finds_each_planted_bug(name, tmp_path):
    fn, inputs, check, blamed = PLANTED[name]
    message = check_fails(fn, inputs, tmp_path, check=check, fast=True, seed=3)
    assert "elements differ" in message and f"blame: {blamed}" in message  # re-checked


def test_fast_mode_finds_a_planted_bug_in_a_fused_node_and_in_broadcasting(tmp_path,
                                                                           monkeypatch):
    right = SoftmaxWithLoss.backward
    with monkeypatch.context() as patch:
        patch.setattr(SoftmaxWithLoss, "backward",
                      lambda self, dout: (right(self, dout)[0] * 1.02, None))
        assert "node n4 SoftmaxWithLoss" in check_fails(classifier, [X, W, B], tmp_path,
                                                        fast=True, seed=3)
    monkeypatch.setattr(arithmetic, "sum_to", wrong_sum_to)
    assert "node n1 Add" in check_fails(classifier, [X, W, B], tmp_path, fast=True, seed=3)


class OffAt(Node):
    """y = x², with a backward 2x·dout that is off by a factor ``error`` at one
    element (the last)."""

    __slots__ = ("x", "error")
    op = "off_at"

    def __init__(self, error):
        self.error = error

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, dout):
        dx = 2 * self.x * dout
        dx.flat[-1] *= self.error  # the deliberate mistake
        return dx


FAST_MISSES = {  # name -> (input, error): a fault that one projection ⟨a, u⟩ dilutes
    "small element beside a large one": (np.array([1e3, 1.0]), 1.5),
    "one element of 10,000": (np.random.default_rng(1).normal(size=(100, 100)), 1.1),
}


@pytest.mark.parametrize("name", FAST_MISSES)
def test_fast_mode_holds_every_element_to_its_own_tolerance(name, tmp_path):
    x, error = FAST_MISSES[name]
    message = check_fails(lambda v: OffAt(error)(v), [x], tmp_path, fast=True)
    last = tuple(side - 1 for side in x.shape)
    assert f"at index {last}" in message and f"(1 of {x.size} elements differ)" in message


def test_fast_mode_passes_right_gradients_with_few_evaluations():
    calls = []

    def counted(x, w, b):
        calls.append(1)
        return classifier(x, w, b)

    assert gradcheck(counted, [X, W, B], fast=True)
    assert len(calls) == 1 + 3 * 2 * 2  # one pass, then 2 directions × 2 sides per input
    assert gradgradcheck(classifier, [X, W, B], fast=True)


# -- a user's own ops in random graphs --------------------------------------------------------

class Cubic(Node):
    """y = x³ + x, with a backward that forgets the 1 of 3x² + 1 (wrong at every x)."""

    __slots__ = ("x",)
    op = "cubic"

    def forward(self, x):
        self.x = x
        return x ** 3 + x

    def backward(self, dout):
        return dout * 3 * self.x ** 2


CUBIC = ExtraOp("cubic", lambda x: Cubic()(x), bound=lambda b: b ** 3 + b)  # the user's op
SOFTPLUS = ExtraOp("softplus", lambda x, y: gg.log(gg.exp(x) + y), arity=2,
                   domain="positive", bound=lambda a, b: a + b)


@given(expressions([(2,), (3, 1)], extra_ops=[SOFTPLUS], ops=["softplus", "mul", "sum"]))
def test_extra_ops_are_mixed_into_the_graphs(expr):
    user = r"softplus\((?P<x>\w+)\*(?P=x) \+ 0\.5, (?P<y>\w+)\*(?P=y) \+ 0\.5\)"  # domain
    assert all(re.match(rf"(tanh\()?({user}|\w+ [*+] \w+|sum\()", step.text)
               for step in expr.steps)
    a, b = np.linspace(-1, 1, 2), np.array([[0.5], [-2.0], [1.0]])
    assert gradcheck(expr, [a, b])
    if "softplus" in repr(expr):
        with pytest.raises(NotImplementedError, match="'softplus' is a user's op"):
            expr(a, b, namespace=NUMPY)  # the differential references cannot run it


def test_extra_ops_are_checked():
    with pytest.raises(Exception, match="already taken"):
        expressions([(2,)], extra_ops=[ExtraOp("exp", np.exp)])
    with pytest.raises(Exception, match="needs arity >= 1 and a domain"):
        expressions([(2,)], extra_ops=[ExtraOp("f", np.exp, domain="complex")])
    kinked = ExtraOp("kink", gg.relu, kinked=True)
    with pytest.raises(Exception, match="at least one op"):
        expressions([(2,)], ops=["kink"], smooth=True, extra_ops=[kinked])


def test_a_bug_in_a_user_op_shrinks_to_a_graph_of_at_most_three_operations(tmp_path):
    def fails(case):
        expr, a, b = case
        try:
            gradcheck(expr, [a, b], report_dir=tmp_path)
        except GradcheckError:
            return True
        return False

    cases = st.tuples(expressions([(2,), ()], extra_ops=[CUBIC]), arrays((2,)), arrays(()))
    expr, a, b = find(cases, fails, settings=settings(database=None, max_examples=200))
    assert len(expr.steps) <= 3 and "cubic(" in repr(expr), expr
    message = check_fails(expr, [a, b], tmp_path)
    assert f"Cubic (cubic), recorded at {recorded_at('# the user' + chr(39) + 's op')}" in message

