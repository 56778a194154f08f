"""The shortcuts taken for speed give exactly what the plain code gives.

Each fast path (see benchmarks/) skips work in a common case: these tests run it and
the general path on the same values (calling the general code directly, or with an
input equal in value that the fast path's condition turns away) and hold the fast
path to the general path's answer, edge values included.
"""
import operator
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import graphgrad as gg
from graphgrad.autograd import seed_for
from graphgrad.backend import numpy_backend
from graphgrad.testing import gradcheck

EDGES = [0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan, 1e308, -1e-310]


def same(a, b):
    """Equal values (NaN equal to NaN), equal types."""
    return type(a) is type(b) and (a == b or (a != a and b != b))


@pytest.mark.parametrize("x", EDGES)
@pytest.mark.parametrize("y", [0, 0.0, 3, np.float64(-1.0), np.float64(np.nan), -np.inf])
def test_scalar_maximum_is_numpys(x, y):
    """A float64 scalar and a number are compared (the fast path); ``np.maximum`` is
    the general path."""
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


REDUCTIONS = [  # (namespace function, the ufunc its general path reduces with)
    (numpy_backend.max, np.maximum), (numpy_backend.min, np.minimum),
    (numpy_backend.sum, np.add)]


def reduce_both_ways(ours, ufunc, x, axis, keepdims):
    """(ours(x), the general path's ``ufunc.reduce(x)``, whether ours took the
    transposed path: it alone copies ``x.T`` with ``np.ascontiguousarray``)."""
    with mock.patch.object(np, "ascontiguousarray", wraps=np.ascontiguousarray) as copy:
        got = ours(x, axis=axis, keepdims=keepdims)
    return got, ufunc.reduce(x, axis=axis, keepdims=keepdims), copy.called


def assert_same_reduction(got, want, ufunc, x, axis):
    """Equal shape and dtype; max and min equal exactly, sums to rounding (the
    transposed path adds in another order): n·eps·Σ|x| along the axis."""
    assert got.shape == want.shape and got.dtype == want.dtype
    if ufunc is not np.add:
        np.testing.assert_array_equal(got, want)
        return
    n = x.size if axis is None else x.shape[axis]
    bound = n * np.finfo(x.dtype).eps * np.add.reduce(np.abs(x), axis=axis, keepdims=True)
    assert np.all(np.abs(got - want) <= bound.reshape(np.shape(want)))


@st.composite
def reductions(draw):
    """(x, axis, keepdims). Four draws in five are what the transposed path takes,
    64–130 rows of 1–16 columns reduced along a row; the fifth is any matrix and
    axis. float64 or float32."""
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    if draw(st.integers(0, 4)) < 4:
        shape = (draw(st.integers(64, 130)), draw(st.integers(1, 16)))
        axis = draw(st.sampled_from([-1, 1]))
    else:
        shape = draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=130))
        axis = draw(st.sampled_from([-1, 1, 0, None]))
    elements = st.floats(-1e6, 1e6, width=np.finfo(dtype).bits)
    return draw(hnp.arrays(dtype, shape, elements=elements)), axis, draw(st.booleans())


@given(reductions())
def test_reductions_give_the_general_paths_answer(case):
    """Tall, narrow matrices reduce a transposed copy over rows; others do not."""
    x, axis, keepdims = case
    for ours, ufunc in REDUCTIONS:
        got, want, transposed = reduce_both_ways(ours, ufunc, x, axis, keepdims)
        assert_same_reduction(got, want, ufunc, x, axis)
    event("transposed path" if transposed else "general path")


def test_row_max_of_a_tall_narrow_matrix_takes_the_transposed_path():
    scores = np.random.default_rng(0).standard_normal((100, 10)).astype(np.float32)
    row_max, general, transposed = reduce_both_ways(numpy_backend.max, np.maximum, scores,
                                                    -1, True)
    assert transposed and row_max.shape == (100, 1) and row_max.dtype == np.float32
    np.testing.assert_array_equal(row_max, general)


ARITHMETIC = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}


@pytest.mark.parametrize("op", ARITHMETIC)
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((), ()), ((2, 3), (3,)), ((2, 1), (1, 4))])
def test_arithmetic_with_and_without_broadcasting(op, shapes):
    rng = np.random.default_rng(1)
    x, y = (gg.tensor(rng.standard_normal(s)) for s in shapes)
    assert gradcheck(lambda a, b: ARITHMETIC[op](a, b).sum(), [x, y])


def gradients(fn, *values):
    """∂Σfn/∂ each value, by backward."""
    xs = [gg.tensor(v) for v in values]
    fn(*xs).sum().backward()
    return [x.grad for x in xs]


@pytest.mark.parametrize("op", ARITHMETIC)
@pytest.mark.parametrize("shape", [(3,), (), (2, 3)])
def test_arithmetic_of_one_shape_skips_sum_to_and_gives_its_gradients(op, shape):
    """Operands of one shape pass ∂L/∂z on unsummed; ``y`` with a leading axis of 1
    (the same values) takes the broadcasting path, ``sum_to``: equal gradients."""
    rng = np.random.default_rng(1)
    x, y = np.asarray(rng.standard_normal(shape)), np.asarray(rng.standard_normal(shape))
    fast = gradients(ARITHMETIC[op], x, y)
    general = gradients(ARITHMETIC[op], x, y[None])
    np.testing.assert_array_equal(fast[0], general[0])
    np.testing.assert_array_equal(fast[1], general[1][0])


def test_a_node_that_saves_nothing_can_be_swept_again():
    """Only nodes with saved values are freed (as in PyTorch): ``+`` needs nothing."""
    x = gg.tensor(2.0)
    y = x + x
    y.backward()
    y.backward()
    assert x.grad == 4.0


@pytest.mark.parametrize("value", [np.float32(2), 2.0, np.float16(3)])
def test_scalar_seed_keeps_the_output_dtype(value):
    x = gg.tensor(value)
    (x * x).backward()
    assert type(x.grad) is type(x.data) and x.grad == 2 * value


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_scalar_seed_is_the_general_paths(dtype):
    """A loss held as a numpy scalar is seeded with its dtype's 1 (the fast path); the
    same value as a 0-d array takes the general path (``ones_like``): the same seed."""
    fast = seed_for(gg.tensor(dtype(2)), None)
    general = seed_for(gg.tensor(np.array(2, dtype)), None)
    assert type(fast) is type(general) is dtype and fast == general == 1


@pytest.mark.parametrize("data", [2.5, np.ones((2, 2), np.float32), np.arange(3.0)],
                         ids=["float", "float32 array", "float64 array"])
@pytest.mark.parametrize("requires_grad", [True, False])
def test_tensor_fast_paths_match_the_general_path(data, requires_grad):
    """With no device, a Python float or a float array skips ``tensor``'s checks;
    with device="cpu" it takes them: the same tensor."""
    fast = gg.tensor(data, name="a", requires_grad=requires_grad)
    general = gg.tensor(data, name="a", requires_grad=requires_grad, device="cpu")
    assert type(fast.data) is type(general.data) and fast.dtype == general.dtype
    assert (fast.data is data) == (general.data is data)
    assert (fast.requires_grad, fast.name) == (general.requires_grad, general.name)
    np.testing.assert_array_equal(fast.data, general.data)


def test_scope_context_restores_the_outer_scope_after_an_error():
    with pytest.raises(ValueError):
        with gg.scope("outer"):
            raise ValueError
    assert (gg.tensor(1.0) * 2).creator.scope is None


def sum_of_uses(x, ws):
    """Σ tanh(x·w) over the arrays ``ws``: x is used len(ws) times."""
    parts = [gg.tanh(x * w) for w in ws]
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total.sum()


def test_a_tensor_used_many_times_gets_the_sum_of_its_gradients():
    """Later terms are added in place into the sum the sweep made: the sum is right,
    and no other tensor's gradient changes under it."""
    rng = np.random.default_rng(2)
    x = gg.tensor(rng.standard_normal((3, 4)))
    ws = [rng.standard_normal((3, 4)) for _ in range(5)]
    with gg.Tape() as tape:
        loss = sum_of_uses(x, ws)
    loss.backward()
    expected = sum((1 - np.tanh(x.data * w) ** 2) * w for w in ws)
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)
    for node, out in zip(tape.nodes, tape.outputs):  # every gradient: the chain rule
        if node.op == "tanh":
            np.testing.assert_array_equal(out.grad, np.ones((3, 4)))


def test_in_place_sums_equal_new_sums():
    """The sweep adds later terms in place into the sum it owns; the sweep on tensors
    (create_graph) makes a new sum for each term: the same bits."""
    rng = np.random.default_rng(2)
    x = gg.tensor(rng.standard_normal((3, 4)))
    ws = [rng.standard_normal((3, 4)) for _ in range(5)]
    (in_place,) = gg.grad(sum_of_uses(x, ws), [x])
    (new_sums,) = gg.grad(sum_of_uses(x, ws), [x], create_graph=True)
    np.testing.assert_array_equal(in_place.data, new_sums.data)


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
