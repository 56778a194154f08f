"""Differential checks (``graphgrad.testing.differential``): random expression graphs,
and each op alone, evaluated by graphgrad and by plain numpy, and differentiated by
graphgrad, by HIPS autograd (first derivatives and Hessian-vector products) and by
central differences.

The checks against autograd are skipped where it is not installed (the ``test``
extra installs it). At scale: ``python -m benchmarks.differential --examples N``.
"""
import pytest
from hypothesis import given, settings, strategies as st

from graphgrad.testing.differential import CHECKS, cases, single_op_cases
from graphgrad.testing.strategies import OPS

NEEDS_AUTOGRAD = ("grad vs autograd", "hvp vs autograd")


def run(check, data, strategy):
    """Draw a case (an expression and its inputs) and run ``check`` on it: skipped
    for a check against autograd where autograd is not installed."""
    if check in NEEDS_AUTOGRAD:
        pytest.importorskip("autograd")
    CHECKS[check](*data.draw(strategy, label="case"))


@pytest.mark.parametrize("check", CHECKS)
@given(data=st.data())
def test_random_expressions(check, data):
    run(check, data, cases())


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("check", CHECKS)
@settings(max_examples=max(1, settings.default.max_examples // 4))  # 21 ops × 4 checks
@given(data=st.data())
def test_each_op(check, op, data):
    run(check, data, single_op_cases(op))
