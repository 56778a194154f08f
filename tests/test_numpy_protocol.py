"""numpy functions on tensors (``__array_ufunc__``, ``__array_function__``): the ones
graphgrad has nodes for record the same nodes as graphgrad's functions; the others
compute on the values and return plain arrays; comparisons give boolean arrays."""
import operator

import numpy as np
import pytest
from hypothesis import given, strategies as st

import graphgrad as gg
from graphgrad.testing.strategies import arrays, broadcastable_shapes, shapes

# numpy function, the graphgrad function it must equal, positive inputs only
UNARY = {
    "exp": (np.exp, gg.exp, False),
    "log": (np.log, gg.log, True),
    "tanh": (np.tanh, gg.tanh, False),
    "negative": (np.negative, gg.neg, False),
    "sqrt": (np.sqrt, lambda x: x ** 0.5, True),
    "square": (np.square, lambda x: x ** 2, False),
    "sum": (np.sum, gg.sum, False),
    "mean": (np.mean, gg.mean, False),
    "max": (np.max, gg.max, False),
    "amax": (np.amax, gg.max, False),
    "transpose": (np.transpose, gg.transpose, False),
    "sum axis=0 keepdims": (lambda x: np.sum(x, axis=0, keepdims=True),
                            lambda x: gg.sum(x, axis=0, keepdims=True), False),
    "mean axis=-1": (lambda x: np.mean(x, axis=-1), lambda x: gg.mean(x, axis=-1), False),
    "max axis=0": (lambda x: np.max(x, axis=0), lambda x: gg.max(x, axis=0), False),
    "reshape": (lambda x: np.reshape(x, (-1,)), lambda x: gg.reshape(x, (-1,)), False),
    "copy": (np.copy, lambda x: x.copy(), False),
}
BINARY = {
    "add": (np.add, gg.add, False),
    "subtract": (np.subtract, gg.sub, False),
    "multiply": (np.multiply, gg.mul, False),
    "divide": (np.divide, gg.div, True),
    "power": (np.power, gg.pow, True),
    "maximum": (np.maximum, gg.maximum, False),
}


def recorded(fn, *args):
    """fn(*args) and the classes of the nodes it recorded."""
    with gg.Tape() as tape:
        out = fn(*args)
    return out, [type(node) for node in tape.nodes]


def assert_same_as_graphgrad(np_fn, gg_fn, values):
    """np_fn on tensors records gg_fn's nodes, with gg_fn's value and gradients."""
    xs, ys = [gg.tensor(v) for v in values], [gg.tensor(v) for v in values]
    out, nodes = recorded(np_fn, *xs)
    expected, expected_nodes = recorded(gg_fn, *ys)
    assert isinstance(out, gg.Tensor) and nodes and nodes == expected_nodes
    np.testing.assert_array_equal(out.data, expected.data)
    seed = np.random.default_rng(0).normal(size=out.shape)
    for g, h in zip(gg.grad(out, xs, seed), gg.grad(expected, ys, seed)):
        np.testing.assert_array_equal(g.data, h.data)


def _inputs(data, shapes_, positive):
    low = 0.5 if positive else -3
    return [data.draw(arrays(s, min_value=low, max_value=3)) for s in shapes_]


@given(st.sampled_from(sorted(UNARY)), shapes(min_dims=1), st.data())
def test_numpy_unary_functions_record_graphgrad_nodes(name, shape, data):
    np_fn, gg_fn, positive = UNARY[name]
    assert_same_as_graphgrad(np_fn, gg_fn, _inputs(data, [shape], positive))


@given(st.sampled_from(sorted(BINARY)), broadcastable_shapes(), st.data())
def test_numpy_binary_ufuncs_record_graphgrad_nodes(name, shapes_, data):
    np_fn, gg_fn, positive = BINARY[name]
    assert_same_as_graphgrad(np_fn, gg_fn, _inputs(data, shapes_, positive))


@given(st.sampled_from(["dot", "matmul"]), st.sampled_from([((2, 3), (3, 4)), ((3,), (3, 2)),
                                                             ((2, 3), (3,)), ((3,), (3,))]),
       st.data())
def test_numpy_products_record_graphgrad_nodes(name, shapes_, data):
    np_fn, gg_fn = (np.dot, gg.dot) if name == "dot" else (np.matmul, gg.matmul)
    assert_same_as_graphgrad(np_fn, gg_fn, _inputs(data, shapes_, False))


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv,
                                operator.pow, operator.matmul], ids=lambda op: op.__name__)
def test_ndarray_first_defers_to_the_tensor(op):
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = gg.tensor([[0.5, 1.5], [2.5, 3.5]])
    out, nodes = recorded(op, a, t)
    assert isinstance(out, gg.Tensor) and len(nodes) == 1
    np.testing.assert_allclose(out.data, op(a, t.data))
    gg.sum(out).backward()
    assert t.grad.shape == t.shape


def test_numpy_scalars_on_either_side_record_a_node():
    t = gg.tensor([1.0, 2.0])
    for out in (t * np.float64(2), np.float64(2) * t, np.full(2, 2.0) * t):
        assert isinstance(out, gg.Tensor) and out.creator.op == "×"
        np.testing.assert_array_equal(out.data, [2.0, 4.0])


def test_the_books_forward_pass_builds_a_graph():
    """ch3's a2 = np.dot(sigmoid(a1), W2): once an object array of 0-d tensors."""
    x, W1 = gg.tensor([[1.0, 0.5]]), gg.tensor([[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]])
    W2 = np.array([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]])
    a2 = np.dot(gg.sigmoid(np.dot(x, W1)), W2)
    assert isinstance(a2, gg.Tensor) and a2.dtype == np.float64
    total = np.sum(gg.softmax(a2))
    assert isinstance(total, gg.Tensor) and total.item() == pytest.approx(1.0)
    a2.backward()
    assert W1.grad.shape == (2, 3)


@pytest.mark.parametrize("fn", [
    np.argmax, np.abs, np.sign, np.isfinite, np.sort, np.cumsum, np.sin, np.round,
    lambda x: np.where(x > 0, x, 0.0), lambda x: np.concatenate([x, x]),
    lambda x: np.stack([x, x]), lambda x: np.clip(x, -1, 1), lambda x: np.add.reduce(x),
    lambda x: np.argmax(x, axis=0), lambda x: np.percentile(x, 50),
], ids=lambda fn: getattr(fn, "__name__", "lambda"))
def test_other_numpy_functions_compute_on_values(fn):
    values = np.array([[-1.5, 2.0, 0.5], [3.0, -0.25, 1.0]])
    out, nodes = recorded(fn, gg.tensor(values))
    assert not isinstance(out, gg.Tensor) and nodes == []
    assert np.asarray(out).dtype != object
    np.testing.assert_array_equal(out, fn(values))


def test_shape_queries_read_the_shape_only():
    t = gg.tensor(np.zeros((2, 3)))
    assert (np.shape(t), np.ndim(t), np.size(t), np.size(t, 1)) == ((2, 3), 2, 6, 3)


@pytest.mark.parametrize("axis", [-1, (0, 2), ()])
def test_size_along_axes_as_numpy(axis):
    """np.size(t, axis) for any axis numpy takes (a tuple of axes since numpy 2.4)."""
    x = np.zeros((2, 3, 4))
    try:
        expected = np.size(x, axis)
    except TypeError:  # an older numpy: a tuple of axes is not an axis
        pytest.skip(f"numpy {np.__version__} takes no tuple of axes")
    assert np.size(gg.tensor(x), axis) == expected


def test_asarray_is_the_value_and_records_nothing():
    t = gg.tensor([1.0, 2.0]) * 2
    with gg.Tape() as tape:
        value = np.asarray(t)
    assert value is t.data and tape.nodes == []
    assert np.array([gg.tensor(1.0), gg.tensor(2.0)]).dtype == np.float64


@pytest.mark.skipif(np.lib.NumpyVersion(np.__version__) < "2.0.0",
                    reason="numpy 1.x has no copy=False that refuses")
def test_array_copy_false_refuses_a_copy_as_numpy_does():
    t = gg.tensor([1.0, 2.0])
    assert np.array(t, copy=False) is t.data
    assert np.array(t, dtype=np.float64, copy=False) is t.data
    with pytest.raises(ValueError, match="Unable to avoid copy"):
        np.array(t, dtype=np.float32, copy=False)
    copied = np.array(t, copy=True)
    assert copied is not t.data and np.array_equal(copied, t.data)


@pytest.mark.parametrize("compare", [
    lambda t: t > 0, lambda t: 0 < t, lambda t: t >= 1, lambda t: t <= 1, lambda t: t < 0,
    lambda t: t == 1, lambda t: t != 1, lambda t: np.greater(t, 0),
    lambda t: np.array([0.0, 0.0, 2.0]) < t, lambda t: t == gg.tensor([-1.0, 0.0, 2.0]),
])
def test_comparisons_give_boolean_arrays(compare):
    values = np.array([-1.0, 1.0, 2.0])
    out = compare(gg.tensor(values))
    assert isinstance(out, np.ndarray) and out.dtype == bool
    np.testing.assert_array_equal(out, compare(values))


def test_tensors_hash_by_identity_and_convert_one_element():
    a, b = gg.tensor(1.0), gg.tensor(1.0)
    assert {a: 1, b: 2}[b] == 2 and (a == b) and a is not b
    assert float(gg.tensor(2.5)) == 2.5 and int(gg.tensor([3.0])) == 3
    assert bool(gg.tensor(1.0) > 0)
    with pytest.raises(TypeError, match="one-element"):
        float(gg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(gg.tensor([1.0, 2.0]) > 0)


def test_broadcast_to_a_number_is_to_one_axis():
    """np.broadcast_to(t, 3) reads the number 3 as the shape (3,), as numpy does."""
    t = gg.tensor([2.0])
    out = np.broadcast_to(t, 3)
    np.testing.assert_array_equal(out.data, np.broadcast_to(np.array([2.0]), 3))
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, [3.0])

def test_iterating_gives_the_rows_and_a_0d_tensor_is_not_iterable():
    """As numpy: ``list(t)`` is the rows (each recorded, so gradients flow), and a 0-d
    tensor raises TypeError rather than iterate as empty (``sum(t)`` would be 0)."""
    t = gg.tensor([[1.0, 2.0], [3.0, 4.0]])
    first, second = t
    (first * 2 + second).sum().backward()
    np.testing.assert_array_equal(t.grad, [[2.0, 2.0], [1.0, 1.0]])
    with pytest.raises(TypeError, match="0-d"):
        iter(np.array(3.0))
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(gg.tensor(3.0))

def test_argmax_method_as_the_book_calls_it():
    y = gg.tensor([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
    np.testing.assert_array_equal(y.argmax(axis=1), [1, 0])


def test_matplotlib_plots_the_values():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x = np.arange(-5.0, 5.0, 0.1)
    fig, ax = plt.subplots()
    try:
        line, = ax.plot(x, gg.sigmoid(x))
        shown, = ax.plot(gg.tensor(x), gg.tanh(gg.tensor(x)))
        fig.canvas.draw()
    finally:
        plt.close(fig)
    assert type(line.get_ydata()) is np.ndarray
    np.testing.assert_allclose(line.get_ydata(), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(shown.get_ydata(), np.tanh(x))


# -- arguments a node cannot take ------------------------------------------------

@pytest.mark.parametrize("call, name, argument", [
    (lambda t: np.sum(t, dtype=np.float32), "np.sum", "dtype="),
    (lambda t: np.max(t, initial=5.0), "np.max", "initial="),
    (lambda t: np.add(t, 1.0, where=np.array([True, False])), "np.add", "where="),
    (lambda t: np.exp(t, dtype=np.float32), "np.exp", "dtype="),
])
def test_unrecordable_arguments_raise_naming_the_function(call, name, argument):
    with pytest.raises(TypeError, match=f"{name} on tensors .* {argument}"):
        call(gg.tensor([1.0, 2.0]))


@pytest.mark.parametrize("call", [
    lambda t: np.exp(t, out=t), lambda t: np.sum(t, out=t), lambda t: np.add.at(t, [0], 1.0),
])
def test_writing_into_a_tensor_raises(call):
    t = gg.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="in place"):
        call(t)
    np.testing.assert_array_equal(t.data, [1.0, 2.0])


def test_out_array_computes_on_values_into_it():
    t = gg.tensor([0.0, 1.0])
    out = np.empty(2)
    result, nodes = recorded(lambda: np.exp(t, out=out))
    assert result is out and nodes == []
    np.testing.assert_allclose(out, np.exp([0.0, 1.0]))
    total = np.zeros(())
    np.sum(t, out=total)
    assert total == 1.0


def test_defaults_given_explicitly_still_record():
    t = gg.tensor(np.arange(6.0))
    out = np.reshape(t, (2, 3), order="C")
    assert isinstance(out, gg.Tensor) and out.creator.op == "reshape"
    assert isinstance(np.sum(t, axis=None, out=None, keepdims=False), gg.Tensor)


def test_another_array_type_is_left_to_numpy():
    class Other:
        def __array_function__(self, func, types, args, kwargs):
            return "other"

    assert np.concatenate([gg.tensor([1.0]), Other()]) == "other"
