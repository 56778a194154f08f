"""numpy's floating-point warnings from inside a node come again naming the node
(forward or backward) and its operands, at the user's line; elsewhere they stay
numpy's own; an "error" filter or np.errstate("raise") names the node too."""
import inspect
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import graphgrad as gg
from graphgrad.node import Node
from graphgrad.numpy_warnings import FloatingPointWarning


def line_of(text):
    """The line number of the line of this file's caller holding ``text``."""
    source, start = inspect.getsourcelines(sys._getframe(1).f_code)
    return start + next(i for i, line in enumerate(source) if text in line)


def recorded(fn):
    """The warnings ``fn()`` issues, recorded through the filters as they are."""
    with warnings.catch_warnings(record=True) as log:
        fn()
    return log


def test_forward_warning_names_the_node_at_the_users_line():
    a = gg.tensor(np.full((2, 3), 1e200), name="a")
    b = gg.tensor(np.full((3, 4), 1e200))

    def overflow():
        return a @ b  # the line the warning points at

    (w,) = recorded(overflow)
    assert w.category is FloatingPointWarning and issubclass(w.category, RuntimeWarning)
    assert str(w.message) == ("overflow encountered in matmul, in MatMul (@) on "
                              "x 'a' float64 (2, 3), float64 (3, 4)")
    assert (w.filename, w.lineno) == (__file__, line_of("return a @ b"))


def test_backward_warning_names_the_node_at_the_backward_line():
    x = gg.tensor(np.array([1e-300]), name="x")
    y = gg.sum(1 / x)  # forward: 1e300, fine; backward: −1 / x² overflows
    (w,) = recorded(lambda: y.backward())
    assert str(w.message).startswith("overflow encountered in divide, in the backward of "
                                     "Div (/) on ")
    assert "x 'x' float64 (1,)" in str(w.message)
    assert (w.filename, w.lineno) == (__file__, line_of("recorded(lambda: y.backward())"))


class Reciprocal(Node):
    """A user's own node: 1 / x (numpy warns at x = 0)."""

    op = "1/x"

    def forward(self, x):
        return 1 / x

    def backward(self, dout):
        return dout


def test_a_users_own_node_and_a_replay_are_named_too():
    (w,) = recorded(lambda: Reciprocal()(gg.tensor(np.zeros(2))))
    assert "divide by zero encountered in divide, in Reciprocal (1/x)" in str(w.message)
    weight = gg.tensor(np.ones(2))
    step = gg.compile(lambda x: gg.sum(gg.exp(x) * weight))
    step(np.zeros(2))
    (w,) = recorded(lambda: step(np.full(2, 1000.0)))
    assert "overflow encountered in exp, in Exp (exp) on float64 (2,)" in str(w.message)
    assert w.filename == __file__


def test_warnings_outside_nodes_stay_numpys():
    (w,) = recorded(lambda: np.exp(np.array([1000.0])))
    assert w.category is RuntimeWarning and str(w.message) == "overflow encountered in exp"


def test_an_error_filter_or_errstate_raise_names_the_node():
    x = gg.tensor(np.array([1000.0]), name="x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FloatingPointWarning, match=r"overflow encountered in exp, in "
                                                       r"Exp \(exp\) on x 'x' float64 \(1,\)"):
            gg.exp(x)
        y = gg.sum(1 / gg.tensor(np.array([1e-300])))
        with pytest.raises(FloatingPointWarning, match="in the backward of Div"):
            y.backward()
    with np.errstate(over="raise"), pytest.raises(
            FloatingPointError, match=r"Exp \(exp\) on x 'x' float64 \(1,\): overflow"):
        gg.exp(x)


def test_filters_for_numpys_warnings_still_apply():
    x = gg.tensor(np.array([1000.0]))
    with warnings.catch_warnings(record=True) as log:
        warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)
        gg.exp(x)
        with gg.Tape():  # puts graphgrad's entry first again: the text still matches
            gg.exp(x)
    assert log == []


def test_pytest_warns_sees_the_named_warning_once_graphgrad_is_first_again():
    """pytest.warns puts its filter first; a new leaf tensor, a Tape, a backward pass
    or a replay puts graphgrad's back in front."""
    with pytest.warns(FloatingPointWarning, match=r"in Exp \(exp\)"):
        gg.exp(gg.tensor(np.array([1000.0])))
    x = gg.tensor(np.array([1000.0]))
    with pytest.warns(FloatingPointWarning, match=r"in Exp \(exp\)"):
        with gg.Tape():
            gg.exp(x)


def test_a_script_shows_the_users_file_and_line():
    script = textwrap.dedent("""\
        import numpy as np
        import graphgrad as gg
        w = gg.tensor(np.array([1e200, 1.0]), name="w")
        y = gg.sum(w * w)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert ('<string>:4: FloatingPointWarning: overflow encountered in multiply, in Mul (×) '
            "on x 'w' float64 (2,), x 'w' float64 (2,)") in result.stderr
    assert "graphgrad" not in result.stderr.replace("import graphgrad", "")
