"""``x[index] = value`` on tensors: recorded as a SetItem node where a gradient flows
through ``x`` or the value (``x`` stays the same object, its previous version moves
into a new tensor, which the value's own graph reads), written into the array
elsewhere; refused where a gradient would silently be wrong: other nodes recorded
before the write that took ``x``, a leaf that requires grad, a step's input or a
parameter under ``gg.compile``."""
import shutil
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import graphgrad as gg
import viz
from graphgrad import autograd
from graphgrad.testing import gradcheck
from graphgrad.testing.strategies import arrays, shapes

VALUES = np.array([[-1.0, 0.5, 2.0], [3.0, -0.25, -4.0]])


def graph_tensor(values=VALUES, name="y"):
    """A leaf x and y = 2x, a tensor with a creator, named ``name``."""
    x = gg.tensor(values, name="x")
    y = x * 2.0
    y.name = name
    return x, y


# -- recorded writes --------------------------------------------------------------

def test_a_write_records_a_setitem_node_on_the_same_object():
    x, y = graph_tensor()
    same, mul = y, y.creator
    y[0, 1:] = 7.0
    assert y is same and y.creator.op == "[]=" and type(y.creator).__name__ == "SetItem"
    previous = y.creator.inputs[0]
    assert previous is not y and previous.creator is mul and mul.outputs == (previous,)
    np.testing.assert_array_equal(previous.data, 2 * VALUES)  # the old value, kept
    np.testing.assert_array_equal(y.data, [[-2.0, 7.0, 7.0], [6.0, -0.5, -8.0]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[2.0, 0.0, 0.0], [2.0, 2.0, 2.0]])


def test_the_value_written_gets_its_gradient():
    x, y = graph_tensor()
    v = gg.tensor(np.array([10.0, 20.0, 30.0]), name="v")
    mask = VALUES > 0
    y[mask] = v[[0, 1, 2]][:1] * 1.0  # a value tensor broadcast over the masked region
    seed = np.arange(6.0).reshape(2, 3)
    y.backward(seed)
    np.testing.assert_array_equal(v.grad, [seed[mask].sum(), 0.0, 0.0])
    np.testing.assert_array_equal(x.grad, 2 * np.where(mask, 0.0, seed))


def test_a_value_of_the_regions_shape_gets_each_element():
    x, y = graph_tensor()
    v = gg.tensor(np.array([5.0, 6.0]), name="v")
    y[:, 2] = v
    y.backward(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(v.grad, [2.0, 5.0])


def test_writes_in_a_row_chain_their_versions():
    x, y = graph_tensor()
    y[0] = 1.0
    y[:, 0] = y[:, 1] * 3.0  # reads the version after the first write
    np.testing.assert_array_equal(y.data, [[3.0, 1.0, 1.0], [-1.5, -0.5, -8.0]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0, 0.0], [0.0, 8.0, 2.0]])


def test_a_tensor_written_into_itself():
    x, y = graph_tensor()
    y[:, :2] = y[:, 1:]
    y[...] = y
    np.testing.assert_array_equal(y.data, [[1.0, 4.0, 4.0], [-0.5, -8.0, -8.0]])
    y.backward(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0, 6.0], [0.0, 6.0, 18.0]])


def test_a_node_that_saved_its_output_keeps_the_old_version():
    """Exp saved y = eˣ for its backward; the write leaves that array as it was."""
    x = gg.tensor(VALUES)
    y = gg.exp(x)
    y[0] = 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.where([[False] * 3, [True] * 3], np.exp(VALUES), 0))


def test_a_write_of_a_value_that_requires_grad_into_a_constant():
    """A leaf that needs no gradient becomes the output of the write."""
    buffer = gg.tensor(np.zeros(3), requires_grad=False)
    kept = buffer.data
    w = gg.tensor(2.0, name="w")
    buffer[1] = w * w
    assert buffer.requires_grad and buffer.creator.op == "[]="
    np.testing.assert_array_equal(buffer.data, [0.0, 4.0, 0.0])
    np.testing.assert_array_equal(kept, np.zeros(3))  # the old version's array
    buffer.sum().backward()
    assert w.grad == 4.0


def test_written_gradients_match_central_differences():
    mask = VALUES > 0

    def fn(x, v):
        y = x * x
        y[mask] = v
        y[:, 1] = y[:, 0] * v
        return y

    assert gradcheck(fn, [VALUES, np.array(0.7)])


@st.composite
def writes(draw):
    """(x, a mask, the value written: a number, an array or a tensor's value)."""
    x = draw(arrays(shapes(min_dims=1, max_dims=3)))
    mask = draw(hnp.arrays(bool, x.shape))
    kind = draw(st.sampled_from(["number", "array", "tensor"]))
    region = (int(mask.sum()),)
    value = draw(st.floats(-3, 3)) if kind == "number" else draw(arrays(region))
    return x, mask, value, kind == "tensor"


@given(writes())
def test_masked_writes_give_numpys_values_and_the_right_gradients(case):
    x, mask, value, as_tensor = case
    t = gg.tensor(x)
    v = gg.tensor(np.asarray(value, dtype=float)) if as_tensor else value
    seed = np.random.default_rng(0).normal(size=x.shape)
    out = t * 1.0
    out[mask] = v
    expected = x.copy()
    expected[mask] = value
    np.testing.assert_array_equal(out.data, expected)
    out.backward(seed)
    np.testing.assert_array_equal(t.grad, np.where(mask, 0.0, seed))
    if as_tensor:
        np.testing.assert_array_equal(v.grad, np.broadcast_to(seed[mask], v.shape))


# -- refused: nodes recorded before the write that took the tensor ------------------

@pytest.mark.parametrize("consume", [
    lambda y: gg.sum(y),  # saves nothing of y
    lambda y: gg.sum(y * y),  # saves y
    lambda y: y[0, 0] + 0.0,
], ids=["sum", "mul", "getitem"])
def test_a_node_recorded_before_the_write_is_refused(consume):
    x, y = graph_tensor()
    z = consume(y)
    y[1] = 0.0
    with pytest.raises(RuntimeError, match=r"tensor 'y' of shape \(2, 3\).*modified in "
                                           r"place after the forward pass.*y\[index\] = v"):
        z.backward()
    with pytest.raises(RuntimeError, match="modified in place"):
        (z + y.sum()).backward()
    with pytest.raises(RuntimeError, match="modified in place"):
        gg.grad(z, x)


def test_a_data_write_before_it_is_still_caught_in_the_values_graph():
    """The value's nodes take x's previous version, which keeps x's write tick."""
    x, y = graph_tensor()
    square = y * y  # saves y's array
    y.data -= 1.0  # ...which this changes under it
    y[0] = square[1]
    with pytest.raises(RuntimeError, match=r"Mul \(×\).*modified in place"):
        y.sum().backward()


def test_nodes_recorded_after_the_write_are_not_refused():
    x, y = graph_tensor()
    y[1] = 0.0
    z = gg.sum(y * y)
    z.backward()
    np.testing.assert_array_equal(x.grad, np.where([[True] * 3, [False] * 3], 8 * VALUES, 0))


def test_the_sweep_checks_nothing_when_no_write_came_after_the_graph():
    _, y = graph_tensor()
    y[0] = 1.0  # a write before the graph below was recorded
    x = gg.tensor(VALUES)
    z = gg.sum(gg.exp(x) * x)
    with mock.patch.object(autograd, "_check_not_rewritten",
                           side_effect=AssertionError("checked")):
        z.backward()


# -- leaves and grad mode ------------------------------------------------------------

def test_a_leaf_that_requires_grad_is_refused():
    w = gg.tensor(VALUES.copy(), name="w")
    with pytest.raises(RuntimeError, match=r"leaf tensor 'w' that requires grad.*in "
                                           r"place.*gg\.no_grad\(\).*w\.data\[index\] = v"):
        w[0] = 1.0
    np.testing.assert_array_equal(w.data, VALUES)


def test_a_leaf_is_written_in_place_under_no_grad():
    array = VALUES.copy()
    w = gg.tensor(array, name="w")
    with gg.no_grad():
        w[0, 0] = 9.0
    assert w.data is array and array[0, 0] == 9.0 and w.creator is None


def test_a_leaf_written_after_a_node_saved_it_is_refused_at_backward():
    w = gg.tensor(VALUES.copy(), name="w")
    loss = gg.sum(w * w)
    with gg.no_grad():
        w[0, 0] = 9.0
    with pytest.raises(RuntimeError, match=r"Mul \(×\).*'w'.*modified in place"):
        loss.backward()


@pytest.mark.parametrize("targets, row", [
    (np.array([0, 2]), 1), (np.eye(3)[[0, 2]], np.eye(3)[1])], ids=["labels", "one-hot"])
def test_targets_written_after_the_loss_are_refused_at_backward(targets, row):
    """The fused loss saved the targets for its backward, (softmax(x) − t) / N."""
    x = gg.tensor(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0]]))
    t = gg.tensor(targets, name="t", requires_grad=False)
    loss = gg.softmax_with_loss(x, t)
    t[0] = row
    with pytest.raises(RuntimeError, match=r"SoftmaxWithLoss.*'t'.*modified in place"):
        loss.backward()


@pytest.mark.parametrize("through", ["a view of it", "the tensor it views"])
def test_a_write_into_memory_a_saved_tensor_shares_is_refused_at_backward(through):
    """``r = c[:2]`` is a view of c's array (as in numpy), so ``r[0] = 100`` writes into
    c too, and the other way round: a node that saved the other one is refused (it
    backpropagated the new values: w.grad [100, 1, 1])."""
    c = gg.tensor(np.ones(3), name="c", requires_grad=False)
    r = c[:2]
    w = gg.tensor(np.ones(3), name="w")
    if through == "a view of it":  # the node saved c; the write goes through r
        loss = gg.sum(w * c)
        r[0] = 100.0
        assert c.data[0] == 100.0  # numpy's semantics: one memory
    else:  # the node saved r; the write goes through c
        loss = gg.sum(r * w[:2])
        c[1] = 50.0
        assert r.data[1] == 50.0
    with pytest.raises(RuntimeError, match=r"Mul \(×\).*modified in place"):
        loss.backward()


def test_a_write_into_memory_nothing_saved_is_no_error():
    c = gg.tensor(np.ones(3), requires_grad=False)
    other = gg.tensor(np.ones(3), requires_grad=False)
    w = gg.tensor(np.ones(3), name="w")
    loss = gg.sum(w * c)
    other[:2][0] = 7.0  # another array altogether
    loss.backward()
    np.testing.assert_array_equal(w.grad, np.ones(3))


def test_a_constant_leaf_is_written_in_place():
    array = np.zeros(4)
    c = gg.tensor(array, requires_grad=False)
    c[1:3] = gg.tensor([1.0, 2.0], requires_grad=False)
    assert c.data is array and c.creator is None
    np.testing.assert_array_equal(array, [0.0, 1.0, 2.0, 0.0])
    scalar = gg.tensor(1.5, requires_grad=False)
    scalar[()] = 2.5
    assert scalar.item() == 2.5 and scalar.shape == ()


def test_a_graph_tensor_under_no_grad_is_written_in_place():
    x = gg.tensor(VALUES)
    e = gg.exp(x)
    array = e.data
    with gg.no_grad():
        e[0] = 0.0
    assert e.data is array and not array[0].any() and e.creator.op == "exp"
    with pytest.raises(RuntimeError, match=r"Exp \(exp\).*modified in place"):
        e.sum().backward()


# -- errors -----------------------------------------------------------------------

@pytest.mark.parametrize("write, kind, words", [
    (lambda y: y.__setitem__((0, 5), 1.0), IndexError, ["index 5", "axis 1"]),
    (lambda y: y.__setitem__(0, np.ones(4)), ValueError, ["(4,)", "(3,)"]),
    (lambda y: y.__setitem__([1, 1], np.ones((2, 3))), ValueError, ["position (1, 0) twice"]),
], ids=["index out of range", "shape mismatch", "repeated position"])
def test_a_bad_write_names_the_operation_and_shapes(write, kind, words):
    _, y = graph_tensor()
    with pytest.raises(kind, match=r"SetItem \(\[\]=\) on x 'y' float64 \(2, 3\)") as error:
        write(y)
    assert all(word in str(error.value) for word in words), str(error.value)
    assert y.creator.op == "×"  # nothing changed


def test_a_bad_write_in_place_names_the_operation():
    c = gg.tensor(np.zeros(3), name="c", requires_grad=False)
    with pytest.raises(ValueError, match=r"SetItem \(\[\]=\) in place on x 'c' float64 "
                                         r"\(3,\), float64 \(2,\)"):
        c[:] = np.ones(2)


# -- compile, drawing ----------------------------------------------------------------

def test_a_compiled_step_replays_the_write():
    rng = np.random.default_rng(0)
    W = gg.tensor(rng.normal(size=(3, 4)), name="W")

    def loss(x):
        h = x @ W
        h[:, 0] = 0.0
        h[1] = h[0] * 2.0
        return gg.sum(h * h)

    step = gg.compile(loss)
    for _ in range(3):
        x = rng.normal(size=(2, 3))
        W.grad = None
        value = step(x).item()
        compiled = W.grad
        W.grad = None
        expected = loss(gg.tensor(x, requires_grad=False))
        expected.backward()
        assert value == pytest.approx(expected.item(), rel=1e-12)
        np.testing.assert_allclose(compiled, W.grad, rtol=1e-12)


@pytest.mark.parametrize("write", [
    lambda x, W: x.__setitem__(0, 0.0),  # the step's input
    lambda x, W: W.__setitem__(0, 0.0),  # a parameter
], ids=["input", "parameter"])
def test_compile_refuses_writes_it_cannot_replay(write):
    W = gg.tensor(np.ones((3, 2)))

    def step(x):
        with gg.no_grad():
            write(x, W)
        return gg.sum(x @ W)

    with pytest.raises(RuntimeError, match="compile:.*in place"):
        gg.compile(step)(np.ones((2, 3)))


def written_graph():
    x, y = graph_tensor()
    y[0] = 1.0
    y.sum().backward()
    return y


def test_a_graph_with_a_write_draws():
    y = written_graph()
    assert "[]=" in viz.draw(y).source
    assert "set_item" in viz.text(y)


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs graphviz's dot")
def test_a_graph_with_a_write_plays_in_the_viewer():
    assert 'data-op="[]="' in viz.html(written_graph())
