"""GPU check: graphgrad's backend tests on CuPy, then training steps timed on the GPU
against numpy on the CPU.

    python -m benchmarks.gpu_check [--repeats 20] [--no-tests]

1. ``pytest -m gpu tests/test_backends.py``: every core node forward and backward
   against numpy, gradcheck and second derivatives on the GPU, layers, the three
   models with each optimizer, device moves and device-mixing errors;
2. one training step (forward + backward + SGD update) of TwoLayerNet and
   SimpleConvNet, interleaved numpy / CuPy, medians and the CPU/GPU ratio; numpy
   runs one BLAS thread, as in every benchmark (``blas.py``).

Without CuPy or a CUDA GPU it says so and exits 0. Exit status 1: tests failed.
"""
import argparse
import os
import subprocess
import sys

import numpy as np

from graphgrad.backend import namespace_for, to_device
from graphgrad.models import SimpleConvNet, TwoLayerNet
from graphgrad.optim import SGD

from .blas import describe, pin_loaded
from .timing import compare

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = [  # (name, model factory, input shape without the batch, batch size)
    ("TwoLayerNet 784-50-10", lambda: TwoLayerNet(784, 50, 10), (784,), 100),
    ("TwoLayerNet 784-1000-10", lambda: TwoLayerNet(784, 1000, 10), (784,), 1000),
    ("SimpleConvNet (DLFS defaults)", lambda: SimpleConvNet(), (1, 28, 28), 100),
    ("SimpleConvNet (DLFS defaults)", lambda: SimpleConvNet(), (1, 28, 28), 500),
]


def gpu_or_reason():
    """(the CuPy module, its GPU's name), or (None, why not)."""
    try:
        namespace_for("cuda")
    except ValueError as error:
        return None, str(error)
    import cupy
    name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
    return cupy, name.decode() if isinstance(name, bytes) else name


def run_gpu_tests():
    """The ``gpu``-marked tests, in a subprocess; its exit status."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "gpu",
               os.path.join(ROOT, "tests", "test_backends.py")]
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, cwd=ROOT).returncode


def training_step(make, x_shape, batch, device, synchronize):
    """A zero-argument training step of a fresh model on ``device``; the batch is
    put there once, so the step times compute, not transfers."""
    np.random.seed(0)
    model = make().to(device)
    rng = np.random.default_rng(0)
    x = to_device(rng.random((batch, *x_shape)), device)
    t = to_device(rng.integers(0, 10, batch), device)
    optimizer = SGD(lr=0.01)

    def step():
        _, grads = model.loss_and_gradient(x, t)
        optimizer.update(model.params, grads)
        synchronize()
    return step


def time_steps(cupy, repeats):
    """Print and return (name, batch, numpy seconds, CuPy seconds) per case."""
    rows = []
    print(f"\n{'workload':32} {'batch':>5} {'numpy':>10} {'cupy':>10} {'cpu/gpu':>8}")
    for name, make, x_shape, batch in CASES:
        sync = cupy.cuda.Device().synchronize
        medians = compare({
            "numpy": training_step(make, x_shape, batch, "cpu", lambda: None),
            "cupy": training_step(make, x_shape, batch, "cuda", sync),
        }, repeats=repeats, warmup=3)
        cpu, gpu = medians["numpy"], medians["cupy"]
        print(f"{name:32} {batch:5d} {cpu * 1e3:8.2f}ms {gpu * 1e3:8.2f}ms {cpu / gpu:7.2f}×",
              flush=True)
        rows.append((name, batch, cpu, gpu))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per engine")
    parser.add_argument("--no-tests", action="store_true", help="only time the steps")
    args = parser.parse_args(argv)
    cupy, gpu = gpu_or_reason()
    if cupy is None:
        print(f"gpu_check: no GPU check on this machine: {gpu}")
        return 0
    print(f"gpu_check: CuPy {cupy.__version__} on {gpu}; numpy {np.__version__} on "
          f"{os.cpu_count()} CPU cores, BLAS: {describe(pin_loaded())}")
    status = 0 if args.no_tests else run_gpu_tests()
    time_steps(cupy, args.repeats)
    if status:
        print(f"gpu_check: the GPU tests FAILED (pytest exit status {status})")
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
