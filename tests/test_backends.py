"""Array backends: the same nodes, layers, models and optimizers on another array
library than numpy, with no second copy of the code.

``array_api_strict`` (the array API standard and nothing more), on its simulated
device "device1" where it refuses every conversion to numpy, is registered as the
device "strict": a stray ``np.`` call on tensor data, a numpy-only method or a
bool × float product fails here. Every case runs forward and backward on that device
and on numpy; values and gradients must agree, and ``gradcheck`` checks the device's
gradients against central differences. Targets (labels, one-hot rows) are passed as
numpy arrays: the losses copy them to the scores' device.

With CuPy and a CUDA GPU the same cases run on "cuda" (marker ``gpu``; skipped
elsewhere): ``pytest -m gpu tests/test_backends.py``.
"""
import subprocess
import sys
import types
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, strategies as st

import graphgrad as gg
from graphgrad import backend
from graphgrad.backend import ArrayAPINamespace, numpy_backend as npb
from graphgrad.functions import setitem
from graphgrad.models import MultiLayerNet, SimpleConvNet, TwoLayerNet
from graphgrad.nn import Affine, BatchNormalization, Convolution, Dropout, Pooling, Relu
from graphgrad.nodes import ToDevice
from graphgrad.optim import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop
from graphgrad.testing import gradcheck, gradgradcheck
from graphgrad.testing.strategies import arrays, expressions, shapes

xps = pytest.importorskip("array_api_strict")


def _cuda_available():
    if "cuda" in backend._by_device:
        return True
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    try:
        backend.namespace_for("cuda")
    except ValueError:
        return False
    return True


CUDA = _cuda_available()
NO_CUDA = "needs CuPy and a CUDA GPU"
DEVICES = ["strict", pytest.param("cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason=NO_CUDA)])]


@pytest.fixture(scope="module", autouse=True)
def strict():
    """array-api-strict on its device1 as graphgrad's device "strict"."""
    namespace = ArrayAPINamespace(xps, device="strict", native_device=xps.Device("device1"))
    backend.register(namespace)
    yield namespace
    backend.unregister("strict")


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


def assert_on(value, device):
    """``value`` is an array of ``device``'s namespace (not numpy, unless cpu)."""
    assert isinstance(value, backend.namespace_for(device).array_types), type(value)


def host(value):
    return np.asarray(backend.to_numpy(value))


def test_every_namespace_offers_the_names_graphgrad_uses(strict, stand_in_cupy):
    stand_in_cupy(gpus=1)
    from graphgrad.backend import cupy_backend
    for namespace in (backend.numpy_backend, strict, cupy_backend.namespace):
        missing = [name for name in backend.NAMES if not hasattr(namespace, name)]
        assert not missing, (namespace, missing)


# -- the core nodes: forward, backward, gradcheck ---------------------------------

RNG = np.random.default_rng(0)
A23, B23, C3, D21 = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3)), RNG.normal(size=3), \
    RNG.normal(size=(2, 1))
P23, P3 = RNG.uniform(0.5, 2, (2, 3)), RNG.uniform(0.5, 2, 3)
M34, B223 = RNG.normal(size=(3, 4)), RNG.normal(size=(2, 2, 3))
IMAGES, FILTERS = RNG.normal(size=(2, 2, 5, 5)), RNG.normal(size=(3, 2, 3, 3))
LABELS, ONE_HOT = np.array([2, 0]), np.eye(3)[[1, 2]]



CASES = {  # name: (function of tensors, its float64 inputs)
    "add": (lambda a, b: a + b, [A23, C3]),
    "sub": (lambda a, b: a - b, [A23, D21]),
    "mul": (lambda a, b: a * b, [A23, C3]),
    "div": (lambda a, b: a / b, [A23, P3]),
    "neg": (lambda a: -a, [A23]),
    "pow": (lambda a, b: a ** b, [P23, C3]),
    "pow number": (lambda a: a ** 2 + 2 ** a, [A23]),
    "exp": (gg.exp, [A23]),
    "log": (gg.log, [P23]),
    "tanh": (gg.tanh, [A23]),
    "relu": (gg.relu, [A23]),
    "maximum": (gg.maximum, [A23, C3]),
    "maximum number": (lambda a: gg.maximum(a, 0.1), [A23]),
    "matmul": (lambda a, m: a @ m, [A23, M34]),
    "matmul batched": (lambda b, c: b @ c, [B223, C3]),
    "matmul 1-D": (lambda c, m: c @ m, [C3, M34]),
    "dot": (gg.dot, [A23, C3]),
    "sum": (gg.sum, [A23]),
    "sum axis": (lambda a: gg.sum(a, axis=(0, 2), keepdims=True), [B223]),
    "mean": (lambda a: gg.mean(a, axis=1), [A23]),
    "max": (gg.max, [A23]),
    "max axis": (lambda a: gg.max(a, axis=-1, keepdims=True), [B223]),
    "reshape": (lambda a: gg.reshape(a, (3, 2)) * 2.0, [A23]),
    "transpose": (lambda a: a.T, [A23]),
    "transpose axes": (lambda b: gg.transpose(b, (1, -1, 0)), [B223]),
    "broadcast_to": (lambda c: gg.broadcast_to(c, (2, 2, 3)), [C3]),
    "sum_to": (lambda b: gg.sum_to(b, (2, 1, 3)), [B223]),
    "getitem basic": (lambda a: a[1, 1:] * a[0, ...][:2], [A23]),
    "sigmoid fused": (gg.sigmoid, [A23]),
    "sigmoid composite": (lambda a: gg.sigmoid(a, fused=False), [A23]),
    "softmax": (gg.softmax, [A23]),
    "softmax_with_loss labels": (lambda a: gg.softmax_with_loss(a, LABELS), [A23]),
    "softmax_with_loss one-hot": (lambda a: gg.softmax_with_loss(a, ONE_HOT), [A23]),
    "softmax_with_loss composite": (
        lambda a: gg.softmax_with_loss(a, LABELS, fused=False), [A23]),
    "convolution": (lambda x, w, b: Convolution(w, b, stride=2, pad=1)(x),
                    [IMAGES, FILTERS, C3]),
    "pooling": (lambda x: Pooling(2, 2, stride=1, pad=1)(x), [IMAGES]),
    "batchnorm": (lambda x, g, b: BatchNormalization(g, b)(x), [B223[0], P3, C3]),
    "getitem fewer axes": (lambda b: b[1] * b[-1, ::2], [B223]),
    "getitem newaxis": (lambda b: b[:, None, 1:], [B223]),
    "getitem slices past the end": (lambda a: a[1:, 2:9] * a[:, 1:9], [A23]),
    "getitem empty slice": (lambda a: a[5:9], [A23]),
    "getitem integer array": (lambda a: a[np.array([1, 1, 0]), 1:], [A23]),
    "getitem int arrays broadcast": (
        lambda a: a[np.array([[0], [1]]), np.array([1, 1, 2])] * a, [A23]),
    "getitem many repeats": (lambda a: a[np.array([1, 0, 1, 1, 1, 0, 1, 1, 1]), 2], [A23]),
    "getitem boolean mask": (lambda a: a[np.array([True, False])], [A23]),
    "getitem labels on the device": (
        lambda a: a[..., gg.tensor(np.array([2, 0, 2]), device=a.device)], [A23]),
    "getitem empty integer array": (lambda a: a[np.array([], dtype=np.int64)], [A23]),
    "cross_entropy_error": (
        lambda a: gg.cross_entropy_error(gg.softmax(a), LABELS), [A23]),
    "copy": (lambda a: a.copy() * a, [A23]),
    "setitem basic": (lambda a, c: setitem(a, (1, slice(None)), c * c), [A23, C3]),
    "setitem number": (lambda a: setitem(a * a, (Ellipsis, 0), 0.5), [A23]),
    "setitem boolean mask": (lambda a, c: setitem(a, np.array([True, False]), c), [A23, C3]),
    "setitem integer arrays": (
        lambda a, d: setitem(a, (np.array([[1], [0]]), np.array([2, 0])), d), [A23, D21]),
    "setitem in place": (lambda a, c: _written(a * 1.0, (slice(None), 1), c[0]), [A23, C3]),
}


def _written(t, index, value):
    """``t`` after ``t[index] = value``."""
    t[index] = value
    return t


def run(function, arrays, device):
    """Forward and backward of ``function`` on ``device``: (value, input gradients)."""
    xs = [gg.tensor(a, device=device) for a in arrays]
    out = function(*xs)
    out.backward(np.linspace(0.5, 1.5, out.size).reshape(out.shape))
    for t in [out, *xs]:
        assert t.device == device
        assert_on(t.data, device)
    for x in xs:
        assert_on(x.grad, device)
    return host(out.data), [host(x.grad) for x in xs]


@pytest.mark.parametrize("name", CASES)
def test_node_values_and_gradients_match_numpy(name, device):
    function, arrays = CASES[name]
    value, grads = run(function, arrays, device)
    expected_value, expected_grads = run(function, arrays, "cpu")
    np.testing.assert_allclose(value, expected_value, rtol=1e-12, atol=1e-12)
    for g, expected in zip(grads, expected_grads):
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-12)


def test_basic_indices_stay_the_standards_own(strict):
    """A basic index that the standard takes once ``...`` is added is not resolved
    to flat positions on the host: no ``take``."""
    index, part = (1, slice(None, None, 2)), B223[1, ::2]
    x, gy = strict.from_numpy(B223), strict.from_numpy(part)
    with mock.patch.object(xps, "take", side_effect=AssertionError("take called")):
        np.testing.assert_array_equal(host(strict.getitem(x, index)), part)
        np.testing.assert_array_equal(host(strict.getitem_grad(gy, index, B223.shape))[index],
                                      part)


@pytest.mark.parametrize("device", DEVICES)
@given(st.data())
def test_indexing_on_the_device_matches_numpy(device, data):
    """Random graphs of indexing (basic and integer arrays, repeats included), products
    and transposes: values and gradients as on numpy."""
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    expr = data.draw(expressions([shape], max_ops=4, ops=("getitem", "mul", "transpose")))
    x = data.draw(arrays(shape))
    value, grads = run(expr, [x], device)
    expected_value, expected_grads = run(expr, [x], "cpu")
    np.testing.assert_allclose(value, expected_value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads[0], expected_grads[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["mul", "div", "pow", "exp", "tanh", "matmul batched",
                                  "max axis", "sigmoid fused", "softmax_with_loss labels",
                                  "convolution", "pooling", "getitem int arrays broadcast",
                                  "getitem many repeats", "cross_entropy_error",
                                  "setitem integer arrays"])
def test_gradcheck_on_the_device(name, device):
    function, arrays = CASES[name]
    assert gradcheck(function, [gg.tensor(a, device=device) for a in arrays])


@pytest.mark.parametrize("name", ["mul", "exp", "tanh", "softmax_with_loss labels",
                                  "getitem int arrays broadcast", "setitem integer arrays"])
def test_second_derivatives_on_the_device(name, device):
    function, arrays = CASES[name]
    assert gradgradcheck(function, [gg.tensor(a, device=device) for a in arrays])


def test_float32_stays_float32_on_the_device(device):
    x = gg.tensor(A23.astype(np.float32), device=device)
    y = gg.softmax_with_loss(gg.relu(x * 2.0) @ gg.tensor(M34.astype(np.float32), device=device).to("cpu")
                             .to(device) * 0.5 + 1, LABELS)
    y.backward()
    assert host(x.grad).dtype == np.float32


# -- tensors, devices and moves ---------------------------------------------------

def test_tensor_device_and_to(device):
    x = gg.tensor(A23, name="x")
    assert x.device == "cpu" and x.to("cpu") is x
    y = x.to(device)
    assert y.device == device and y.to(device) is y
    assert_on(y.data, device)
    np.testing.assert_array_equal(y.numpy(), A23)
    assert gg.tensor(2.5, device=device).item() == 2.5
    assert f"device={device!r}" in repr(y)
    labels = gg.tensor(LABELS, device=device)
    assert not labels.requires_grad and labels.device == device


def test_gradients_flow_back_across_devices(device):
    x = gg.tensor(A23)
    y = gg.sum(gg.exp(x.to(device)) * 2.0).to("cpu")
    y.backward()
    assert type(x.grad) is np.ndarray
    np.testing.assert_allclose(x.grad, 2 * np.exp(A23))


def test_gradcheck_through_to_device_on_the_cpu():
    assert gradcheck(lambda x: ToDevice("cpu")(x), [A23])


@pytest.mark.parametrize("there", [True, False], ids=["cpu to device", "device to cpu"])
def test_gradcheck_through_to_device(there, device):
    """A ToDevice node alone: the gradient comes back to the input's device."""
    source, target = ("cpu", device) if there else (device, "cpu")
    assert gradcheck(lambda x: ToDevice(target)(x), [gg.tensor(A23, device=source)])


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a @ b.T,
                                lambda a, b: gg.maximum(b, a)])
def test_mixing_devices_in_one_op_is_a_clear_error(op, device):
    cpu, other = gg.tensor(A23, name="w"), gg.tensor(B23, device=device)
    with pytest.raises(RuntimeError, match=f"different devices.*({device} and cpu|cpu and "
                                           f"{device})") as error:
        op(cpu, other)
    assert "'w'" in str(error.value) and "(" in str(error.value)  # names the op's operand


def test_a_python_number_goes_with_any_device(device):
    x = gg.tensor(A23, device=device)
    assert_on((2 * x - 1.5).data, device)


def test_unknown_device_is_a_clear_error():
    with pytest.raises(ValueError, match="tensor 'x'.*unknown device 'tpu'.*'cpu'"):
        gg.tensor([1.0], name="x", device="tpu")


@pytest.mark.skipif(CUDA, reason="CuPy and a GPU are present")
def test_cuda_without_cupy_or_gpu_says_so():
    with pytest.raises(ValueError, match="device 'cuda'.*CuPy"):
        gg.tensor([1.0], name="x", device="cuda")


OLD_CUPY_LACKS = ("permute_dims", "matrix_transpose", "astype", "isdtype")  # before v14


class StandInArray(np.ndarray):
    """A stand-in CuPy array: numpy underneath, but like an array in GPU memory it
    cannot be read on the host by DLPack (``np.from_dlpack``)."""

    def __dlpack__(self, *args, **kwargs):
        raise BufferError("a CUDA array cannot be read on the host by DLPack")


def old_cupy_attribute(name):
    """numpy's ``name`` as the stand-in's, but for the array API names that CuPy
    lacks before v14 (graphgrad must adapt those)."""
    if name in OLD_CUPY_LACKS:
        raise AttributeError(f"module 'cupy' has no attribute {name!r}")
    return getattr(np, name)


def old_cupy_asarray(a, dtype=None, order=None):
    """CuPy's ``asarray`` before v14: no ``copy`` argument."""
    return np.asarray(a, dtype=dtype, order=order).view(StandInArray)


def stand_in_cupy_modules(gpus):
    """Stand-ins for ``cupy`` (an old CuPy on numpy, reporting ``gpus`` CUDA devices)
    and ``cupyx``."""
    class CUDARuntimeError(RuntimeError):
        pass

    cupy = types.ModuleType("cupy")
    cupy.__getattr__ = old_cupy_attribute
    cupy.ndarray = StandInArray
    cupy.asarray = old_cupy_asarray
    cupy.array = lambda obj, dtype=None: np.array(obj, dtype=dtype).view(StandInArray)
    cupy.zeros = lambda shape, dtype=float: np.zeros(shape, dtype).view(StandInArray)
    cupy.asnumpy = lambda x: np.asarray(x).view(np.ndarray)
    cupy.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(
        getDeviceCount=lambda: gpus, CUDARuntimeError=CUDARuntimeError))
    cupy.lib = types.SimpleNamespace(stride_tricks=np.lib.stride_tricks)
    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add = np.add.at
    return cupy, cupyx


@pytest.fixture
def stand_in_cupy(monkeypatch):
    """``install(gpus)`` puts a stand-in ``cupy`` (see ``stand_in_cupy_modules``)
    where graphgrad's CuPy backend imports it; afterwards the backend is forgotten,
    so the real one loads next time."""
    def install(gpus):
        cupy, cupyx = stand_in_cupy_modules(gpus)
        monkeypatch.setitem(sys.modules, "cupy", cupy)
        monkeypatch.setitem(sys.modules, "cupyx", cupyx)
        monkeypatch.delitem(sys.modules, "graphgrad.backend.cupy_backend", raising=False)
        monkeypatch.delattr(backend, "cupy_backend", raising=False)
        return cupy

    yield install
    sys.modules.pop("graphgrad.backend.cupy_backend", None)  # the stand-in's; then
    if hasattr(backend, "cupy_backend"):  # monkeypatch restores a real one, if any
        del backend.cupy_backend


@pytest.mark.skipif(CUDA, reason="CuPy and a GPU are present")
def test_cupy_without_a_gpu_says_so(stand_in_cupy):
    stand_in_cupy(gpus=0)
    with pytest.raises(ValueError, match="tensor 'x'.*device 'cuda'.*no CUDA GPU"):
        gg.tensor([1.0], name="x", device="cuda")


@pytest.fixture
def stand_in_namespace(stand_in_cupy):
    """(stand-in cupy, graphgrad's CuPy namespace on it): the namespace's own code
    run on a stand-in for an old CuPy, to agree with the numpy namespace."""
    if CUDA:
        pytest.skip("CuPy and a GPU are present")
    cupy = stand_in_cupy(gpus=1)
    from graphgrad.backend import cupy_backend
    return cupy, cupy_backend.namespace


def test_cupy_namespace_supplies_the_names_old_cupy_lacks(stand_in_namespace):
    cupy, xp = stand_in_namespace
    assert xp.device == "cuda" and xp.array_types == (cupy.ndarray,)
    assert "cuda" not in backend._by_device  # imported, not registered
    np.testing.assert_array_equal(xp.permute_dims(B223, (2, 0, 1)), B223.transpose(2, 0, 1))
    np.testing.assert_array_equal(xp.matrix_transpose(B223), npb.matrix_transpose(B223))
    assert xp.astype(A23 > 0, np.float32).dtype == np.float32
    assert xp.isdtype(np.dtype(np.int32), "integral") and xp.exp(0) == 1.0


def test_cupy_namespace_makes_and_moves_arrays(stand_in_namespace):
    """``asarray`` copies on request (old CuPy's has no ``copy``); values move to
    the host by ``cupy.asnumpy`` (a GPU array refuses DLPack there); a condition
    is a factor as it is (CuPy multiplies booleans)."""
    cupy, xp = stand_in_namespace
    copy = xp.asarray(A23, dtype=np.float32, copy=True)
    assert copy.dtype == np.float32 and not np.shares_memory(copy, A23)
    on_gpu = xp.from_numpy(A23)
    assert isinstance(on_gpu, cupy.ndarray)
    np.testing.assert_array_equal(xp.to_numpy(on_gpu), A23)
    condition = A23 > 0
    assert xp.mask(condition, np.float64) is condition


def test_cupy_namespace_indexing_and_windows(stand_in_namespace):
    """Indexing as numpy's, its gradient by ``cupyx.scatter_add``; windows as a
    strided view."""
    _, xp = stand_in_namespace
    index = (np.array([1, 1, 0]), slice(1, None))
    np.testing.assert_array_equal(xp.getitem(A23, index), A23[index])
    np.testing.assert_array_equal(xp.getitem_grad(np.ones((3, 2)), index, (2, 3)),
                                  npb.getitem_grad(np.ones((3, 2)), index, (2, 3)))
    np.testing.assert_array_equal(xp.windows(IMAGES, 3, 2, 2, 1), npb.windows(IMAGES, 3, 2, 2, 1))
    assert np.shares_memory(xp.windows(IMAGES, 3, 2), IMAGES)  # a view, not a copy
    np.testing.assert_array_equal(xp.sum_to(B223, (2, 1, 3)), npb.sum_to(B223, (2, 1, 3)))


def test_import_graphgrad_does_not_import_cupy():
    code = ("import sys, graphgrad as gg; gg.tensor([1.0]).backward(); "
            "assert 'cupy' not in sys.modules, 'cupy imported'; "
            "assert 'array_api_strict' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- layers, models and optimizers ------------------------------------------------

def test_layer_dlfs_protocol_on_the_device(device):
    W, b = gg.tensor(M34, device=device).data, gg.tensor(C3[:1] * np.ones(4), device=device).data
    layer = Affine(W, b)
    x = gg.tensor(A23, device=device).data
    out = layer.forward(x)
    dx = layer.backward(backend.to_device(np.ones((2, 4)), device))
    assert_on(out, device), assert_on(dx, device), assert_on(layer.dW, device)
    np.testing.assert_allclose(host(dx), np.ones((2, 4)) @ M34.T)
    np.testing.assert_allclose(host(layer.dW), A23.T @ np.ones((2, 4)))
    relu = Relu()
    np.testing.assert_allclose(host(relu.forward(x)), np.maximum(A23, 0))


def twin_models(make, device):
    """The same model twice, one copy moved to ``device``."""
    np.random.seed(3)
    model = make()
    np.random.seed(3)
    return model, make().to(device)


MODELS = {
    "TwoLayerNet": (lambda: TwoLayerNet(6, 5, 3, weight_init_std=0.5), (4, 6)),
    "SimpleConvNet": (lambda: SimpleConvNet(
        input_dim=(2, 6, 6), hidden_size=4, output_size=3, weight_init_std=0.3,
        conv_param={"filter_num": 3, "filter_size": 3, "pad": 1, "stride": 1}), (4, 2, 6, 6)),
    "MultiLayerNet": (lambda: MultiLayerNet(
        6, [5, 4], 3, use_batchnorm=True, use_dropout=True, weight_decay_lambda=0.1), (4, 6)),
}
OPTIMIZERS = [SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: o.__name__)
@pytest.mark.parametrize("model_name", MODELS)
def test_training_steps_match_numpy(model_name, optimizer, device):
    make, x_shape = MODELS[model_name]
    cpu, moved = twin_models(make, device)
    assert moved.device == device and cpu.device == "cpu"
    rng = np.random.default_rng(4)
    opt_cpu, opt_moved = optimizer(lr=0.1), optimizer(lr=0.1)
    for _ in range(2):
        x, t = rng.normal(size=x_shape), rng.integers(0, 3, x_shape[0])
        np.random.seed(5)  # the same dropout masks
        loss, grads = cpu.loss_and_gradient(x, t)
        np.random.seed(5)
        moved_loss, moved_grads = moved.loss_and_gradient(x, t)
        assert moved_loss == pytest.approx(loss, rel=1e-12)
        for key, g in moved_grads.items():
            assert_on(g, device)
            np.testing.assert_allclose(host(g), grads[key], rtol=1e-10, atol=1e-12)
        opt_cpu.update(cpu.params, grads)
        opt_moved.update(moved.params, moved_grads)
    for key, value in moved.params.items():
        assert_on(value, device)
        np.testing.assert_allclose(host(value), cpu.params[key], rtol=1e-10, atol=1e-12)


def test_model_to_keeps_layers_sharing_the_params(device):
    model = TwoLayerNet(6, 5, 3).to(device)
    assert model.layers["Affine1"].W is model.params["W1"]
    assert model.layers["Affine2"].b is model.params["b2"]
    assert model.to(device).params["W1"] is model.params["W1"]  # already there
    back = model.to("cpu")
    assert type(back.params["W1"]) is np.ndarray and back.layers["Affine1"].W is back.params["W1"]


def test_model_api_on_the_device(device, tmp_path):
    cpu, moved = twin_models(MODELS["TwoLayerNet"][0], device)
    x, t = np.random.default_rng(6).normal(size=(5, 6)), np.array([0, 1, 2, 1, 0])
    assert_on(moved.predict(x), device)
    assert moved.accuracy(x, t, batch_size=2) == cpu.accuracy(x, t, batch_size=2)
    assert moved.loss(x, np.eye(3)[t]) == pytest.approx(cpu.loss(x, np.eye(3)[t]))
    moved.save_params(tmp_path / "w.npz")
    cpu.params["W1"][...] = 0
    cpu.load_params(tmp_path / "w.npz")
    moved.load_params(tmp_path / "w.npz")
    np.testing.assert_allclose(host(moved.params["W1"]), cpu.params["W1"])
    numerical = moved.numerical_gradient(x[:2], t[:2])
    np.testing.assert_allclose(host(numerical["b2"]), cpu.gradient(x[:2], t[:2])["b2"],
                               atol=1e-7)


def test_batchnorm_running_statistics_move_with_the_model(device):
    np.random.seed(7)
    model = MultiLayerNet(6, [5], 3, use_batchnorm=True)
    model.loss_and_gradient(np.random.rand(4, 6), np.array([0, 1, 2, 0]))  # stats made
    model.to(device)
    assert_on(model.layers["BatchNorm1"].running_mean, device)
    assert_on(model.predict(np.random.rand(2, 6)), device)  # test mode uses them


def test_dropout_masks_follow_numpy_seed_on_the_device(device):
    x = np.ones((3, 4))
    np.random.seed(8)
    expected = Dropout(0.5).forward(x)
    np.random.seed(8)
    out = Dropout(0.5).forward(gg.tensor(x, device=device).data)
    np.testing.assert_array_equal(host(out), expected)


# -- the namespace's extras keep numpy's contracts --------------------------------

def test_broadcast_to_gives_a_writable_array_of_its_own(device):
    """``broadcast_to`` is a new array, as numpy's namespace gives (not a view whose
    elements share memory): the gradient of a sum lands in ``.grad`` as it, and a
    write into one element changes that element only."""
    xp = backend.namespace_for(device)
    out = xp.broadcast_to(xp.from_numpy(C3), (2, 3))
    out[0, 0] = 10.0
    np.testing.assert_array_equal(host(out), [[10.0, *C3[1:]], C3])
    h = gg.tensor(A23, device=device) * 2.0
    gg.sum(h).backward()
    h.grad[0, 0] = 5.0
    np.testing.assert_array_equal(host(h.grad), [[5.0, 1, 1], [1, 1, 1]])


def test_cupy_namespace_broadcast_to_is_a_copy(stand_in_namespace):
    cupy, xp = stand_in_namespace
    out = xp.broadcast_to(xp.from_numpy(C3), (2, 3))
    assert isinstance(out, cupy.ndarray) and out.flags.writeable
    out[0, 0] = 10.0
    np.testing.assert_array_equal(out, [[10.0, *C3[1:]], C3])


@pytest.mark.parametrize("dtype", [np.float32, "float32", np.dtype(np.float32), "own"])
def test_cast_on_the_device_takes_numpy_and_its_own_dtypes(dtype, device):
    """``x.astype(dtype)`` (a ``Cast`` node) with a numpy dtype, as ``Cast`` holds, or
    the device library's own (``x.dtype`` of a float32 tensor there)."""
    x = gg.tensor(A23, device=device)
    if dtype == "own":
        dtype = gg.tensor(A23.astype(np.float32), device=device).dtype
    y = x.astype(dtype) * 2.0
    y.backward(backend.to_device(np.ones((2, 3), np.float32), device))
    assert host(y.data).dtype == np.float32 and host(x.grad).dtype == np.float64
    np.testing.assert_array_equal(host(y.data), (A23.astype(np.float32) * 2))
    np.testing.assert_array_equal(host(x.grad), np.full((2, 3), 2.0))


def test_float32_model_on_the_device_casts_tensor_inputs(device):
    """A float32 model casts a float64 tensor input (what ``gg.compile`` and ONNX
    export hand it) to its parameters' dtype by a ``Cast`` node, on any device."""
    cpu, moved = twin_models(lambda: SimpleConvNet(
        input_dim=(1, 6, 6), hidden_size=4, output_size=3, weight_init_std=0.3,
        conv_param={"filter_num": 2, "filter_size": 3, "pad": 1, "stride": 1},
        dtype=np.float32), device)
    x = np.random.default_rng(9).normal(size=(2, 1, 6, 6))
    expected = cpu.predict(gg.tensor(x))
    scores = moved.predict(gg.tensor(x, device=device))
    assert expected.dtype == np.float32 and host(scores).dtype == np.float32
    np.testing.assert_allclose(host(scores), expected, rtol=1e-6)


@pytest.mark.parametrize("index", [(0, slice(None)), (np.array([1, 0]), slice(None))],
                         ids=["basic", "integer array"])
def test_setitem_casts_the_value_to_the_arrays_dtype(index, device):
    """numpy's assignment: a float64 value written into a float32 array is cast,
    through a basic index as through an integer array."""
    x, v = A23.astype(np.float32), B23[:1].astype(np.float64)
    expected = npb.setitem(x, index, v)
    xp = backend.namespace_for(device)
    out = host(xp.setitem(xp.from_numpy(x), index, xp.from_numpy(v)))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)



def test_load_params_into_a_device_model_of_another_dtype(device, tmp_path):
    """``load_params`` casts the file's values (float64, integers, booleans) to the
    parameters' dtype on the device, as numpy's assignment does on the CPU."""
    make = lambda: SimpleConvNet(  # noqa: E731
        input_dim=(1, 6, 6), hidden_size=4, output_size=3,
        conv_param={"filter_num": 2, "filter_size": 3, "pad": 1, "stride": 1},
        dtype=np.float32)
    cpu, moved = twin_models(make, device)
    for kind in (np.float64, np.int64, np.bool_):
        values = {key: (np.arange(value.size).reshape(value.shape) % 2).astype(kind)
                  for key, value in cpu.params.items()}
        np.savez(tmp_path / "w.npz", **values)
        cpu.load_params(tmp_path / "w.npz")
        moved.load_params(tmp_path / "w.npz")
        for key, value in moved.params.items():
            assert_on(value, device)
            assert host(value).dtype == np.float32
            np.testing.assert_array_equal(host(value), cpu.params[key])
        assert moved.layers["Conv1"].W is moved.params["W1"]


def test_leaf_gradients_have_the_leafs_dtype_on_the_device(device):
    """As on the CPU: a float32 leaf combined with float64 values gets a float32
    ``.grad`` (it stayed float64 on a device)."""
    w = gg.tensor(np.ones(3, np.float32), device=device)
    c = gg.tensor(np.arange(3.0), requires_grad=False, device=device)
    gg.sum(w * c).backward()
    assert str(w.grad.dtype).endswith("float32")
    np.testing.assert_array_equal(host(w.grad), np.arange(3.0, dtype=np.float32))


def test_leaf_gradients_are_arrays_of_their_own_on_the_device(device):
    """A transpose passes its gradient back as a view: the leaf's ``.grad`` must not
    share it with the intermediate's (writing into one changed the other)."""
    x = gg.tensor(np.ones((2, 3)), device=device)
    y = x.T
    y.backward(backend.to_device(np.arange(6.0).reshape(3, 2), device))
    x.grad[...] = 0
    np.testing.assert_array_equal(host(y.grad), np.arange(6.0).reshape(3, 2))
