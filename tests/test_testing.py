"""graphgrad.testing: numerical_gradient, gradcheck (and what it reports when backprop
is wrong), and the hypothesis strategies users build their own property tests from."""
import re
import unittest

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.errors import InvalidArgument

import graphgrad as gg
from graphgrad.testing import GradcheckError, gradcheck, gradgradcheck, numerical_gradient
from graphgrad.testing.strategies import (
    OPS, SMOOTH_OPS, arrays, broadcastable_shapes, expressions, shapes,
    shapes_broadcasting_to, tensors,
)
from planted import DetachedSquare, WrongSquare


# -- numerical_gradient ---------------------------------------------------------------

def test_numerical_gradient_of_a_quadratic():
    x = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.5]])
    before = x.copy()
    np.testing.assert_allclose(numerical_gradient(lambda a: np.sum(a ** 2), x), 2 * before,
                               atol=1e-6)
    np.testing.assert_array_equal(x, before)  # perturbed in place, then restored


def test_numerical_gradient_of_the_books_function_2():
    # DLFS 4.4: f(x0, x1) = x0² + x1², gradient at (3, 4) is (6, 8)
    grad = numerical_gradient(lambda x: x[0] ** 2 + x[1] ** 2, np.array([3.0, 4.0]))
    np.testing.assert_allclose(grad, [6.0, 8.0], rtol=1e-6)


def test_numerical_gradient_of_a_scalar():
    assert numerical_gradient(lambda a: np.sin(a), np.array(0.0)) == pytest.approx(1.0)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_numerical_gradient_refuses_integer_arrays(dtype):
    # x ± h cannot be stored in an integer array, and x is perturbed in place
    x = np.array([1, 2, 3]).astype(dtype)
    with pytest.raises(TypeError, match=rf"numerical_gradient: x has dtype {np.dtype(dtype)} "
                       r"and shape \(3,\); .* pass a float array"):
        numerical_gradient(lambda a: np.sum(a ** 2), x)
    np.testing.assert_array_equal(x, np.array([1, 2, 3]).astype(dtype))


def test_numerical_gradient_divides_by_the_step_x_really_took():
    # float32 stores 1000 ± 1e-4 as 1000 ± 1.22e-4: dividing by 2h gave 1.22, not 1
    x = np.array([1000.0, 300.0, 1.0, -7.5], dtype=np.float32)
    grad = numerical_gradient(lambda a: float(np.sum(a, dtype=np.float64)), x)
    np.testing.assert_allclose(grad, np.ones(4), rtol=1e-6)


@pytest.mark.parametrize("dtype, value", [(np.float16, 1.0), (np.float32, 3e4)])
def test_numerical_gradient_refuses_a_step_that_rounds_away(dtype, value):
    # x ± h rounds back to x: the difference is 0 / 0, not a gradient of 0
    x = np.array([0.01, value], dtype=dtype)
    with pytest.raises(ValueError, match=rf"numerical_gradient: x\[\(1,\)\] = {value:g} ± "
                       rf"h = 0.0001 rounds back to {value:g} in {np.dtype(dtype)}"):
        numerical_gradient(lambda a: float(np.sum(a, dtype=np.float64)), x)
    np.testing.assert_array_equal(x, np.array([0.01, value], dtype=dtype))


def test_numerical_gradient_works_on_a_strided_view_and_restores_it_bit_for_bit():
    base = np.array([[-0.0, np.nan, 5e-324, 1 / 3], [3.0, -2.5, 0.1, 7.0]])
    before = base.tobytes()
    view = base[:, ::2]  # not contiguous
    np.testing.assert_allclose(numerical_gradient(lambda a: float(np.sum(a[1] ** 2)), view),
                               [[0, 0], [6, 0.2]], atol=1e-9)
    assert base.tobytes() == before


def read_only(x):
    x.flags.writeable = False
    return x


@pytest.mark.parametrize("x", [read_only(np.arange(3.0)), np.broadcast_to(np.ones(2), (3, 2))],
                         ids=["read-only", "broadcast view"])
def test_numerical_gradient_refuses_a_read_only_array_naming_it(x):
    with pytest.raises(ValueError, match=r"numerical_gradient: x \(float64, shape \([\d, ]+\)\) "
                                         r"is read-only; it is perturbed in place: pass x\.copy\(\)"):
        numerical_gradient(lambda a: float(np.sum(a)), x)


# -- gradcheck ----------------------------------------------------------------------------

def test_gradcheck_passes_correct_gradients():
    assert gradcheck(lambda x, w: gg.tanh(x @ w), [np.ones((2, 3)), np.full((3, 2), 0.1)])


def test_gradcheck_passes_integer_labels_through():
    labels = np.array([0, 2])
    assert gradcheck(lambda x, t: x[np.arange(2), t], [np.ones((2, 3)), labels])


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck])
@pytest.mark.parametrize("inputs", [[np.array([1, 2, 3])],
                                    [gg.tensor([1.0, 2.0], requires_grad=False)]],
                         ids=["integer", "no grad"])
def test_a_check_with_no_input_to_check_is_an_error_not_a_pass(check, inputs):
    with pytest.raises(ValueError, match=r"no input requires grad: nothing to check"):
        check(lambda t: t * 2.0, inputs)


def test_gradcheck_names_the_input_the_index_and_both_values():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    w = gg.tensor(np.array([[0.5, -1.0], [2.0, 1.5]]), name="w")
    assert gradcheck(lambda p, q: p * q * q, [a, w])  # the correct node passes
    with pytest.raises(GradcheckError, match=r"input 1 'w' \(shape \(2, 2\)\) at index \(1, 0\)"
                       ) as error:
        gradcheck(lambda p, q: p * WrongSquare()(q), [a, w])
    message = str(error.value)
    assert "1 of 4 elements differ" in message
    backprop, numeric = map(float, re.findall(r"float64\(([^)]*)\)", message))
    assert backprop - numeric == pytest.approx(1.0, abs=1e-5)  # the mistake, exactly


@pytest.mark.parametrize("fn", [lambda v: v * 2.0, lambda v: v.sum(), lambda v: 3.0 - v],
                         ids=["scale", "sum", "constant minus"])
def test_gradgradcheck_passes_a_constant_first_derivative(fn):
    # ∂fn/∂v is constant, so backprop records nothing: its second derivative is 0
    assert gradgradcheck(fn, [np.array([1.0, -2.0, 0.5])])


def test_gradgradcheck_compares_a_constant_first_derivative_with_central_differences():
    x = np.array([1.0, -2.0, 0.5])
    assert gradcheck(lambda v: DetachedSquare()(v), [x])  # the first derivative is right
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(3,\)\) at index \(0,\): "
                       r"backprop np.float64\(0.0\)"):
        gradgradcheck(lambda v: DetachedSquare()(v), [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_gradcheck_checks_low_precision_inputs_in_float64(dtype):
    x = np.linspace(-1, 1, 5).astype(dtype)
    w = gg.tensor(np.array([[0.5, -1.0], [2.0, 1.5]], dtype=dtype), name="w")
    assert gradcheck(lambda v: gg.tanh(v) * v, [x])
    assert gradgradcheck(lambda v: gg.tanh(v) * v, [x])
    with pytest.raises(GradcheckError, match=r"input 0 'w' \(shape \(2, 2\)\) at index \(1, 0\)"):
        gradcheck(lambda q: WrongSquare()(q), [w])  # a wrong gradient is still caught
    assert w.dtype == dtype and x.dtype == dtype  # the caller's values are untouched


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_gradcheck_of_a_tensor_fn_reads_from_outside_its_arguments(dtype):
    """``fn`` may ignore its argument and read the tensor it closes over (a model's
    parameter): a low-precision tensor is upcast in place for the check, so the
    tensor fn reads is the one perturbed, and a wrong gradient is caught as in
    float64. The tensor has its own array and dtype back afterwards."""
    w = gg.tensor(np.array([[0.5, -1.0], [2.0, 1.5]], dtype=dtype), name="w")
    original = w.data
    with pytest.raises(GradcheckError, match=r"input 0 'w' \(shape \(2, 2\)\) at index \(1, 0\)"):
        gradcheck(lambda _: WrongSquare()(w), [w])
    assert gradcheck(lambda _: gg.tanh(w) * w, [w])
    assert w.data is original and w.dtype == dtype


def test_a_wrong_gradient_is_a_test_failure_not_an_error():
    """gradcheck raises an AssertionError: a test runner reports a wrong backward as a
    failed check (unittest: one failure, no error), as it reports a false ``assert``."""
    class Case(unittest.TestCase):
        def test_square(self):
            gradcheck(lambda q: WrongSquare()(q), [np.ones((2, 2))])

    result = unittest.TestResult()
    Case("test_square").run(result)
    assert len(result.failures) == 1 and not result.errors
    assert "at index (1, 0)" in result.failures[0][1]


# -- strategies ---------------------------------------------------------------------------

@given(shapes(min_dims=1, max_dims=2, min_side=2, max_side=3))
def test_shapes_respect_their_bounds(shape):
    assert 1 <= len(shape) <= 2 and all(2 <= side <= 3 for side in shape)


@given(broadcastable_shapes(num_shapes=3))
def test_broadcastable_shapes_broadcast(shapes_):
    assert len(shapes_) == 3
    np.broadcast_shapes(*shapes_)


@given(shapes().flatmap(lambda s: st.tuples(st.just(s), shapes_broadcasting_to(s))))
def test_shapes_broadcasting_to(shape_and_source):
    shape, source = shape_and_source
    assert np.broadcast_to(np.zeros(source), shape).shape == shape


@given(arrays(dtype=np.float32, min_value=-0.1, max_value=2))
def test_arrays_are_finite_and_in_range(x):
    assert x.dtype == np.float32
    assert np.all(np.isfinite(x)) and np.all((-0.1 <= x) & (x <= 2))


@given(arrays(separated=True))
def test_separated_arrays_keep_clear_of_kinks_and_ties(x):
    values = np.sort(x.ravel())
    assert np.all(np.abs(values) >= 0.05 - 1e-12)
    assert np.all(np.diff(values) >= 0.05 - 1e-12)


@given(tensors((2, 3)))
def test_tensors_are_leaves_that_require_grad(t):
    assert isinstance(t, gg.Tensor) and t.requires_grad and t.shape == (2, 3)


@given(st.data())
def test_expressions_are_deterministic_and_list_their_steps(data):
    expr = data.draw(expressions([(2, 3), (3,)]))
    x, y = np.linspace(-1, 1, 6).reshape(2, 3), np.array([0.5, -0.25, 2.0])
    first, second = expr(gg.tensor(x), gg.tensor(y)), expr(gg.tensor(x), gg.tensor(y))
    np.testing.assert_array_equal(first.data, second.data)
    text = repr(expr)
    assert text.startswith("{ lambda a:[2,3] b:[3].") and text.endswith(f"-> {expr.output} }}")
    assert len(text.splitlines()) == len(expr.steps) + 2


@given(st.data())
def test_expressions_use_every_input(data):
    expr = data.draw(expressions([(2,), (3,), ()]))
    used = {name for step in expr.steps for name in step.args}
    assert {"a", "b", "c"} <= used | {expr.output.name}


@given(expressions([(2, 2)], smooth=True))
def test_smooth_expressions_have_no_kinks(expr):
    assert not any(re.match(r"(relu|maximum|max)\(", step.text) for step in expr.steps)


@given(expressions([(3,), (3, 2)], ops=["matmul", "dot"]))
def test_expressions_draw_only_the_ops_asked_for(expr):
    assert all(re.search(r"@|dot\(|swapaxes\(|transpose\(|\+", step.text) for step in expr.steps)


def test_expressions_check_their_arguments():
    assert set(SMOOTH_OPS) < set(OPS)
    with pytest.raises(InvalidArgument, match="unknown ops"):
        expressions([(2,)], ops=["softmax"])
    with pytest.raises(InvalidArgument, match="at least one op"):
        expressions([(2,)], ops=["relu"], smooth=True)


def test_check_float32_passes_float32_and_catches_an_upcast():
    from graphgrad.testing import check_float32
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    check_float32(lambda t: gg.tanh(t) * 2.0, x)
    with pytest.raises(AssertionError, match="not float32"):
        check_float32(lambda t: t * np.ones(3), x)  # a float64 constant upcasts
