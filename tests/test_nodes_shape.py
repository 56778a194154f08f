"""Reshape, Transpose, GetItem, GetItemGrad, Copy, SetItem: nodes that move values
without changing them, so each backward is a pure rearrangement (a scatter-add for
indexing, a zeroed region for an assignment); and Cast, which changes only their dtype."""
import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import graphgrad as gg
from graphgrad.functions import getitem_grad, setitem
from graphgrad.nodes import Cast, Copy, GetItem, GetItemGrad, Reshape, SetItem, Transpose
from graphgrad.testing import backprop_gradients, check_float32, gradcheck, gradgradcheck
from graphgrad.testing.strategies import arrays, shapes

X = np.random.default_rng(0).normal(size=(2, 3, 4))
RESHAPES = [(4, 6), (-1,), (2, -1, 2), (24, 1), (1, 2, 12)]
PERMUTATIONS = [None, (1, 0, 2), (2, 0, 1), (-1, 0, 1), (0, -1, -2)]
INDICES = {  # a name: an index into X
    "int": 1, "negative int": (-1, 2), "slice": (slice(None), slice(None, None, 2)),
    "reversed": slice(None, None, -1), "ellipsis": (Ellipsis, -1),
    "newaxis": (slice(None), None, slice(1, 3)), "empty slice": slice(5, 9),
    "int array with repeats": [0, 0, 1], "int array on an axis": (slice(None), [2, 2, 0]),
    "int arrays broadcast": (np.array([[0], [1]]), np.array([1, 1, 2])),
    "boolean mask": np.array([True, False]), "tensor of labels": gg.tensor(np.array([1, 1])),
}

SETITEM = {  # a name: an index into X and the shape of the value written there
    "int": (1, (3, 4)), "number at an int": ((0, 1, 2), ()),
    "slice, value broadcast": ((slice(None), slice(0, 2)), (4,)),
    "reversed slice": ((slice(None, None, -1), 0), (2, 1)),
    "ellipsis": ((Ellipsis, -1), (3,)), "newaxis": ((slice(None), None, slice(1, 3)), ()),
    "empty slice": (slice(5, 9), (4,)), "extra leading axis": ((0, 0), (1, 4)),
    "boolean mask": (X > 0, ()), "boolean mask, values": (X > 0, (int(np.sum(X > 0)),)),
    "mask of the first axis": (np.array([True, False]), (3, 1)),
    "int array": ((slice(None), [2, 0]), (2, 1, 4)),
    "int arrays broadcast": ((np.array([[0], [1]]), np.array([1, 2])), (1, 4)),
    "tensor of labels": (gg.tensor(np.array([1, 0])), (3, 4)),
}


@st.composite
def reshaped(draw, shape):
    """A shape of the same size: ``shape``'s sides permuted, some neighbours merged,
    perhaps one side given as -1."""
    sides = list(draw(st.permutations(shape)))
    for i in reversed(range(len(sides) - 1)):
        if draw(st.booleans()):
            sides[i:i + 2] = [sides[i] * sides[i + 1]]
    if sides and draw(st.booleans()):
        sides[draw(st.integers(0, len(sides) - 1))] = -1
    return tuple(sides)


@st.composite
def permutations(draw, ndim):
    """``axes`` for transpose: None, or a permutation, negative axes included."""
    if draw(st.booleans()):
        return None
    axes = draw(st.permutations(range(ndim)))
    return tuple(draw(st.sampled_from([a, a - ndim])) for a in axes)


# -- (a) central differences ------------------------------------------------------------

@pytest.mark.parametrize("shape", RESHAPES)
def test_gradcheck_reshape(shape):
    assert gradcheck(lambda x: gg.reshape(x, shape), [X])


@pytest.mark.parametrize("axes", PERMUTATIONS)
def test_gradcheck_transpose(axes):
    assert gradcheck(lambda x: gg.transpose(x, axes), [X])


@pytest.mark.parametrize("name", INDICES)
def test_gradcheck_getitem(name):
    assert gradcheck(lambda x: x[INDICES[name]], [X])


@pytest.mark.parametrize("name", [n for n in INDICES if n != "tensor of labels"])
def test_gradcheck_getitem_grad(name):
    index = INDICES[name]
    assert gradcheck(lambda y: getitem_grad(y, index, X.shape), [X[index]])


def test_gradcheck_copy():
    assert gradcheck(lambda x: x.copy() * x, [X])


@pytest.mark.parametrize("name", SETITEM)
def test_gradcheck_setitem(name):
    index, value_shape = SETITEM[name]
    value = np.random.default_rng(1).normal(size=value_shape)
    assert gradcheck(lambda x, v: setitem(x, index, v), [X, value])


@pytest.mark.parametrize("name", ["int", "boolean mask, values", "int arrays broadcast"])
def test_second_derivatives_of_setitem(name):
    index, value_shape = SETITEM[name]
    value = np.random.default_rng(2).normal(size=value_shape)
    assert gradgradcheck(lambda x, v: setitem(x * x, index, v * v), [X, value])


def test_tensor_methods_and_swapaxes():
    assert gradcheck(lambda x: x.reshape(4, 6).T, [X])
    assert gradcheck(lambda x: x.transpose(2, 0, 1), [X])
    assert gradcheck(lambda x: gg.swapaxes(x, 0, -1), [X])



@pytest.mark.parametrize("axes", [(), (None,), ((1, 0, 2),), (1, 0, 2), ([2, 0, 1],)])
def test_transpose_method_takes_numpys_arguments(axes):
    np.testing.assert_array_equal(gg.tensor(X).transpose(*axes).data, X.transpose(*axes))


@pytest.mark.parametrize("axes", [(0,), ([],), ((),), ((1, 0),)])
def test_transpose_method_with_too_few_axes_raises_as_numpy(axes):
    """``t.transpose(0)`` of a 3-D t names one axis of three: numpy raises, and so does
    graphgrad (it reversed the axes, as for ``t.transpose()``)."""
    with pytest.raises(ValueError):
        X.transpose(*axes)
    with pytest.raises(ValueError, match=r"Transpose \(T\) on float64 \(2, 3, 4\)"):
        gg.tensor(X).transpose(*axes)

# -- (b) properties over random shapes and values -------------------------------------------

@given(shapes().flatmap(lambda s: st.tuples(arrays(s), reshaped(s))))
def test_reshape_gradients_match_central_differences(x_and_shape):
    x, shape = x_and_shape
    assert gradcheck(lambda t: gg.reshape(t, shape), [x])
    np.testing.assert_array_equal(backprop_gradients(lambda t: gg.reshape(t, shape), x)[0], np.ones_like(x))


@given(shapes().flatmap(lambda s: st.tuples(arrays(s), permutations(len(s)))))
def test_transpose_gradients_match_central_differences(x_and_axes):
    x, axes = x_and_axes
    v = np.random.default_rng(0).normal(size=np.transpose(x, axes).shape)
    assert gradcheck(lambda t: gg.transpose(t, axes), [x])
    # backprop of ⟨v, xᵀ⟩ is v transposed back
    (g,) = backprop_gradients(lambda t: gg.transpose(t, axes) * v, x)
    np.testing.assert_array_equal(np.transpose(g, axes), v)


@given(shapes(min_dims=1).flatmap(lambda s: st.tuples(
    arrays(s), hnp.basic_indices(s, allow_newaxis=True) | hnp.integer_array_indices(s))))
def test_getitem_gradients_match_central_differences(x_and_index):
    x, index = x_and_index
    assert gradcheck(lambda t: t[index], [x])
    assert gradcheck(lambda y: getitem_grad(y, index, x.shape), [x[index]])
    # each element's gradient counts how often the index picked it
    counts = np.zeros(x.shape)
    np.add.at(counts, index, 1)
    np.testing.assert_array_equal(backprop_gradients(lambda t: t[index], x)[0], counts)


@st.composite
def assignment_indices(draw, shape):
    """An index that picks each position of an array of ``shape`` at most once:
    basic (with newaxis), a boolean mask, or distinct integers along the first axis."""
    kind = draw(st.sampled_from(["basic", "mask", "integers"]))
    if kind == "basic":
        return draw(hnp.basic_indices(shape, allow_newaxis=True))
    if kind == "mask":
        return draw(hnp.arrays(bool, shape))
    side = shape[0]
    picked = draw(st.lists(st.integers(-side, side - 1), unique_by=lambda i: i % side))
    return (np.array(picked, dtype=np.int64), Ellipsis)


@st.composite
def assignments(draw):
    """(x, index, value): a value broadcastable to the region x[index]."""
    x = draw(arrays(shapes(min_dims=1)))
    index = draw(assignment_indices(x.shape))
    region = x[index].shape
    value_shape = draw(hnp.broadcastable_shapes(region, max_dims=len(region), min_side=0).filter(
        lambda s: np.broadcast_shapes(s, region) == region))
    return x, index, draw(arrays(value_shape))


@given(arrays(shapes()))
def test_copy_gradients_match_central_differences(x):
    assert gradcheck(lambda t: t.copy(), [x])
    np.testing.assert_array_equal(backprop_gradients(lambda t: t.copy(), x)[0], np.ones_like(x))


@given(assignments())
def test_setitem_gradients_match_central_differences(case):
    x, index, value = case
    expected = x.copy()
    expected[index] = value
    np.testing.assert_array_equal(setitem(gg.tensor(x), index, gg.tensor(value)).data, expected)
    assert gradcheck(lambda t, v: setitem(t, index, v), [x, value])
    # ∂Σ/∂x: 1 where x survives, 0 where it was overwritten; ∂Σ/∂v: how many it covers
    gx, gv = backprop_gradients(lambda t, v: setitem(t, index, v), x, value)
    kept = np.ones(x.shape)
    kept[index] = 0
    np.testing.assert_array_equal(gx, kept)
    covers = np.sum(np.ones(x[index].shape)) / max(np.size(value), 1)
    np.testing.assert_array_equal(gv, np.full(np.shape(value), covers))


# -- (c) the nodes alone, DLFS layer style ------------------------------------------------------

def test_reshape_layer():
    layer = Reshape((4, 6))
    np.testing.assert_array_equal(layer.forward(X), X.reshape(4, 6))
    dout = np.arange(24.0).reshape(4, 6)
    np.testing.assert_array_equal(layer.backward(dout), dout.reshape(2, 3, 4))


@pytest.mark.parametrize("axes, inverse", [((1, 2, 0), (2, 0, 1)), ((-1, 0, 1), (1, 2, 0)),
                                           (None, None)])
def test_transpose_layer(axes, inverse):
    layer = Transpose(axes)
    out = layer.forward(X)
    np.testing.assert_array_equal(out, np.transpose(X, axes))
    dout = np.arange(24.0).reshape(out.shape)
    np.testing.assert_array_equal(layer.backward(dout), np.transpose(dout, inverse))


def test_getitem_layer_accumulates_repeats():
    x = np.array([10.0, 11.0, 12.0, 13.0, 14.0])
    layer = GetItem([0, 0, 3])
    np.testing.assert_array_equal(layer.forward(x), [10.0, 10.0, 13.0])
    np.testing.assert_array_equal(layer.backward(np.array([1.0, 2.0, 3.0])),
                                  [3.0, 0.0, 0.0, 3.0, 0.0])


def test_getitem_layer_with_slices():
    layer = GetItem((slice(None), slice(None, None, -1)))
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(layer.forward(x), x[:, ::-1])
    np.testing.assert_array_equal(layer.backward(np.array([[1.0, 2, 3], [4, 5, 6]])),
                                  [[3.0, 2, 1], [6, 5, 4]])


def test_getitem_grad_layer_is_the_scatter_add():
    layer = GetItemGrad((np.array([0, 2, 0]), 1), (3, 2))
    np.testing.assert_array_equal(layer.forward(np.array([1.0, 2.0, 3.0])),
                                  [[0.0, 4.0], [0.0, 0.0], [0.0, 2.0]])
    dout = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    np.testing.assert_array_equal(layer.backward(dout), [2.0, 6.0, 2.0])


def test_copy_layer_is_a_new_array():
    layer = Copy()
    out = layer.forward(X)
    np.testing.assert_array_equal(out, X)
    assert not np.shares_memory(out, X)
    assert layer.backward(X) is X


def test_setitem_layer_writes_a_copy():
    x = np.array([1.0, -2.0, 3.0, -4.0])
    layer = SetItem(x < 0)
    np.testing.assert_array_equal(layer.forward(x, 0.5), [1.0, 0.5, 3.0, 0.5])
    np.testing.assert_array_equal(x, [1.0, -2.0, 3.0, -4.0])  # left as it was
    gx, gv = layer.backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(gx, [1.0, 0.0, 3.0, 0.0])
    assert gv == 6.0


def test_setitem_refuses_an_index_that_repeats_a_position():
    """numpy keeps the last of the values written to one position, CuPy any of them:
    the gradient would be the library's guess too."""
    with pytest.raises(ValueError, match=r"SetItem \(\[\]=\) on .*\(5,\).*\(2,\).*"
                                         r"position 3 twice"):
        setitem(gg.tensor(np.zeros(5)), [3, -2], gg.tensor([1.0, 2.0]))
    setitem(gg.tensor(np.zeros(5)), [3, -1], gg.tensor([1.0, 2.0]))  # distinct: fine


# -- (d) float32 stays float32 --------------------------------------------------------------

FLOAT32_CASES = {
    "reshape": lambda x: gg.reshape(x, (-1, 2)), "transpose": lambda x: gg.transpose(x, (2, 0, 1)),
    "getitem": lambda x: x[:, [0, 0, 2], ::2],
    "getitem_grad": lambda x: getitem_grad(x, (slice(None), [0, 0, 1]), (2, 2, 4)),
    "copy": lambda x: x.copy(),
    "setitem": lambda x: setitem(x, (slice(None), [2, 0]), x[:, :2] * 2.0),
    "setitem number": lambda x: setitem(x, x.data > 0, 0.5),
}


@pytest.mark.parametrize("name", FLOAT32_CASES)
def test_float32_outputs_and_gradients(name):
    check_float32(FLOAT32_CASES[name], X, rtol=0)


# -- Cast: the dtype changes, the gradient comes back in the input's dtype ----------
def test_gradcheck_cast():
    assert gradcheck(lambda t: gg.astype(t, np.float64) * t, [X])


@given(shapes().flatmap(lambda s: st.tuples(arrays(s), st.sampled_from(
    [np.float16, np.float32, np.float64]))))
def test_cast_gradients_match_central_differences_in_the_inputs_dtype(x_and_dtype):
    x, dtype = x_and_dtype
    w = np.random.default_rng(1).normal(size=x.shape)
    if dtype != np.float16:  # float16 rounds x ± eps to the same values: no difference
        # linear in x, so a large step is exact but for the rounding to ``dtype``
        assert gradcheck(lambda t: gg.astype(gg.astype(t, dtype), np.float64) * w, [x],
                         eps=1e-2)
    t = gg.tensor(x)
    y = t.astype(dtype)
    assert y.dtype == dtype and y.creator.op == "astype"
    (y * w.astype(dtype)).sum().backward()
    assert t.grad.dtype == np.float64
    np.testing.assert_array_equal(t.grad, w.astype(dtype).astype(np.float64))


def test_cast_layer_and_astype_copies_as_numpy_does():
    node = Cast(np.float32)
    y = node.forward(np.array([1.5, 2.0]))
    assert y.dtype == np.float32 and node.backward(np.ones(2, np.float32)).dtype == np.float64
    t = gg.tensor(X)
    assert t.astype(np.float64) is not t and t.astype(np.float64).creator.op == "astype"
    assert t.astype(np.float64, copy=False) is t


def test_cast_records_its_backward_with_create_graph():
    t = gg.tensor(X)
    (g,) = gg.grad(gg.sum(gg.astype(t, np.float32) ** 2), [t], create_graph=True)
    assert g.dtype == np.float64 and g.creator.op == "astype"
    np.testing.assert_allclose(g.data, 2 * X, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, bool])
def test_a_cast_to_integers_or_booleans_passes_no_gradient_back(dtype):
    """Rounding to integers (or to booleans) is a step function: its derivative is 0,
    so the result is a constant (as in PyTorch), and only ``t``'s direct use counts."""
    t = gg.tensor(np.array([1.4, 2.6, -0.7]))
    y = t.astype(dtype)
    assert not y.requires_grad and y.dtype == dtype
    (y * 3.0 + t).sum().backward()
    np.testing.assert_array_equal(t.grad, np.ones(3))


def test_a_write_into_an_integer_array_passes_no_gradient_back():
    """numpy truncates 1.7² to 2 in an integer array: a step function of w."""
    buffer = gg.tensor(np.zeros(3, dtype=np.int64))
    w = gg.tensor(1.7, name="w")
    written = setitem(buffer, 1, w * w)
    assert written.dtype == np.int64 and not written.requires_grad
    buffer[1] = w * w
    np.testing.assert_array_equal(buffer.data, [0, 2, 0])
    assert not buffer.requires_grad
    (buffer * 1.0 + w).sum().backward()
    assert w.grad == 3.0  # from the three elements of ``+ w`` only


def test_reshape_method_without_a_shape_raises_as_numpy():
    with pytest.raises(TypeError, match=r"reshape\(\) takes exactly 1 argument \(0 given\)"):
        gg.tensor([1.0]).reshape()
    assert gg.tensor([1.0]).reshape(()).shape == ()


@pytest.mark.parametrize("kind", ["array", "list", "tensor"])
def test_an_index_written_after_the_forward_pass_changes_nothing(kind):
    """GetItem and SetItem keep their index for backward: a copy, not the caller's
    array (``idx[0] = 1`` after ``z = x[idx]`` sent the gradient to the new place)."""
    x = gg.tensor(np.arange(3.0))
    idx = {"array": np.array([0, 2]), "list": [0, 2],
           "tensor": gg.tensor(np.array([0, 2]), requires_grad=False)}[kind]
    z = x[idx]
    w = gg.tensor(np.ones(3)) * 1.0
    w[idx] = gg.tensor(np.array([5.0, 6.0]))
    if kind == "tensor":
        idx.data[0] = 1
    else:
        idx[0] = 1
    (z.sum() + w.sum()).backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 1.0])
