"""Every bad input raises one exception, of one exact type, whose message names the
operation, the shapes and dtypes involved and, where the user named a tensor, its
name: one table of (what goes wrong, expected exception, words of the message)."""
import importlib.util
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

import graphgrad as gg
import viz
from graphgrad.datasets import read_idx
from graphgrad.models import MultiLayerNet, SimpleConvNet, TwoLayerNet
from graphgrad.nn import Affine, BatchNormalization, Pooling, Relu
from graphgrad.node import Node
from graphgrad.serialization import UnsafePickleError, load_params
from graphgrad.testing import GradcheckError, gradcheck


def named(name, shape=(2, 3), dtype=np.float64):
    return gg.tensor(np.ones(shape, dtype), name=name)


def labels(*values):
    return gg.tensor(np.array(values), name="labels")


def backward_twice():
    y = gg.exp(named("x", (3,)))
    y.backward(np.ones(3))
    y.backward(np.ones(3))


def layer_backward_twice():
    relu = Relu()
    relu.forward(np.ones(3))
    relu.backward(np.ones(3))
    relu.backward(np.ones(3))


def modify_saved_data():
    w = named("w", (3,))
    y = gg.sum(w * w)
    w.data -= 0.5  # Mul saved w's value for its backward
    y.backward()


def backward_with_wrong_seed():
    y = named("x", (3,)) * 2
    y.name = "y"
    y.backward(np.ones(2))


def backward_of_no_grad_result():
    x = named("x", (3,))
    with gg.no_grad():
        y = x * 2
    y.name = "y"
    y.backward()


class ForgetsTheTwo(Node):
    """x², with the factor 2 forgotten in backward."""

    op = "square"

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, dout):
        return dout * self.x


def read_truncated_idx():
    path = Path("truncated.idx")  # uint8, shape (2, 3), but only 3 of 6 data bytes
    path.write_bytes(bytes([0, 0, 0x08, 2]) + struct.pack(">2I", 2, 3) + bytes(3))
    read_idx(path)


class RunsACommand:
    def __reduce__(self):
        return os.system, ("true",)


def load_malicious_pickle():
    Path("evil.pkl").write_bytes(pickle.dumps({"W1": np.ones(2), "x": RunsACommand()}))
    load_params("evil.pkl")


def case(id, make_error, kind, *words):
    return pytest.param(make_error, kind, words, id=id)


SHAPES_A_B = ("'a'", "float64 (2, 3)", "'b'", "float64 (4, 5)")

LOSSES = [  # (id, the loss of a named (2, 3) input x for targets t, how errors name it)
    ("fused", lambda t: gg.softmax_with_loss(named("x"), t),
     "SoftmaxWithLoss (softmax_with_loss)"),
    ("composite", lambda t: gg.softmax_with_loss(named("x"), t, fused=False),
     "softmax_with_loss"),
    ("cross-entropy", lambda t: gg.cross_entropy_error(named("x"), t), "cross_entropy_error"),
]

CASES = [
    # shape mismatches
    case("add", lambda: named("a") + named("b", (4, 5)), ValueError, "Add (+)", *SHAPES_A_B),
    case("sub", lambda: named("a") - named("b", (4, 5)), ValueError, "Sub (−)", *SHAPES_A_B),
    case("mul", lambda: named("a") * named("b", (4, 5)), ValueError, "Mul (×)", *SHAPES_A_B),
    case("div", lambda: named("a") / named("b", (4, 5)), ValueError, "Div (/)", *SHAPES_A_B),
    case("pow", lambda: named("a") ** named("b", (4, 5)), ValueError, "Pow (**)", *SHAPES_A_B),
    case("matmul", lambda: named("a") @ named("b", (4, 5)), ValueError, "MatMul (@)",
         *SHAPES_A_B),
    case("dot", lambda: gg.dot(named("a"), named("b", (4, 5))), ValueError, "Dot (dot)",
         *SHAPES_A_B),
    case("maximum", lambda: gg.maximum(named("a"), named("b", (4, 5))), ValueError,
         "Maximum (maximum)", *SHAPES_A_B),
    case("broadcast_to", lambda: gg.broadcast_to(named("a"), (4, 3)), ValueError,
         "BroadcastTo", "'a'", "(2, 3)", "(4,3)"),
    # shape functions and axes
    case("reshape", lambda: gg.reshape(named("a"), (4,)), ValueError,
         "Reshape (reshape)", "'a'", "float64 (2, 3)", "size 6", "(4,)"),
    case("reshape-method", lambda: named("a").reshape(5, -1), ValueError,
         "Reshape (reshape)", "'a'", "(2, 3)", "size 6"),
    case("transpose-axis", lambda: gg.transpose(named("a"), (0, 2)), ValueError,
         "Transpose (T)", "'a'", "float64 (2, 3)", "axis 2"),
    case("transpose-repeated", lambda: named("a").transpose(0, 0), ValueError,
         "Transpose (T)", "'a'", "(2, 3)", "repeated axis"),
    case("sum-axis", lambda: gg.sum(named("a"), axis=2), ValueError,
         "Sum (sum)", "'a'", "float64 (2, 3)", "axis 2"),
    case("mean-axis", lambda: gg.mean(named("a"), axis=-3), ValueError,
         "Mean (mean)", "'a'", "(2, 3)", "axis -3"),
    case("max-axis", lambda: named("a").max(axis=5), ValueError,
         "Max (max)", "'a'", "(2, 3)", "axis 5"),
    case("index", lambda: named("a")[5], IndexError,
         "GetItem ([])", "'a'", "float64 (2, 3)", "index 5", "axis 0"),
    case("index-axis-1", lambda: named("a")[:, 3], IndexError,
         "GetItem ([])", "'a'", "(2, 3)", "index 3", "axis 1"),
    case("index-array", lambda: named("a")[np.array([0, 7])], IndexError,
         "GetItem ([])", "'a'", "(2, 3)", "index 7"),
    # targets of the losses
    *[case(f"{name}-label-{bad}", lambda loss=loss, bad=bad: loss(labels(0, bad)), ValueError,
           op, "'x'", "float64 (2, 3)", "'labels'", "int64 (2,)", f"label {bad}", "3 classes")
      for bad in (3, -1) for name, loss, op in LOSSES],
    *[case(f"{name}-one-hot-shape", lambda loss=loss: loss(named("one_hot", (2, 4))), ValueError,
           op, "'x'", "float64 (2, 3)", "'one_hot'", "float64 (2, 4)", "match neither")
      for name, loss, op in LOSSES],
    # data that is not a real number
    case("string", lambda: gg.tensor("abc", name="s"), TypeError, "tensor 's'", "<U3"),
    case("string-list", lambda: gg.tensor(["a", "b"], name="s"), TypeError,
         "tensor 's'", "<U1", "(2,)"),
    case("object", lambda: gg.tensor(object(), name="o"), TypeError, "tensor 'o'", "object"),
    case("none", lambda: gg.tensor(None, name="n"), TypeError, "tensor 'n'", "object"),
    case("list-with-none", lambda: gg.tensor([1.0, None], name="n"), TypeError,
         "tensor 'n'", "object", "(2,)"),
    case("ragged-list", lambda: gg.tensor([[1, 2], [3]], name="r"), ValueError,
         "tensor 'r'", "list", "inhomogeneous"),
    case("string-operand", lambda: named("a") * "x", TypeError,
         "Mul (×)", "'a'", "float64 (2, 3)", "<U1"),
    case("none-operand", lambda: named("a") + None, TypeError,
         "Add (+)", "'a'", "float64 (2, 3)", "object"),
    # complex numbers
    case("complex", lambda: gg.tensor(1 + 2j, name="z"), TypeError, "tensor 'z'", "complex128"),
    case("complex-array", lambda: gg.tensor(np.array([1j, 2]), name="z"), TypeError,
         "tensor 'z'", "complex128", "(2,)"),
    case("complex-list", lambda: gg.tensor([1j, 2], name="z"), TypeError,
         "tensor 'z'", "complex128", "(2,)"),
    case("complex-operand", lambda: named("a") * (1 + 2j), TypeError,
         "Mul (×)", "'a'", "float64 (2, 3)", "complex128"),
    case("complex-array-operand", lambda: named("a") + np.array([1j, 1, 1]), TypeError,
         "Add (+)", "'a'", "float64 (2, 3)", "complex128 (3,)"),
    # backward and grad
    case("backward-integer", lambda: labels(1, 2).backward(), RuntimeError,
         "backward", "'labels'", "int64", "(2,)", "not a float type"),
    case("backward-integer-result", lambda: (labels(1, 2) * 2).backward(), RuntimeError,
         "backward", "int64", "(2,)", "not a float type"),
    case("backward-constant", lambda: gg.tensor(1.0, name="c", requires_grad=False).backward(),
         RuntimeError, "backward", "'c'", "float64", "does not require grad"),
    case("backward-no-grad", backward_of_no_grad_result, RuntimeError,
         "backward", "'y'", "float64", "(3,)", "does not require grad"),
    case("backward-seed-shape", backward_with_wrong_seed, ValueError,
         "backward", "'y'", "seed gradient of shape (2,)", "shape (3,)"),
    case("backward-twice", backward_twice, RuntimeError,
         "Exp (exp)", "'x'", "float64 (3,)", "second time", "retain_graph=True"),
    case("modified-saved-data", modify_saved_data, RuntimeError,
         "Mul (×)", "'w'", "(3,)", "float64", "modified in place"),
    case("grad-constant",
         lambda: gg.grad(gg.tensor(2.0, name="c", requires_grad=False), [named("x")]),
         RuntimeError, "grad", "'c'", "float64", "does not require grad"),
    case("gradcheck-broken-node", lambda: gradcheck(ForgetsTheTwo(), [named("w", (2,))]),
         GradcheckError, "gradcheck", "input 0 'w'", "(2,)", "index (0,)", "backprop",
         "vs numerical", "2 of 2 elements differ"),
    case("layer-backward-twice", layer_backward_twice, RuntimeError,
         "Relu.backward", "second time", "retain_graph=True to the first backward"),
    case("layer-backward-first", lambda: Relu().backward(np.ones(3)), RuntimeError,
         "Relu.backward before any forward", "forward(x)"),
    # input shapes of layers and models: the layer, the shape it expects, the given one
    case("convnet-flat-images", lambda: SimpleConvNet().predict(np.zeros((2, 784))),
         ValueError, "Convolution 'Conv1'", "(N, 1, H, W)", "(2, 784)"),
    case("twolayer-wrong-features", lambda: TwoLayerNet(784, 5, 10).predict(np.zeros((2, 700))),
         ValueError, "Affine 'Affine1'", "(N, 784)", "(2, 700)"),
    case("twolayer-one-sample", lambda: TwoLayerNet(784, 5, 10).predict(np.zeros(784)),
         ValueError, "Affine 'Affine1'", "(N, 784)", "(784,)"),
    case("multilayer-wrong-features",
         lambda: MultiLayerNet(4, [3], 2, use_batchnorm=True).predict(np.zeros((2, 3))),
         ValueError, "Affine 'Affine1'", "(N, 4)", "(2, 3)"),
    case("batchnorm-standalone",
         lambda: BatchNormalization(np.ones(3), np.zeros(3)).forward(np.ones((2, 4))),
         ValueError, "BatchNormalization expects", "(N, 3)", "(2, 4)"),
    case("affine-standalone", lambda: Affine(np.ones((3, 2)), np.zeros(2)).forward(np.ones((4, 5))),
         ValueError, "Affine expects", "(N, 3)", "(4, 5)"),
    case("pooling-flat", lambda: Pooling(2, 2, 2).forward(np.ones((4, 16))), ValueError,
         "Pooling expects", "(N, C, H, W)", "(4, 16)"),
    # devices
    case("device", lambda: gg.tensor([1.0], name="x", device="tpu"), ValueError,
         "tensor 'x'", "device 'tpu'", "'cpu'"),
    case("device-float", lambda: gg.tensor(1.0, name="x", device="tpu"), ValueError,
         "tensor 'x'", "device 'tpu'", "'cpu'"),
    pytest.param(lambda: gg.tensor(1.0, name="x", device="cuda"), ValueError,
                 ("tensor 'x'", "device 'cuda'", "CuPy"), id="device-cuda-without-cupy",
                 marks=pytest.mark.skipif(importlib.util.find_spec("cupy") is not None,
                                          reason="CuPy is installed")),
    # files
    case("read-idx-truncated", read_truncated_idx, ValueError,
         "truncated.idx", "truncated data", "3 of 6 bytes", "(2, 3)"),
    case("load-malicious-pickle", load_malicious_pickle, UnsafePickleError,
         "evil.pkl", "forbidden global", f"{os.system.__module__}.system"),
    case("render-unknown-suffix", lambda: viz.render(named("a") * 2, "price.jpg"), ValueError,
         "viz.render", "price.jpg", "'jpg'"),
]


@pytest.mark.parametrize("make_error, kind, words", CASES)
def test_bad_input_raises_one_clear_error(make_error, kind, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the file cases write there
    with pytest.raises(Exception) as info:
        make_error()
    assert type(info.value) is kind, f"{type(info.value).__name__}: {info.value}"
    missing = [word for word in words if word not in str(info.value)]
    assert not missing, f"{missing} not in: {info.value}"
