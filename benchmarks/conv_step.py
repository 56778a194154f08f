"""One SimpleConvNet training step (``gradient`` + ``SGD.update``, batch 100, one
thread) against the DLFS layers written in numpy as the book writes them, DeZero and
PyTorch (each when installed), in float64 and float32, with peak memory per step.

The network is the DLFS default: Conv(1→30, 5×5) → ReLU → MaxPool(2×2, stride 2) →
Affine(4320→100) → ReLU → Affine(100→10) → softmax cross-entropy, on (100, 1, 28, 28)
images. Every engine starts from the same weights and batch, and a check before the
timing asserts that their first losses agree.

    python -m benchmarks conv_step        # interleaved medians, then one process each
    python -m benchmarks.conv_step --profile [--dtype float32]   # time per node

Times are the CPU time of the step's thread (every engine computes on one thread):
on a machine whose cores other processes share, wall time would count their turns.

Peak memory is what tracemalloc sees a step allocate above what it held before:
numpy's arrays (graphgrad, the numpy layers, DeZero); torch's allocator is not
traced, so torch has no figure there. Run each in a process of its own, every
engine gets one more: its peak resident set above what it held before its first
step (the allocator's caches included).
"""
import argparse
import ctypes
import multiprocessing
import resource
import statistics
import time
import tracemalloc
from collections import defaultdict
from contextlib import contextmanager

import numpy as np

from graphgrad.models import SimpleConvNet
from graphgrad.node import Node
from graphgrad.optim import SGD

from .blas import describe, pin_loaded
from .timing import compare_samples, dezero_sgd, optional, optional_dezero, report

LR = 0.01
BATCH = 100
SHAPES = {"W1": (30, 1, 5, 5), "b1": (30,), "W2": (4320, 100), "b2": (100,),
          "W3": (100, 10), "b3": (10,)}


def make_problem(dtype, batch=BATCH, seed=0):
    """DLFS-initialised parameters (std 0.01, zero biases), a batch of images in
    [0, 1) and integer labels, all of ``dtype``."""
    rng = np.random.default_rng(seed)
    params = {key: (0.01 * rng.standard_normal(shape) if key[0] == "W"
                    else np.zeros(shape)).astype(dtype) for key, shape in SHAPES.items()}
    x = rng.random((batch, 1, 28, 28)).astype(dtype)
    t = rng.integers(0, 10, batch)
    return params, x, t


# -- the DLFS layers, as the book writes them (common/util.py, common/layers.py) ------
def im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    """The book's im2col (its ``np.zeros`` given the input's dtype, so float32 stays)."""
    N, C, H, W = input_data.shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w), dtype=input_data.dtype)
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            col[:, :, y, x, :, :] = img[:, :, y:y_max:stride, x:x_max:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """The book's col2im."""
    N, C, H, W = input_shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1), col.dtype)
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]
    return img[:, :, pad:H + pad, pad:W + pad]


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = 1 + int((H + 2 * self.pad - FH) / self.stride)
        out_w = 1 + int((W + 2 * self.pad - FW) / self.stride)
        col = im2col(x, FH, FW, self.stride, self.pad)
        col_W = self.W.reshape(FN, -1).T
        out = np.dot(col, col_W) + self.b
        self.x, self.col, self.col_W = x, col, col_W
        return out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)

    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout).transpose(1, 0).reshape(FN, C, FH, FW)
        dcol = np.dot(dout, self.col_W.T)
        return col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


class Pooling:
    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad

    def forward(self, x):
        N, C, H, W = x.shape
        out_h = int(1 + (H - self.pool_h) / self.stride)
        out_w = int(1 + (W - self.pool_w) / self.stride)
        col = im2col(x, self.pool_h, self.pool_w, self.stride, self.pad)
        col = col.reshape(-1, self.pool_h * self.pool_w)
        self.arg_max = np.argmax(col, axis=1)
        self.x = x
        return np.max(col, axis=1).reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)

    def backward(self, dout):
        dout = dout.transpose(0, 2, 3, 1)
        pool_size = self.pool_h * self.pool_w
        dmax = np.zeros((dout.size, pool_size), dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dmax = dmax.reshape(dout.shape + (pool_size,))
        dcol = dmax.reshape(dmax.shape[0] * dmax.shape[1] * dmax.shape[2], -1)
        return col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return np.dot(self.x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx.reshape(*self.original_x_shape)


class SoftmaxWithLoss:
    def forward(self, x, t):
        self.t = t
        x = x - np.max(x, axis=1, keepdims=True)
        self.y = np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)
        rows = np.arange(len(t))
        return -np.sum(np.log(self.y[rows, t] + 1e-7)) / len(t)

    def backward(self, dout=1):
        dx = self.y.copy()
        dx[np.arange(len(self.t)), self.t] -= 1
        return dx / len(self.t)


class NumpyConvNet:
    """The book's SimpleConvNet on these layers; ``gradient`` as the book runs it
    (every layer's backward, the first convolution's dx and col2im included)."""

    def __init__(self, params):
        p = self.params = params
        self.layers = [Convolution(p["W1"], p["b1"]), Relu(), Pooling(2, 2, stride=2),
                       Affine(p["W2"], p["b2"]), Relu(), Affine(p["W3"], p["b3"])]
        self.last_layer = SoftmaxWithLoss()

    def loss(self, x, t):
        for layer in self.layers:
            x = layer.forward(x)
        return self.last_layer.forward(x, t)

    def gradient(self, x, t):
        self.loss(x, t)
        dout = self.last_layer.backward()
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        conv, _, _, affine1, _, affine2 = self.layers
        return {"W1": conv.dW, "b1": conv.db, "W2": affine1.dW, "b2": affine1.db,
                "W3": affine2.dW, "b3": affine2.db}


# -- the engines' steps ------------------------------------------------------------
def graphgrad_net(params):
    """SimpleConvNet (DLFS defaults) of the parameters' dtype holding ``params``."""
    net = SimpleConvNet(dtype=params["W1"].dtype)
    for key, value in params.items():
        net.params[key][...] = value  # in place: the layers share these arrays
    return net


def model_step(net, optimizer, x, t):
    optimizer.update(net.params, net.gradient(x, t))


def dezero_forward(dezero, params, x, t):
    F = dezero.functions
    W1, b1, W2, b2, W3, b3 = params
    h = F.pooling(F.relu(F.conv2d(x, W1, b1)), 2, stride=2)
    h = F.relu(F.linear(F.reshape(h, (len(x), -1)), W2, b2))
    return F.softmax_cross_entropy(F.linear(h, W3, b3), t)


def dezero_step(dezero, params, x, t):
    dezero_sgd(params, dezero_forward(dezero, params, x, t), LR)


def torch_forward(torch, params, x, t):
    F = torch.nn.functional
    W1, b1, W2, b2, W3, b3 = params
    h = F.max_pool2d(torch.relu(F.conv2d(x, W1, b1)), 2)
    h = torch.relu(h.reshape(len(x), -1) @ W2 + b2)
    return F.cross_entropy(h @ W3 + b3, t)


def torch_step(torch, params, x, t):
    loss = torch_forward(torch, params, x, t)
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= LR * p.grad
            p.grad = None


def workloads(dtype):
    """name -> (step, first loss): each engine's step on its own copy of one problem."""
    params, x, t = make_problem(dtype)
    copy = lambda: {key: value.copy() for key, value in params.items()}  # noqa: E731
    book = NumpyConvNet(copy())
    net = graphgrad_net(copy())
    sgd = SGD(LR)
    found = {
        "numpy (DLFS layers, book's code)": (
            lambda: sgd.update(book.params, book.gradient(x, t)), book.loss(x, t)),
        "graphgrad SimpleConvNet": (lambda: model_step(net, sgd, x, t), net.loss(x, t)),
    }
    dezero = optional_dezero()
    if dezero is not None:
        p_dz = [dezero.Variable(v) for v in copy().values()]
        found["DeZero"] = (lambda: dezero_step(dezero, p_dz, x, t),
                           float(dezero_forward(dezero, p_dz, x, t).data))
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(1)
        p_t = [torch.tensor(v, requires_grad=True) for v in copy().values()]
        xt, tt = torch.from_numpy(x), torch.from_numpy(t)
        found["torch (1 thread)"] = (lambda: torch_step(torch, p_t, xt, tt),
                                     torch_forward(torch, p_t, xt, tt).item())
    return found


def check_losses(found, dtype):
    """Every engine's first loss agrees with the book's, whose 1e-7 inside the log
    moves it by ~4e-7 relative (float32: to its rounding)."""
    losses = {name: loss for name, (_, loss) in found.items()}
    expected = losses["numpy (DLFS layers, book's code)"]
    rtol = 1e-6 if np.dtype(dtype) == np.float64 else 1e-5
    for name, loss in losses.items():
        if not np.isclose(loss, expected, rtol=rtol):
            raise AssertionError(f"{name}: first loss {loss}, the book's {expected}")


def peak_bytes(step):
    """Bytes a call of ``step`` allocates above what was held before it, at its peak."""
    step()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def spread(samples):
    """(median, first quartile, third quartile, min, max) of ``samples`` seconds."""
    q1, _, q3 = statistics.quantiles(samples, n=4)
    return statistics.median(samples), q1, q3, min(samples), max(samples)


def run_case(dtype, repeats=20):
    found = workloads(dtype)
    check_losses(found, dtype)
    steps = {name: step for name, (step, _) in found.items()}
    samples = compare_samples(steps, repeats=repeats, clock=time.thread_time)
    medians = {name: statistics.median(ts) for name, ts in samples.items()}
    title = f"SimpleConvNet step, batch {BATCH}, {np.dtype(dtype).name} (CPU time)"
    baseline = "torch (1 thread)" if "torch (1 thread)" in steps else "DeZero"
    baseline = baseline if baseline in steps else "numpy (DLFS layers, book's code)"
    rows = report(title, medians, baseline, unit=1e-3, unit_name="ms")
    print("  spread (ms): median [quartiles] min–max")
    for name, ts in samples.items():
        median, q1, q3, low, high = (s * 1e3 for s in spread(ts))
        print(f"  {name:<38} {median:7.1f} [{q1:.1f}, {q3:.1f}] {low:.1f}–{high:.1f}")
    peaks = {name: peak_bytes(step) for name, step in steps.items() if "torch" not in name}
    rows += report(f"{title}: peak memory per step (tracemalloc)", peaks,
                   "numpy (DLFS layers, book's code)", unit=2**20, unit_name="MiB")
    return rows


def alone(name, dtype, steps=20):
    """(median CPU seconds, minor page faults, peak resident bytes) per step of engine
    ``name`` run by itself in this process, step after step as a training loop runs
    it. The peak is the process's highest resident set above what it held before its
    first step: what a step needs, the allocator's caches included, for every engine
    alike (torch's allocator too, which tracemalloc does not see)."""
    step = workloads(dtype)[name][0]
    before = reset_peak_resident()
    for _ in range(3):
        step()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    times = []
    for _ in range(steps):
        start = time.thread_time()
        step()
        times.append(time.thread_time() - start)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / steps
    return statistics.median(times), faults, _status_bytes("VmHWM") - before


def reset_peak_resident():
    """Hand the setup's freed memory back to the system (glibc's ``malloc_trim``:
    every engine's first loss was computed) and start the process's peak resident
    set afresh (Linux ≥ 4.0); return the resident set now."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")
    return _status_bytes("VmRSS")


def _status_bytes(field):
    with open("/proc/self/status") as file:
        line = next(line for line in file if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def run_alone(dtype, rounds=3):
    """Each engine in a process of its own (as the issue measured), the engines in
    turn, ``rounds`` times: the heap is the engine's alone, so are its page faults
    (glibc hands freed heap back to the system and a step's fresh pages fault again,
    at ~1 µs per 4 KiB page: tens of milliseconds in a step of numpy arrays)."""
    names = list(workloads(dtype))
    results = {name: [] for name in names}
    spawn = multiprocessing.get_context("spawn")
    for _ in range(rounds):
        for name in names:
            with spawn.Pool(1) as pool:
                results[name].append(pool.apply(alone, (name, dtype)))
    title = f"SimpleConvNet step, batch {BATCH}, {np.dtype(dtype).name}, one process each"
    medians = {name: statistics.median(t for t, _, _ in rs) for name, rs in results.items()}
    baseline = "torch (1 thread)" if "torch (1 thread)" in names else "DeZero"
    baseline = baseline if baseline in names else names[0]
    rows = report(f"{title} (CPU time)", medians, baseline, unit=1e-3, unit_name="ms")
    print("  per process (ms), minor page faults per step, peak resident set above setup")
    for name, rs in results.items():
        times = ", ".join(f"{t * 1e3:.1f}" for t, _, _ in rs)
        faults = statistics.median(f for _, f, _ in rs)
        peak = statistics.median(p for _, _, p in rs) / 2**20
        print(f"  {name:<38} {times}; faults {faults:,.0f}; peak {peak:.0f} MiB")
    return rows


def run():
    return [row for dtype in (np.float64, np.float32)
            for row in run_case(dtype) + run_alone(dtype)]


# -- time per node ---------------------------------------------------------------
@contextmanager
def node_timer(totals):
    """Time every node class's ``forward`` and ``backward`` into ``totals``
    ((class name, "forward"/"backward") -> CPU seconds) while the context is open:
    each call's own time, less that of the node methods it calls (PoolScatter's
    forward inside MaxPool's backward, MatMul's backward inside MatMulAdd's)."""
    originals, inside = {}, []
    for cls in _node_classes(Node):
        for method in ("forward", "backward"):
            if method in vars(cls):
                originals[cls, method] = vars(cls)[method]
                timed = _timed(vars(cls)[method], (cls.__name__, method), totals, inside)
                setattr(cls, method, timed)
    try:
        yield totals
    finally:
        for (cls, method), function in originals.items():
            setattr(cls, method, function)


def _node_classes(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _node_classes(sub)


def _timed(function, key, totals, inside):
    """``function`` adding its own time to ``totals[key]``; ``inside`` holds, per
    timed call in progress, the time of the timed calls made from it so far."""
    def timed(*args):
        inside.append(0.0)
        start = time.thread_time()
        try:
            return function(*args)
        finally:
            seconds = time.thread_time() - start
            totals[key] += seconds - inside.pop()
            if inside:
                inside[-1] += seconds
    return timed


def profile(dtype, steps=20):
    """Print CPU milliseconds per step spent in each node's own forward and backward,
    and the rest of the step (the engine's sweep, the optimizer)."""
    params, x, t = make_problem(dtype)
    net, sgd = graphgrad_net(params), SGD(LR)
    model_step(net, sgd, x, t)
    totals = defaultdict(float)
    start = time.thread_time()
    with node_timer(totals):
        for _ in range(steps):
            model_step(net, sgd, x, t)
    total = (time.thread_time() - start) / steps * 1e3
    print(f"\n## Time per node, SimpleConvNet step, {np.dtype(dtype).name}: "
          f"{total:.1f} ms per step (timers included)")
    for (name, method), seconds in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {name + '.' + method:<28} {seconds / steps * 1e3:7.2f} ms")
    print(f"  {'outside nodes':<28} {total - sum(totals.values()) / steps * 1e3:7.2f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="time per node instead")
    parser.add_argument("--dtype", choices=("float64", "float32"), default=None)
    args = parser.parse_args()
    print(f"BLAS: {describe(pin_loaded())}")
    dtypes = [args.dtype] if args.dtype else ["float64", "float32"]
    for dtype in map(np.dtype, dtypes):
        if args.profile:
            profile(dtype)
        else:
            run_case(dtype)
            run_alone(dtype)


if __name__ == "__main__":
    main()
