"""``graphgrad train`` (and the training part of ``graphgrad demo``): outputs,
determinism, each optimizer's update, argument and dataset errors."""
import importlib.util
import stat
import subprocess
import sys

import numpy as np
import pytest

from graphgrad.cli import demo, main
from graphgrad.datasets import load_fashion_mnist, load_mnist
from graphgrad.models import SimpleConvNet, TwoLayerNet

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_idx(path, array):
    """An uncompressed IDX file of unsigned bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """300 training and 100 test images from the shipped MNIST, in IDX files."""
    directory = tmp_path_factory.mktemp("idx")
    (images, labels), _ = load_mnist(normalize=False, flatten=False)
    images = images.reshape(-1, 28, 28)
    for prefix, part in (("train", slice(0, 300)), ("t10k", slice(300, 400))):
        write_idx(directory / f"{prefix}-images-idx3-ubyte", images[part])
        write_idx(directory / f"{prefix}-labels-idx1-ubyte", labels[part])
    return directory


def train(capsys, *args):
    code = main(["train", *map(str, args)])
    return code, capsys.readouterr()


def final_line(out):
    return next(line for line in out.splitlines() if line.startswith("final:"))


def test_short_run_writes_plot_and_weights(tmp_path, capsys):
    plot, weights = tmp_path / "acc.png", tmp_path / "w.npz"
    code, captured = train(capsys, "--dataset", "mnist", "--model", "twolayer",
                           "--iters", 50, "--plot", plot, "--save", weights)
    assert code == 0
    assert plot.read_bytes().startswith(PNG_MAGIC)
    net = TwoLayerNet(784, 50, 10)
    net.load_params(weights)
    assert "epoch 0.625: train acc" in captured.out  # 50 of the 80 steps of an epoch
    test_acc = float(final_line(captured.out).split("test acc ")[1])
    _, (x_test, t_test) = load_mnist()
    assert net.accuracy(x_test, t_test) == pytest.approx(test_acc, abs=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acc.png", "w.npz"]  # no temp files


def test_plot_and_weights_get_the_mode_open_gives(small_data, tmp_path, capsys,
                                                 new_file_mode):
    plot, weights = tmp_path / "acc.svg", tmp_path / "w.npz"
    code, _ = train(capsys, "--data-dir", small_data, "--iters", 2, "--plot", plot,
                    "--save", weights)
    assert code == 0
    modes = [oct(stat.S_IMODE(path.stat().st_mode)) for path in (plot, weights)]
    assert modes == [oct(new_file_mode)] * 2


def test_same_seed_same_run(small_data, tmp_path, capsys):
    runs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        path = tmp_path / f"{name}.npz"
        code, captured = train(capsys, "--data-dir", small_data, "--iters", 20, "--seed", seed,
                               "--save", path)
        assert code == 0
        with np.load(path) as npz:
            runs.append((final_line(captured.out), dict(npz)))
    (line_a, w_a), (line_b, w_b), (line_c, w_c) = runs
    assert line_a == line_b and line_a != line_c
    for key in w_a:
        np.testing.assert_array_equal(w_a[key], w_b[key])
    assert not np.array_equal(w_a["W1"], w_c["W1"])


# The DLFS update rules, written apart from graphgrad.optim so that a broken optimizer
# fails here as well as in test_optim. θ: a parameter, g: its gradient, s: its state,
# t: the step (from 1). Each returns the new θ.
def sgd(theta, g, s, lr, t):
    return theta - lr * g


def momentum(theta, g, s, lr, t):
    s["v"] = 0.9 * s.get("v", 0) - lr * g
    return theta + s["v"]


def nesterov(theta, g, s, lr, t):
    s["v"] = 0.9 * s.get("v", 0) - lr * g
    return theta + 0.81 * s["v"] - 1.9 * lr * g


def adagrad(theta, g, s, lr, t):
    s["h"] = s.get("h", 0) + g * g
    return theta - lr * g / (np.sqrt(s["h"]) + 1e-7)


def rmsprop(theta, g, s, lr, t):
    s["h"] = 0.99 * s.get("h", 0) + 0.01 * g * g
    return theta - lr * g / (np.sqrt(s["h"]) + 1e-7)


def adam(theta, g, s, lr, t):
    s["m"] = 0.9 * s.get("m", 0) + 0.1 * g
    s["v"] = 0.999 * s.get("v", 0) + 0.001 * g * g
    lr_t = lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
    return theta - lr_t * s["m"] / (np.sqrt(s["v"]) + 1e-7)


RULES = {rule.__name__: rule for rule in (sgd, momentum, nesterov, adagrad, rmsprop, adam)}


def train_by_hand(data_dir, rule, lr, iters, batch_size, seed):
    """What ``graphgrad train --dataset fashion-mnist --model convnet`` should do: the
    same seed, weights and batches, updated by ``rule``. Returns the initial and the
    final weights."""
    np.random.seed(seed)
    (x, t), _ = load_fashion_mnist(flatten=False, path=data_dir)
    net = SimpleConvNet(input_dim=x.shape[1:])
    initial = {key: value.copy() for key, value in net.params.items()}
    state = {key: {} for key in net.params}
    for step in range(1, iters + 1):
        batch = np.random.choice(len(x), batch_size)
        _, grads = net.loss_and_gradient(x[batch], t[batch])
        for key, theta in net.params.items():
            theta[...] = rule(theta, grads[key], state[key], lr, step)
    return initial, net.params


@pytest.mark.parametrize("optimizer", RULES)
def test_convnet_steps_follow_each_optimizers_rule(small_data, tmp_path, capsys, optimizer):
    """Three steps of ``--optimizer`` move every weight as its update rule says."""
    weights = tmp_path / "conv.npz"
    code, captured = train(capsys, "--dataset", "fashion-mnist", "--data-dir", small_data,
                           "--model", "convnet", "--iters", 3, "--batch-size", 10, "--lr", 0.003,
                           "--optimizer", optimizer, "--seed", 5, "--save", weights)
    assert code == 0 and "final: loss" in captured.out
    initial, expected = train_by_hand(small_data, RULES[optimizer], 0.003, 3, 10, seed=5)
    with np.load(weights) as saved:
        for key in expected:
            np.testing.assert_allclose(saved[key] - initial[key], expected[key] - initial[key],
                                       rtol=1e-6, atol=1e-12, err_msg=key)


def test_deepconvnet_trains_and_saves_the_books_keys(small_data, tmp_path, capsys):
    weights = tmp_path / "deep.npz"
    code, captured = train(capsys, "--data-dir", small_data, "--model", "deepconvnet",
                           "--iters", 2, "--batch-size", 4, "--save", weights)
    assert code == 0 and "final: loss" in captured.out
    with np.load(weights) as saved:
        assert sorted(saved) == sorted(f"{p}{i}" for p in "Wb" for i in range(1, 9))
        assert saved["W7"].shape == (64 * 4 * 4, 50)


def test_progress_bar_shows_loss_and_accuracy(small_data, capsys):
    _, captured = train(capsys, "--data-dir", small_data, "--iters", 3)
    assert "loss=" in captured.err and "test_acc=" in captured.err


def test_device_cpu_trains(small_data, capsys):
    code, captured = train(capsys, "--data-dir", small_data, "--iters", 2, "--device", "cpu")
    assert code == 0 and "final: loss" in captured.out


def test_unknown_device_is_a_clear_error_with_exit_code_2(small_data, capsys):
    code, captured = train(capsys, "--data-dir", small_data, "--device", "tpu")
    assert code == 2
    assert "graphgrad train: error: unknown device 'tpu'; devices: 'cpu'" in captured.err
    assert "Traceback" not in captured.err and "final:" not in captured.out


def test_cuda_without_cupy_is_a_clear_error_with_exit_code_2(small_data, capsys):
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed: tests/test_backends.py runs the GPU (-m gpu)")
    code, captured = train(capsys, "--data-dir", small_data, "--device", "cuda")
    assert code == 2
    assert "graphgrad train: error: device 'cuda' is not available" in captured.err
    assert "Traceback" not in captured.err


def test_missing_dataset_is_a_clear_error_with_exit_code_2(tmp_path, capsys):
    code, captured = train(capsys, "--data-dir", tmp_path / "nowhere")
    assert code == 2
    assert "graphgrad train: error: dataset files missing in" in captured.err
    assert "nowhere" in captured.err and "Traceback" not in captured.err


def test_missing_dataset_exit_code_from_the_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "graphgrad.cli", "train", "--dataset", "fashion-mnist",
         "--data-dir", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "dataset files missing" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [
    ["--iters", "0"], ["--batch-size", "-1"], ["--lr", "0"], ["--iters", "many"],
    ["--dataset", "cifar"], ["--model", "resnet"], ["--optimizer", "lbfgs"],
    ["--plot", "acc.txt"], ["--save", "w.pkl"],
])
def test_bad_arguments_are_argparse_errors(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *args])
    assert exit_info.value.code == 2
    assert "graphgrad train: error: argument" in capsys.readouterr().err


def test_demo_prints_the_numbers_and_a_test_accuracy(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    main(["demo"])
    out = capsys.readouterr().out
    assert "price: 715" in out and "dapple: 2.2" in out
    assert (tmp_path / demo.SVG_PATH).exists() == (demo.viz is not None)
    accuracy = float(out.split("test accuracy: ")[1])
    assert accuracy > 0.85
