"""The shortcuts taken for speed give exactly what the plain code gives.

Each fast path (see benchmarks/) skips work in a common case: these tests hold it to
the general path's answer, edge values included.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import graphgrad as gg
from graphgrad.backend import numpy_backend
from graphgrad.testing import gradcheck

EDGES = [0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan, 1e308, -1e-310]


def same(a, b):
    """Equal values (NaN equal to NaN), equal types."""
    return type(a) is type(b) and (a == b or (a != a and b != b))


@pytest.mark.parametrize("x", EDGES)
@pytest.mark.parametrize("y", [0, 0.0, 3, np.float64(-1.0), np.float64(np.nan), -np.inf])
def test_scalar_maximum_is_numpys(x, y):
    x = np.float64(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither warns
        assert same(numpy_backend.maximum(x, y), np.maximum(x, y))


@given(st.floats(allow_nan=True), st.floats(allow_nan=True))
def test_scalar_maximum_is_numpys_for_any_floats(x, y):
    assert same(numpy_backend.maximum(np.float64(x), y), np.maximum(np.float64(x), y))


def test_maximum_of_arrays_and_float32_scalars_is_numpys():
    a = np.array([[-1.0, 2.0], [np.nan, 0.5]], np.float32)
    assert np.array_equal(numpy_backend.maximum(a, 0), np.maximum(a, 0), equal_nan=True)
    s = np.float32(-3)
    assert same(numpy_backend.maximum(s, 0), np.maximum(s, 0))


TALL = hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1,
                                                max_side=130),
                  elements=st.floats(-1e6, 1e6))


@given(TALL, st.sampled_from([-1, 1, 0, None]), st.booleans())
def test_reductions_equal_numpys_on_any_matrix(x, axis, keepdims):
    """Tall, narrow matrices reduce a transposed copy over rows; others do not."""
    for ours, theirs in [(numpy_backend.max, np.max), (numpy_backend.min, np.min),
                         (numpy_backend.sum, np.sum)]:
        got, want = ours(x, axis=axis, keepdims=keepdims), theirs(x, axis=axis,
                                                                  keepdims=keepdims)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-6)


def test_row_max_of_a_tall_narrow_matrix_takes_the_transposed_path():
    scores = np.random.default_rng(0).standard_normal((100, 10)).astype(np.float32)
    row_max = numpy_backend.max(scores, axis=-1, keepdims=True)
    assert row_max.shape == (100, 1) and row_max.dtype == np.float32
    assert np.array_equal(row_max, scores.max(axis=1, keepdims=True))


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((), ()), ((2, 3), (3,)), ((2, 1), (1, 4))])
def test_arithmetic_with_and_without_broadcasting(op, shapes):
    rng = np.random.default_rng(1)
    x, y = (gg.tensor(rng.standard_normal(s)) for s in shapes)
    fn = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b}
    assert gradcheck(lambda a, b: fn[op](a, b).sum(), [x, y])


def test_a_node_that_saves_nothing_can_be_swept_again():
    """Only nodes with saved values are freed (as in PyTorch): ``+`` needs nothing."""
    x = gg.tensor(2.0)
    y = x + x
    y.backward()
    y.backward()
    assert x.grad == 4.0


def test_scalar_seed_keeps_the_output_dtype():
    for value in (np.float32(2), 2.0):
        x = gg.tensor(value)
        (x * x).backward()
        assert type(x.grad) is type(x.data) and x.grad == 4.0


def test_tensor_fast_paths_match_the_general_path():
    a = np.ones((2, 2), np.float32)
    t = gg.tensor(a, name="a")
    assert t.data is a and t.requires_grad and t.name == "a"
    assert type(gg.tensor(2.5).data) is np.float64
    assert not gg.tensor(np.arange(3)).requires_grad  # integer arrays: labels


def test_scope_context_restores_the_outer_scope_after_an_error():
    with pytest.raises(ValueError):
        with gg.scope("outer"):
            raise ValueError
    assert (gg.tensor(1.0) * 2).creator.scope is None


def test_a_tensor_used_many_times_gets_the_sum_of_its_gradients():
    """Later terms are added in place into the sum the sweep made: the sum is right,
    and no other tensor's gradient changes under it."""
    rng = np.random.default_rng(2)
    x = gg.tensor(rng.standard_normal((3, 4)))
    ws = [rng.standard_normal((3, 4)) for _ in range(5)]
    with gg.Tape() as tape:
        parts = [gg.tanh(x * w) for w in ws]
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        loss = total.sum()
    loss.backward()
    expected = sum((1 - np.tanh(x.data * w) ** 2) * w for w in ws)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)
    for node, out in zip(tape.nodes, tape.outputs):  # every gradient: the chain rule
        if node.op == "tanh":
            np.testing.assert_array_equal(out.grad, np.ones((3, 4)))


def test_in_place_sums_keep_float32_and_mixed_dtypes_right():
    x = gg.tensor(np.ones(3, np.float32))
    y = x * np.float32(2) + x * np.float32(3) + x * 4.0
    y.sum().backward()
    assert x.grad.dtype == np.float32 and np.array_equal(x.grad, [9, 9, 9])
    z = gg.tensor(np.ones(3))
    (z * np.ones(3, np.float32) + z * np.ones(3) + z).sum().backward()  # f32 and f64 terms
    assert np.array_equal(z.grad, [3, 3, 3]) and z.grad.dtype == np.float64


def test_in_place_sums_leave_gg_grad_results_independent():
    x = gg.tensor(np.arange(3.0))
    y = x * 2 + x * 3 + x
    (g,) = gg.grad(y.sum(), [x])
    np.testing.assert_array_equal(g.data, [6, 6, 6])
    (g2,) = gg.grad((x * x + x).sum(), [x])
    np.testing.assert_array_equal(g.data, [6, 6, 6])  # the first result is untouched
    np.testing.assert_array_equal(g2.data, 2 * x.data + 1)


def test_a_sum_handed_on_is_no_longer_added_into():
    """u's summed gradient passes unchanged through ``+`` to x, which then gets one
    more term: that term must not land in u.grad too."""
    x = gg.tensor(np.ones(2))
    v = x * 5.0  # recorded first, so swept after u's node has handed its sum to x
    u = x + 0.0
    y = u * 2.0 + u * 3.0 + u * 4.0 + v
    y.sum().backward()
    np.testing.assert_array_equal(u.grad, [9, 9])
    np.testing.assert_array_equal(x.grad, [14, 14])


def test_one_scope_object_entered_twice_restores_each_level():
    labels = gg.scope("layer")
    with labels as first:
        with labels as second:
            inner = (gg.tensor(1.0) * 2).creator.scope
        outer = (gg.tensor(1.0) * 2).creator.scope
    assert inner is second and second.parent is first and outer is first
    assert (gg.tensor(1.0) * 2).creator.scope is None
