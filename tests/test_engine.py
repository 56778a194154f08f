"""The engine itself: recording, the reverse sweep, accumulation, freeing, modes."""
import gc
from contextlib import nullcontext
import weakref

import numpy as np
import pytest
from hypothesis import given, strategies as st

import graphgrad as gg
from graphgrad.testing.strategies import arrays, expressions


def test_tensor_reuse_accumulates():
    x = gg.tensor(3.0)
    y = x * x + x
    y.backward()
    assert x.grad == pytest.approx(7.0)


def test_diamond_accumulates():  # early tinygrad overwrote here
    a = gg.tensor(2.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    assert b.grad == 2.0 and c.grad == 1.0


def test_intermediate_tensors_keep_their_gradient():
    x = gg.tensor(2.0)
    h = gg.exp(x)
    y = h * 3
    y.backward()
    assert h.grad == 3.0
    assert x.grad == pytest.approx(3 * np.exp(2.0))


def test_backward_accumulates_until_reset():
    x = gg.tensor([1.0, 2.0])
    gg.sum(x * x).backward()
    gg.sum(x * x).backward()
    np.testing.assert_allclose(x.grad, [4.0, 8.0])
    x.grad = None
    gg.sum(x * x).backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_shared_gradient_arrays_are_not_aliased():
    x, y = gg.tensor([1.0, 2.0]), gg.tensor([3.0, 4.0])
    (x + y).backward()
    x.grad *= 5
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


def test_broadcast_gradients_are_summed_back():
    x = gg.tensor(np.ones((2, 3)))
    b = gg.tensor(np.ones(3))
    s = gg.tensor(2.0)
    gg.sum((x + b) * s).backward()
    assert b.grad.shape == (3,) and s.grad.shape == ()
    np.testing.assert_allclose(b.grad, [4, 4, 4])
    assert s.grad == pytest.approx(12.0)
    assert b.grad.flags.writeable


def test_numbers_on_either_side():
    x = gg.tensor(4.0)
    for y, expected in [(2 + x, 1), (x + 2, 1), (2 - x, -1), (x - 2, 1), (2 * x, 2),
                        (x * 2, 2), (x / 2, 0.5), (8 / x, -0.5), (x ** 2, 8),
                        (2 ** x, 16 * np.log(2)), (-x, -1)]:
        x.grad = None
        y.backward()
        assert x.grad == pytest.approx(expected)


def test_ndarray_on_the_left_defers_to_tensor():
    x = gg.tensor(np.array([1.0, 2.0]))
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, gg.Tensor)
    gg.sum(y).backward()
    np.testing.assert_allclose(x.grad, [3.0, 4.0])


def test_float32_stays_float32():
    x = gg.tensor(np.ones((2, 3), dtype=np.float32))
    w = gg.tensor(np.ones((3, 2), dtype=np.float32))
    y = gg.sum(gg.tanh(x @ w * 2.0 + 1) / 3)
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_tensor_constructor_dtypes():
    assert gg.tensor(3).dtype == np.float64
    assert gg.tensor([1, 2]).dtype == np.float64
    assert gg.tensor(np.zeros(2, np.float32)).dtype == np.float32
    labels = gg.tensor(np.array([1, 2]))
    assert labels.dtype.kind == "i" and not labels.requires_grad
    with pytest.raises(TypeError, match="complex"):
        gg.tensor(np.array([1j]))
    with pytest.raises(TypeError, match="not a real"):
        gg.tensor(["a", "b"])


def test_tape_records_forward_order():
    x = gg.tensor(2.0, name="x")
    with gg.Tape() as tape:
        y = gg.exp(x * 3) + x
    assert [n.op for n in tape.nodes] == ["×", "exp", "+"]
    assert tape.nodes[0].inputs[0] is x
    assert tape.nodes[-1].outputs == (y,)
    assert y.creator is tape.nodes[-1]
    # the graph can be walked from the result alone
    assert y.creator.inputs[0].creator.inputs[0].creator is tape.nodes[0]


def test_no_grad_records_nothing():
    x = gg.tensor(2.0)
    with gg.no_grad():
        y = x * 3
    assert y.creator is None and not y.requires_grad
    assert gg.is_grad_enabled()


def test_scope_labels_nodes():
    x = gg.tensor(1.0)
    with gg.scope("outer") as outer:
        with gg.scope("inner"):
            y = gg.exp(x)
        z = y + 1
    assert y.creator.scope.name == "inner" and y.creator.scope.parent is outer
    assert z.creator.scope is outer
    assert (x * 2).creator.scope is None


def test_second_backward_without_retain_graph_raises():
    x = gg.tensor(2.0)
    y = gg.exp(x) * x
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = gg.tensor(2.0)
    y = gg.exp(x) * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad == pytest.approx(2 * 3 * np.exp(2.0))


def test_saved_values_are_freed_after_backward():
    x = gg.tensor(np.ones(3))
    y = gg.exp(x)
    node = y.creator
    gg.sum(y).backward()
    assert node.freed and not hasattr(node, "out")


def test_graph_freed_when_output_dropped():
    x = gg.tensor(np.ones(3))
    y = gg.sum(gg.exp(x * 2) + x)
    probe = weakref.ref(y.creator.inputs[0].creator)
    gc.disable()
    try:
        del y
        assert probe() is None  # reference counting alone frees the graph
    finally:
        gc.enable()


def test_backward_on_constant_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (gg.tensor(1.0, requires_grad=False) * 2).backward()


def test_backward_seed_shape_checked():
    y = gg.tensor(np.ones(3)) * 2
    with pytest.raises(ValueError, match=r"\(2,\)"):
        y.backward(np.ones(2))


def test_shape_mismatch_names_op_and_shapes():
    a = gg.tensor(np.ones((2, 3)), name="a")
    b = gg.tensor(np.ones((4, 5)), name="b")
    with pytest.raises(ValueError, match=r"MatMul \(@\).*'a'.*\(2, 3\).*'b'.*\(4, 5\)"):
        a @ b
    with pytest.raises(ValueError, match=r"Add \(\+\).*\(2, 3\).*\(4, 5\)"):
        a + b
    with pytest.raises(ValueError, match=r"Dot \(dot\).*\(2, 3\).*\(4, 5\)"):
        gg.dot(a, b)


def test_higher_order_cube():
    x = gg.tensor(2.0)
    (g,) = gg.grad(x ** 3, x, create_graph=True)
    (g2,) = gg.grad(g, x, create_graph=True)
    (g3,) = gg.grad(g2, x)
    assert (g.item(), g2.item(), g3.item()) == pytest.approx((12, 12, 6))


def test_higher_order_tanh_closed_form():
    values = np.linspace(-2, 2, 7)
    x = gg.tensor(values)
    (g,) = gg.grad(gg.sum(gg.tanh(x)), x, create_graph=True)
    (g2,) = gg.grad(gg.sum(g), x)
    t = np.tanh(values)
    np.testing.assert_allclose(g.data, 1 - t ** 2)
    np.testing.assert_allclose(g2.data, -2 * t * (1 - t ** 2))


def test_grad_leaves_dot_grad_untouched_and_handles_intermediates():
    x = gg.tensor(3.0)
    h = x * x
    y = h * 2
    gx, gh = gg.grad(y, [x, h])
    assert (gx.item(), gh.item()) == (12.0, 2.0)
    assert x.grad is None


def test_grad_of_unused_input_is_zero():
    x, z = gg.tensor(1.0), gg.tensor(5.0)
    (gz,) = gg.grad(x * 2, [z])
    assert gz.item() == 0.0


def test_deep_chain_of_a_million_nodes():
    x = gg.tensor(1.0)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0 and y.item() == 1_000_001.0


def test_modifying_saved_data_in_place_is_caught():
    w = gg.tensor(np.ones(3), name="w")
    y = gg.sum(w * w)
    w.data -= 0.5  # the node saved w's array, now changed under it
    with pytest.raises(RuntimeError, match=r"'w'.*modified in place"):
        y.backward()


def test_modifying_unsaved_data_is_allowed():
    w = gg.tensor(np.ones(3))
    y = gg.sum(w + 1)
    w.data = w.data * 2  # Add saves nothing of w: its gradient is still right
    y.backward()
    np.testing.assert_array_equal(w.grad, np.ones(3))


def test_detect_anomaly_names_the_forward_node_and_its_line():
    x = gg.tensor(np.array([1.0, -1.0]), name="x")
    with gg.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(FloatingPointError, match=r"Log \(log\) in scope 'loss'.*"
                                                     r"forward value.*test_engine.py"):
            with gg.scope("loss"):
                gg.log(x)


def test_detect_anomaly_catches_backward():
    x = gg.tensor(np.array([0.0, 1.0]))
    with gg.detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"):
        y = gg.sum(x ** 0.5)  # finite forward, infinite derivative at 0
        with pytest.raises(FloatingPointError, match=r"Pow \(\*\*\).*gradient in backward"):
            y.backward()


def test_anomaly_mode_is_off_by_default():
    with np.errstate(divide="ignore"):
        y = gg.log(gg.tensor(np.array([0.0])))
    assert np.isneginf(y.data).all()


# -- a leaf's .grad is an array of its own (issue 15, item 2) --------------------------
def test_leaf_gradients_passed_back_as_views_do_not_share_memory():
    a, b = gg.tensor(np.ones((2, 3))), gg.tensor(np.ones((2, 3)))
    c = gg.tensor(np.full((3, 2), 2.0))
    ((a.T + b.T) * c).sum().backward()
    assert not np.shares_memory(a.grad, b.grad)
    a.grad *= 0.5  # scaling one parameter's gradient leaves the other's alone
    b.grad *= 0.5
    np.testing.assert_array_equal(a.grad, np.ones((2, 3)))
    np.testing.assert_array_equal(b.grad, np.ones((2, 3)))


def test_leaf_gradient_is_neither_the_seed_nor_an_intermediates():
    x = gg.tensor(np.ones(3))
    seed = np.array([1.0, 2.0, 3.0])
    x.backward(seed)
    assert not np.shares_memory(x.grad, seed)
    x.grad = None
    y = x.reshape(1, 3)
    y.backward(seed.reshape(1, 3))
    assert not np.shares_memory(x.grad, seed) and not np.shares_memory(x.grad, y.grad)
    x.grad[0] = 7.0
    np.testing.assert_array_equal(seed, [1.0, 2.0, 3.0])


@given(st.data())
def test_leaf_gradients_never_share_memory(data):
    """For any expression and seed: no leaf's .grad shares memory with another leaf's,
    an intermediate's or the seed."""
    expr = data.draw(expressions([(2, 3), (3,), (3, 2)], max_ops=5), label="expr")
    leaves = [gg.tensor(data.draw(arrays(shape=s))) for s in expr.input_shapes]
    with gg.Tape() as tape:
        out = expr(*leaves)
    seed = data.draw(arrays(shape=out.shape), label="seed")
    out.backward(seed)
    grads = [x.grad for x in leaves if isinstance(x.grad, np.ndarray)]
    others = [t.grad for t in tape.outputs if isinstance(t.grad, np.ndarray)] + [seed]
    for i, g in enumerate(grads):
        assert g.flags.writeable
        assert not any(np.shares_memory(g, h) for h in grads[i + 1:] + others)


# -- a gradient has its tensor's dtype (issue 15, item 13) -----------------------------
@pytest.mark.parametrize("other", [np.ones(3), np.float64(2.0), gg.tensor(np.ones(3))],
                         ids=["float64 array", "float64 scalar", "float64 tensor"])
def test_float32_leaf_gets_a_float32_gradient_from_float64_operands(other):
    x = gg.tensor(np.ones(3, np.float32))
    (x * other).sum().backward()
    assert x.grad.dtype == np.float32
    (g,) = gg.grad((x * other).sum(), [x])
    assert g.dtype == np.float32
    s = gg.tensor(np.float32(1.0))
    (s * other).sum().backward()
    assert s.grad.dtype == np.float32


def test_float64_leaf_keeps_float64_gradient_from_float32_operands():
    x = gg.tensor(np.ones(3))
    (x * np.ones(3, np.float32)).sum().backward()
    assert x.grad.dtype == np.float64


# -- one rule for seeds (issue 15, item 12) --------------------------------------------
def test_a_list_seeds_one_output_as_backward_takes_it():
    x = gg.tensor(np.ones(3))
    y = x * 2
    (g,) = gg.grad(y, [x], grad_outputs=[1.0, 2.0, 3.0], retain_graph=True)
    np.testing.assert_array_equal(g.data, [2.0, 4.0, 6.0])
    y.backward([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.grad, g.data)


@pytest.mark.parametrize("seed", ["tensor", "array", "list"])
def test_a_seed_of_another_dtype_is_taken_in_the_outputs(seed):
    """Every .grad of a float32 graph is float32, whatever the seed's dtype (a float64
    tensor seed left the intermediates' in float64)."""
    x = gg.tensor(np.ones(3, np.float32))
    h = x * 2
    y = h * 3
    values = np.array([1.0, 2.0, 3.0])
    y.backward({"tensor": gg.tensor(values), "array": values, "list": values.tolist()}[seed])
    assert y.grad.dtype == h.grad.dtype == x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, 6 * values)


def test_a_list_of_outputs_takes_a_list_of_seeds():
    x = gg.tensor(np.ones(2))
    a, b = x * 2, x * 3
    (g,) = gg.grad([a, b], [x], grad_outputs=[[1.0, 1.0], np.array([2.0, 0.0])],
                   retain_graph=True)
    np.testing.assert_array_equal(g.data, [8.0, 2.0])
    (g,) = gg.grad([a, b], [x], retain_graph=True)  # None: ones for every output
    np.testing.assert_array_equal(g.data, [5.0, 5.0])
    with pytest.raises(ValueError, match=r"grad: 2 outputs but 1 seed in grad_outputs"):
        gg.grad([a, b], [x], grad_outputs=[np.ones(2)])


def test_a_seed_tensor_is_differentiated_with_create_graph():
    """The double-backward trick: vᵀ ∂y/∂x is linear in the seed v, and with
    ``create_graph`` its gradient with respect to v is (∂y/∂x)ᵀ (here 2x)."""
    x = gg.tensor(np.array([1.0, 2.0]))
    v = gg.tensor(np.array([3.0, 5.0]), name="v")
    (gx,) = gg.grad(x * x, [x], grad_outputs=v, create_graph=True)
    np.testing.assert_array_equal(gx.data, [6.0, 20.0])
    gv, gx2 = gg.grad(gx.sum(), [v, x])
    np.testing.assert_array_equal(gv.data, [2.0, 4.0])
    np.testing.assert_array_equal(gx2.data, [6.0, 10.0])
    (gx,) = gg.grad([x * x], [x], grad_outputs=[v], create_graph=True)
    np.testing.assert_array_equal(gg.grad(gx.sum(), v)[0].data, [2.0, 4.0])


def test_layer_backward_takes_a_list_as_its_seed():
    from graphgrad.nn import Relu
    layer = Relu()
    layer.forward(np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(layer.backward([5.0, 7.0]), [0.0, 7.0])


# -- numpy's conversions (issue 15, item 10) -------------------------------------------
def test_truth_of_one_element_is_its_value_and_of_more_is_ambiguous():
    assert bool(gg.tensor(np.array([0.0]))) is False
    assert bool(gg.tensor(np.array([[2.0]]))) is True
    assert bool(gg.tensor(0.0)) is False and bool(gg.tensor(-1.0)) is True
    with pytest.raises(ValueError, match="truth value of a tensor with 2 elements is ambiguous"):
        bool(gg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(gg.tensor(np.zeros(0)))


def test_numbers_from_one_element_follow_numpy():
    assert float(gg.tensor(2.5)) == 2.5 and int(gg.tensor([[3.7]])) == 3
    with pytest.raises(TypeError, match="only one-element tensors"):
        float(gg.tensor([1.0, 2.0]))


def test_asarray_is_the_value_and_records_nothing():
    x = gg.tensor(np.arange(6.0).reshape(2, 3))
    y = x * 2
    with gg.Tape() as tape:
        a = np.asarray(y)
        b = np.asarray(y, dtype=np.float32)
    assert len(tape.nodes) == 0
    assert type(a) is np.ndarray and a.dtype == np.float64
    np.testing.assert_array_equal(a, y.data)
    assert b.dtype == np.float32
    assert np.asarray(gg.tensor(2.0)).shape == ()


# -- writes into a saved array (issue 15, item 3) --------------------------------------
WRITES_INTO_THE_ARRAY = {
    "x.data[...] = v": lambda x: x.data.__setitem__(Ellipsis, 5.0),
    "x.data[0] = v": lambda x: x.data.__setitem__(0, 5.0),
    "np.multiply(a, b, out=x.data)": lambda x: np.multiply(x.data, 5.0, out=x.data),
}


@pytest.mark.parametrize("write", WRITES_INTO_THE_ARRAY.values(), ids=WRITES_INTO_THE_ARRAY)
def test_writes_into_a_saved_array_are_caught_in_anomaly_mode(write):
    x, w = gg.tensor(np.ones(3), name="x"), gg.tensor(np.ones(3), name="w")
    with gg.detect_anomaly():
        y = gg.sum(x * w)
        write(x)
        with pytest.raises(RuntimeError, match=r"Mul \(×\).*'x'.*modified in place"):
            y.backward()


def test_writes_into_a_saved_output_are_caught_in_anomaly_mode():
    x = gg.tensor(np.zeros(2))
    with gg.detect_anomaly():
        e = gg.exp(x)
        y = gg.sum(e)
        e.data[0] = 7.0
        with pytest.raises(RuntimeError, match=r"Exp \(exp\).*modified in place"):
            y.backward()


def test_anomaly_mode_lets_unchanged_and_nan_values_through():
    x = gg.tensor(np.array([1.0, 2.0]))
    with gg.detect_anomaly():
        y = gg.sum(x * x)
        x.data[0] = 1.0  # the same value: nothing changed
        y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


@given(st.data())
def test_every_write_the_readme_names_is_caught(data):
    """Any tensor a node saved, written after the forward pass: through the tensor
    (``x.data = …``, ``x.data -= …``) always; into its array under detect_anomaly."""
    expr = data.draw(expressions([(2, 3), (3,)], max_ops=4), label="expr")
    anomaly = data.draw(st.booleans(), label="anomaly mode")
    leaves = [gg.tensor(data.draw(arrays(shape=s))) for s in expr.input_shapes]
    with gg.detect_anomaly() if anomaly else nullcontext(), np.errstate(all="ignore"):
        with gg.Tape() as tape:
            out = gg.sum(expr(*leaves))
        saved = [t for node in tape.nodes for t in _saved_tensors(node)
                 if isinstance(t.data, np.ndarray) and t.data.size]
        if not saved:
            return
        target = data.draw(st.sampled_from(saved), label="written tensor")
        kinds = ["assign", "augmented"] + (["setitem", "out="] if anomaly else [])
        _write(target, data.draw(st.sampled_from(kinds), label="write"))
        with pytest.raises(RuntimeError, match="modified in place"):
            out.backward()


def _saved_tensors(node):
    tensors = [node.inputs[i] for i in node.saved_inputs.values()]
    return tensors + ([node.outputs[0]] if node.saved_output and node.outputs else [])


def _write(t, kind):
    if kind == "assign":
        t.data = t.data + 1.0
    elif kind == "augmented":
        t.data += 1.0
    elif kind == "setitem":
        t.data[...] = t.data + 1.0
    else:
        np.add(t.data, 1.0, out=t.data)
