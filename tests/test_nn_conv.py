"""im2col/col2im, the Convolution and Pooling layers and their nodes: forward against
direct loops, gradcheck over stride/pad combinations (of the layers, and of each
adjoint node alone), the standalone protocol, and second derivatives through the
adjoint node pairs."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import graphgrad as gg
from graphgrad.nn import Convolution, Pooling, col2im, fold, im2col, unfold
from graphgrad.nodes import Col2im, Fold, Im2col, MaxPool, PoolGather, PoolScatter, Unfold
from graphgrad.testing import gradcheck, numerical_gradient


def padded(x, pad):
    return np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])


def conv_reference(x, W, b, stride, pad):
    """out[n, f, i, j] = Σ x_pad[n, :, window (i, j)] · W[f] + b[f], by loops."""
    x = padded(x, pad)
    fn, _, fh, fw = W.shape
    oh = (x.shape[2] - fh) // stride + 1
    ow = (x.shape[3] - fw) // stride + 1
    out = np.empty((x.shape[0], fn, oh, ow))
    for n in range(x.shape[0]):
        for f in range(fn):
            for i in range(oh):
                for j in range(ow):
                    patch = x[n, :, i * stride:i * stride + fh, j * stride:j * stride + fw]
                    out[n, f, i, j] = np.sum(patch * W[f]) + b[f]
    return out


def pool_reference(x, ph, pw, stride, pad):
    """out[n, c, i, j] = max of window (i, j) of the zero-padded x, by loops."""
    x = padded(x, pad)
    oh = (x.shape[2] - ph) // stride + 1
    ow = (x.shape[3] - pw) // stride + 1
    out = np.empty(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out


@st.composite
def windows(draw, max_side=6):
    """(input shape, filter size, stride, pad) with the window fitting the padded input."""
    fh, fw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride, pad = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    h = draw(st.integers(max(fh - 2 * pad, 1), max_side))
    w = draw(st.integers(max(fw - 2 * pad, 1), max_side))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w)
    return shape, (fh, fw), stride, pad


seeds = st.integers(0, 2**32 - 1)


def values(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


def distinct_values(shape, seed):
    """Distinct magnitudes k / (size + 1), k = 1 … size, of both signs: no two values
    and no value and the zero padding tie, so max pooling is differentiable there."""
    size = int(np.prod(shape))
    k = np.random.default_rng(seed).permutation(size) + 1
    return (np.where(k % 2, 1, -1) * k / (size + 1)).reshape(shape)


# -- im2col / col2im ----------------------------------------------------------------
def test_im2col_shapes_as_in_dlfs():
    assert im2col(np.random.rand(1, 3, 7, 7), 5, 5, stride=1, pad=0).shape == (9, 75)
    assert im2col(np.random.rand(10, 3, 7, 7), 5, 5, stride=1, pad=0).shape == (90, 75)


@given(windows(), seeds)
def test_im2col_rows_are_the_windows(case, seed):
    shape, (fh, fw), stride, pad = case
    x = values(shape, seed)
    col = im2col(x, fh, fw, stride, pad)
    x_pad = padded(x, pad)
    n, _, h, w = shape
    oh, ow = (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1
    assert col.shape == (n * oh * ow, shape[1] * fh * fw)
    row = 0
    for k in range(n):
        for i in range(oh):
            for j in range(ow):
                window = x_pad[k, :, i * stride:i * stride + fh, j * stride:j * stride + fw]
                np.testing.assert_array_equal(col[row], window.ravel())
                row += 1


@pytest.mark.parametrize("forward, adjoint", [(im2col, col2im), (unfold, fold)],
                         ids=["col2im of im2col", "fold of unfold"])
@given(case=windows(), seed=seeds)
def test_the_window_layouts_have_their_adjoints(forward, adjoint, case, seed):
    """⟨forward(x), c⟩ = ⟨x, adjoint(c)⟩ for any x and c."""
    shape, (fh, fw), stride, pad = case
    x = values(shape, seed)
    col = forward(x, fh, fw, stride, pad)
    c = values(col.shape, seed + 1)
    back = adjoint(c, shape, fh, fw, stride, pad)
    assert back.shape == shape
    assert np.sum(col * c) == pytest.approx(np.sum(x * back), rel=1e-10, abs=1e-10)


@given(windows(), seeds)
def test_unfold_columns_are_the_im2col_rows_of_each_image(case, seed):
    shape, (fh, fw), stride, pad = case
    x = values(shape, seed)
    col = unfold(x, fh, fw, stride, pad)
    rows = im2col(x, fh, fw, stride, pad)
    n, positions = shape[0], col.shape[2]
    assert col.shape == (n, shape[1] * fh * fw, positions)
    np.testing.assert_array_equal(col, rows.reshape(n, positions, -1).transpose(0, 2, 1))


def test_windows_that_do_not_fit_raise_a_clear_error():
    with pytest.raises(ValueError, match="window of 5 with stride 1 and pad 0 does not fit"):
        Convolution(np.ones((1, 1, 5, 5)), np.zeros(1)).forward(np.ones((1, 1, 4, 4)))


# -- Convolution ---------------------------------------------------------------------
@given(windows(), st.integers(1, 3), seeds)
def test_convolution_forward_matches_loops(case, fn, seed):
    shape, (fh, fw), stride, pad = case
    x, W, b = values(shape, seed), values((fn, shape[1], fh, fw), seed + 1), values(fn, seed + 2)
    out = Convolution(W, b, stride, pad).forward(x)
    np.testing.assert_allclose(out, conv_reference(x, W, b, stride, pad), atol=1e-12)


@given(windows(max_side=5), st.integers(1, 2), seeds)
def test_convolution_gradcheck(case, fn, seed):
    shape, (fh, fw), stride, pad = case
    x, W, b = values(shape, seed), values((fn, shape[1], fh, fw), seed + 1), values(fn, seed + 2)
    assert gradcheck(lambda x, W, b: Convolution(W, b, stride, pad)(x), [x, W, b])


def test_convolution_standalone_sets_dW_db():
    x, W, b = values((2, 3, 6, 5), 0), values((4, 3, 3, 2), 1), values(4, 2)
    layer = Convolution(W, b, stride=2, pad=1)
    out = layer.forward(x)
    dout = values(out.shape, 3)
    dx = layer.backward(dout)

    def loss(_):
        return np.sum(conv_reference(x, W, b, 2, 1) * dout)

    np.testing.assert_allclose(dx, numerical_gradient(loss, x), atol=1e-7)
    np.testing.assert_allclose(layer.dW, numerical_gradient(loss, W), atol=1e-7)
    np.testing.assert_allclose(layer.db, dout.sum(axis=(0, 2, 3)))


def test_convolution_records_unfold_under_its_scope():
    layer = Convolution(values((2, 1, 3, 3), 4), np.zeros(2))
    with gg.Tape() as tape:
        layer(gg.tensor(values((1, 1, 5, 5), 5)))
    assert isinstance(tape.nodes[0], Unfold)
    assert {node.scope.name for node in tape.nodes} == {"Convolution"}


def test_constant_input_records_no_unfold():
    layer = Convolution(values((2, 1, 3, 3), 4), np.zeros(2))
    with gg.Tape() as tape:
        layer(gg.tensor(values((1, 1, 5, 5), 5), requires_grad=False))
    assert not any(isinstance(node, Unfold) for node in tape.nodes)


# -- Pooling --------------------------------------------------------------------------
@given(windows(), seeds)
def test_pooling_forward_matches_loops(case, seed):
    shape, (ph, pw), stride, pad = case
    x = values(shape, seed)
    out = Pooling(ph, pw, stride, pad).forward(x)
    np.testing.assert_array_equal(out, pool_reference(x, ph, pw, stride, pad))


@st.composite
def separate_windows(draw, max_side=7):
    """A pooling case whose windows do not overlap (stride ≥ window): tiling when
    stride = window, with gaps when larger; odd sizes leave rows and columns over."""
    ph, pw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.integers(max(ph, pw), max(ph, pw) + 1))
    pad = draw(st.integers(0, min(ph, pw) - 1))
    h = draw(st.integers(max(ph - 2 * pad, 1), max_side))
    w = draw(st.integers(max(pw - 2 * pad, 1), max_side))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), (ph, pw), stride, pad


def pool_backward_reference(x, dout, ph, pw, stride, pad):
    """dx: each dout[n, c, i, j] added at the first maximum (row-major) of window
    (i, j) of the zero-padded x, by loops: the DLFS argmax."""
    x_pad = padded(x, pad)
    dx = np.zeros_like(x_pad)
    for index in np.ndindex(dout.shape):
        n, c, i, j = index
        window = x_pad[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
        y, x_ = divmod(int(np.argmax(window)), pw)
        dx[n, c, i * stride + y, j * stride + x_] += dout[index]
    return dx[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]


def tied_values(shape, seed):
    """Values from {-1, 0, 1}: windows full of ties, with the zero padding too."""
    return np.random.default_rng(seed).integers(-1, 2, shape).astype(float)


@pytest.mark.parametrize("make", [values, tied_values], ids=["distinct", "ties"])
@given(case=st.one_of(windows(), separate_windows()), seed=seeds)
def test_pooling_backward_sends_each_gradient_to_the_first_maximum(make, case, seed):
    shape, (ph, pw), stride, pad = case
    x = make(shape, seed)
    layer = Pooling(ph, pw, stride, pad)
    dout = values(layer.forward(x).shape, seed + 1)
    np.testing.assert_allclose(layer.backward(dout),  # overlaps: sums in another order
                               pool_backward_reference(x, dout, ph, pw, stride, pad),
                               rtol=1e-12, atol=1e-15)


@given(separate_windows(), seeds)
def test_pooling_of_windows_that_do_not_overlap(case, seed):
    shape, (ph, pw), stride, pad = case
    x = distinct_values(shape, seed)
    out = Pooling(ph, pw, stride, pad).forward(x)
    np.testing.assert_array_equal(out, pool_reference(x, ph, pw, stride, pad))
    assert gradcheck(Pooling(ph, pw, stride, pad), [x])


def test_pooling_windows_of_more_than_127_positions():
    x = values((1, 2, 13, 12), 14)  # 12 × 12 windows: positions need more than int8
    layer = Pooling(12, 12, stride=1)
    np.testing.assert_array_equal(layer.forward(x), pool_reference(x, 12, 12, 1, 0))
    dout = values((1, 2, 2, 1), 15)
    np.testing.assert_array_equal(layer.backward(dout),
                                  pool_backward_reference(x, dout, 12, 12, 1, 0))


@pytest.mark.parametrize("stride", [1, 2], ids=["overlapping", "tiling"])
def test_float32_stays_float32(stride):
    x = values((2, 3, 6, 5), 16).astype(np.float32)
    for layer in (Pooling(2, 2, stride), Convolution(values((2, 3, 3, 2), 17).astype(np.float32),
                                                     np.zeros(2, np.float32), stride, pad=1)):
        out = layer.forward(x)
        assert out.dtype == np.float32
        assert layer.backward(np.ones_like(out)).dtype == np.float32


@given(windows(), seeds)
def test_pooling_gradcheck(case, seed):
    shape, (ph, pw), stride, pad = case
    assert gradcheck(Pooling(ph, pw, stride, pad), [distinct_values(shape, seed)])


def test_pooling_standalone_sends_gradient_to_the_first_maximum():
    x = np.array([[[[1.0, 3.0, 2.0, 2.0],
                    [3.0, 0.0, 2.0, 2.0]]]])
    layer = Pooling(2, 2, stride=2)
    np.testing.assert_array_equal(layer.forward(x), [[[[3.0, 2.0]]]])
    np.testing.assert_array_equal(layer.backward(np.array([[[[10.0, 20.0]]]])),
                                  [[[[0, 10, 20, 0], [0, 0, 0, 0]]]])


def test_pooling_pads_with_zeros_as_dlfs_does():
    x = -np.ones((1, 1, 2, 2))
    layer = Pooling(2, 2, stride=2, pad=1)
    np.testing.assert_array_equal(layer.forward(x), np.zeros((1, 1, 2, 2)))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 2, 2))), np.zeros_like(x))


def test_pooling_records_one_max_pool_node():
    with gg.Tape() as tape:
        Pooling(2, 2, 2)(gg.tensor(values((1, 2, 4, 4), 6)))
    assert [type(node) for node in tape.nodes] == [MaxPool]
    assert tape.nodes[0].scope.name == "Pooling"


def test_nodes_work_standalone_in_the_dlfs_style():
    x = values((2, 3, 5, 5), 7)
    node = Im2col(3, 3, stride=2, pad=1)
    col = node.forward(x)
    np.testing.assert_array_equal(node.backward(col), col2im(col, x.shape, 3, 3, 2, 1))
    np.testing.assert_array_equal(Col2im(x.shape, 3, 3, 2, 1).forward(col), node.backward(col))
    pool = MaxPool(2, 2, stride=2)
    y = pool.forward(x)
    assert pool.backward(np.ones_like(y)).sum() == y.size


# -- each node alone: central differences -----------------------------------------
# (Col2im, Fold, PoolGather and PoolScatter are the backward of another node, so a
# layer's gradcheck never runs their backward; a node is used once, its saved values
# freed by backward: one per call)

ODD_WINDOWS = [  # (input shape, window size, stride, pad): odd sizes, windows not square
    ((1, 2, 5, 7), (3, 2), 2, 1),
    ((2, 1, 4, 3), (2, 3), 3, 2),
    ((1, 3, 6, 5), (3, 1), 1, 0),
    ((2, 2, 3, 3), (1, 2), 2, 1),
    ((1, 2, 7, 5), (2, 2), 2, 1),  # tiling windows (the DLFS pooling), odd sizes
    ((2, 1, 5, 7), (2, 3), 3, 0),  # windows apart, gaps between them
]


def out_shape(shape, window, stride, pad):
    """(N, C, OH, OW): the output positions of ``window`` on ``shape``."""
    (n, c, h, w), (fh, fw) = shape, window
    return n, c, (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1


def positions(shape, window, stride, pad, seed):
    """A random position (0 … PH·PW − 1) in each window: PoolGather's ``arg``."""
    high = window[0] * window[1]
    return np.random.default_rng(seed).integers(0, high, out_shape(shape, window, stride, pad))


def gradcheck_col2im(shape, window, stride, pad, seed):
    n, channels, oh, ow = out_shape(shape, window, stride, pad)
    col = values((n * oh * ow, channels * window[0] * window[1]), seed)
    return gradcheck(lambda c: Col2im(shape, *window, stride, pad)(c), [col])


def gradcheck_pool_gather(shape, window, stride, pad, seed):
    arg = positions(shape, window, stride, pad, seed)
    return gradcheck(lambda x: PoolGather(*window, stride, pad, arg)(x), [values(shape, seed)])


def gradcheck_pool_scatter(shape, window, stride, pad, seed):
    arg = positions(shape, window, stride, pad, seed)
    dy = values(arg.shape, seed)
    return gradcheck(lambda d: PoolScatter(shape, *window, stride, pad, arg)(d), [dy])


def gradcheck_im2col(shape, window, stride, pad, seed):
    return gradcheck(lambda x: Im2col(*window, stride, pad)(x), [values(shape, seed)])


def gradcheck_unfold(shape, window, stride, pad, seed):
    return gradcheck(lambda x: Unfold(*window, stride, pad)(x), [values(shape, seed)])


def gradcheck_fold(shape, window, stride, pad, seed):
    n, channels, oh, ow = out_shape(shape, window, stride, pad)
    col = values((n, channels * window[0] * window[1], oh * ow), seed)
    return gradcheck(lambda c: Fold(shape, *window, stride, pad)(c), [col])


def gradcheck_max_pool(shape, window, stride, pad, seed):
    x = distinct_values(shape, seed)
    return gradcheck(lambda x: MaxPool(*window, stride, pad)(x), [x])


ADJOINT_CHECKS = [gradcheck_im2col, gradcheck_col2im, gradcheck_unfold, gradcheck_fold,
                  gradcheck_max_pool, gradcheck_pool_gather, gradcheck_pool_scatter]
CHECK_NAMES = [check.__name__.removeprefix("gradcheck_") for check in ADJOINT_CHECKS]


@pytest.mark.parametrize("check", ADJOINT_CHECKS, ids=CHECK_NAMES)
@pytest.mark.parametrize("case", ODD_WINDOWS, ids=str)
def test_adjoint_node_gradcheck_at_odd_sizes(check, case):
    shape, window, stride, pad = case
    assert check(shape, window, stride, pad, seed=13)


@pytest.mark.parametrize("check", ADJOINT_CHECKS, ids=CHECK_NAMES)
@given(case=windows(max_side=4), seed=seeds)
def test_adjoint_node_gradcheck_on_any_window(check, case, seed):
    shape, window, stride, pad = case
    assert check(shape, window, stride, pad, seed)


# -- second derivatives through Col2im, PoolScatter and PoolGather -----------------
@pytest.mark.parametrize("layer", [
    Convolution(values((2, 2, 3, 3), 8), values(2, 9), stride=2, pad=1),
    Pooling(2, 3, stride=1, pad=1),
])
def test_hessian_vector_product_matches_central_differences(layer):
    x0, v = distinct_values((2, 2, 5, 5), 10), values((2, 2, 5, 5), 11)
    w = None

    def gradient(x, create_graph=False):
        nonlocal w
        out = layer(x)
        w = values(out.shape, 12) if w is None else w
        (g,) = gg.grad(gg.sum(out * out * w), x, create_graph=create_graph)
        return g

    x = gg.tensor(x0)
    (hv,) = gg.grad(gg.sum(gradient(x, create_graph=True) * v), x)
    h = 1e-6
    plus = gradient(gg.tensor(x0 + h * v)).data
    minus = gradient(gg.tensor(x0 - h * v)).data
    np.testing.assert_allclose(hv.data, (plus - minus) / (2 * h), atol=1e-6)
