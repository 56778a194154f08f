"""One TwoLayerNet training step (forward + backward + SGD) against hand-written numpy.

The baseline is the DLFS step written tight, in place where numpy allows; the
engine runs ``softmax_with_loss(relu(X @ W1 + b1) @ W2 + b2, t)``, ``backward()``
and an in-place SGD update on ``.data``.
"""
import numpy as np

import graphgrad as gg
from graphgrad.models import TwoLayerNet
from graphgrad.optim import SGD

from .timing import compare, dezero_sgd, optional, optional_dezero, report

LR = 0.1


def make_problem(sizes, batch, dtype, seed=0):
    rng = np.random.default_rng(seed)
    n_in, n_hidden, n_out = sizes
    params = {
        "W1": (0.01 * rng.standard_normal((n_in, n_hidden))).astype(dtype),
        "b1": np.zeros(n_hidden, dtype),
        "W2": (0.01 * rng.standard_normal((n_hidden, n_out))).astype(dtype),
        "b2": np.zeros(n_out, dtype),
    }
    x = rng.random((batch, n_in), dtype=np.float32).astype(dtype)
    t = rng.integers(0, n_out, batch)
    return params, x, t


def numpy_step(p, x, t):
    """The hand-written baseline (issue 7's exact formulation)."""
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    n = x.shape[0]
    rows = np.arange(n)
    a1 = x @ W1 + b1
    z1 = np.maximum(a1, 0)
    a2 = z1 @ W2 + b2
    a2 -= a2.max(1, keepdims=True)
    y = np.exp(a2)
    y /= y.sum(1, keepdims=True)
    y[rows, t] -= 1
    y /= n
    dW2 = z1.T @ y
    db2 = y.sum(0)
    dz = y @ W2.T
    dz *= a1 > 0
    dW1 = x.T @ dz
    db1 = dz.sum(0)
    W1 -= LR * dW1
    b1 -= LR * db1
    W2 -= LR * dW2
    b2 -= LR * db2


def planned_buffers(p, x):
    """The arrays ``planned_step`` writes into, allocated once."""
    (n, _), (hidden, out), dtype = x.shape, p["W2"].shape, x.dtype
    return {"a1": np.empty((n, hidden), dtype), "z1": np.empty((n, hidden), dtype),
            "mask": np.empty((n, hidden), bool), "a2": np.empty((n, out), dtype),
            "scores_t": np.empty((out, n), dtype), "m": np.empty(n, dtype),
            "s": np.empty(n, dtype), "dy": np.empty((n, out), dtype),
            "dz": np.empty((n, hidden), dtype), "rows": np.arange(n)}


def planned_step(p, buf, x, t):
    """The floor for any replay: this step as a perfect replay compiler would emit it
    (every array preallocated, ``out=`` ufuncs, the softmax on transposed scores, no
    engine calls), doing the two things the engine must and the baseline skips: check
    the labels and compute the loss."""
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    a1, z1, mask, a2 = buf["a1"], buf["z1"], buf["mask"], buf["a2"]
    st, m, s, dy, dz, rows = (buf[k] for k in ("scores_t", "m", "s", "dy", "dz", "rows"))
    n, classes = a2.shape
    if t.min() < 0 or t.max() >= classes:
        raise ValueError("label out of range")
    np.add(np.matmul(x, W1, out=a1), b1, out=a1)
    np.maximum(a1, 0, out=z1)
    np.greater(a1, 0, out=mask)
    np.add(np.matmul(z1, W2, out=a2), b2, out=a2)
    st[...] = a2.T  # (classes, n): reductions run across rows at once
    st -= np.maximum.reduce(st, axis=0, out=m)
    picked = st[t, rows]
    np.exp(st, out=st)
    st /= np.add.reduce(st, axis=0, out=s)
    loss = (np.log(s).sum() - picked.sum()) / n
    st[t, rows] -= 1
    np.multiply(st.T, 1 / n, out=dy)
    dW2, db2 = z1.T @ dy, dy.sum(0)
    np.matmul(dy, W2.T, out=dz)
    dz *= mask
    dW1, db1 = x.T @ dz, dz.sum(0)
    W1 -= LR * dW1
    b1 -= LR * db1
    W2 -= LR * dW2
    b2 -= LR * db2
    return loss


def _check_planned(p, x, t):
    """One planned step updates the parameters as one baseline step does."""
    expected, planned = ({key: value.copy() for key, value in p.items()} for _ in "ab")
    numpy_step(expected, x, t)
    planned_step(planned, planned_buffers(planned, x), x, t)
    for key in p:
        np.testing.assert_allclose(planned[key], expected[key], rtol=1e-4, atol=1e-6)


def graphgrad_step(params, x, t):
    W1, b1, W2, b2 = params
    loss = gg.softmax_with_loss(gg.relu(x @ W1 + b1) @ W2 + b2, t)
    loss.backward()
    for p in params:
        p.data -= LR * p.grad
        p.grad = None


def replay_step(step, params, x, t):
    step(x, t)
    for p in params:
        p.data -= LR * p.grad
        p.grad = None


def model_step(net, optimizer, x, t):
    optimizer.update(net.params, net.gradient(x, t))


def autograd_step(grad_fn, params, x, t):
    grads = grad_fn(params, x, t)
    for p, g in zip(params, grads):
        p -= LR * g


def autograd_loss(anp):
    """The same loss written for HIPS autograd (its numpy wrapper ``anp``)."""
    def loss(params, x, t):
        W1, b1, W2, b2 = params
        a2 = anp.maximum(x @ W1 + b1, 0) @ W2 + b2
        a2 = a2 - anp.max(a2, axis=1, keepdims=True)
        log_p = a2 - anp.log(anp.sum(anp.exp(a2), axis=1, keepdims=True))
        return -anp.mean(log_p[anp.arange(x.shape[0]), t])
    return loss


def dezero_step(dezero, params, x, t):
    F = dezero.functions
    W1, b1, W2, b2 = params
    loss = F.softmax_cross_entropy(F.matmul(F.relu(F.matmul(x, W1) + b1), W2) + b2, t)
    dezero_sgd(params, loss, LR)


def torch_step(torch, params, x, t):
    W1, b1, W2, b2 = params
    loss = torch.nn.functional.cross_entropy(torch.relu(x @ W1 + b1) @ W2 + b2, t)
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= LR * p.grad
            p.grad = None


def run_case(sizes, batch, dtype=np.float32, repeats=200):
    p_np, x, t = make_problem(sizes, batch, dtype)
    p_gg = [gg.tensor(v.copy()) for v in p_np.values()]
    p_pl = {key: value.copy() for key, value in p_np.items()}
    buffers = planned_buffers(p_pl, x)
    _check_planned(p_np, x, t)
    workloads = {
        "numpy (hand-written)": lambda: numpy_step(p_np, x, t),
        "numpy, planned (floor for replay)": lambda: planned_step(p_pl, buffers, x, t),
        "graphgrad ops": lambda: graphgrad_step(p_gg, x, t),
    }
    p_re = [gg.tensor(v.copy()) for v in p_np.values()]
    W1, b1, W2, b2 = p_re
    step = gg.compile(lambda x, t: gg.softmax_with_loss(gg.relu(x @ W1 + b1) @ W2 + b2, t))
    workloads["graphgrad replay (gg.compile)"] = lambda: replay_step(step, p_re, x, t)
    if dtype == np.float64:  # the DLFS models hold float64 parameters
        net = TwoLayerNet(*sizes)
        for key, value in net.params.items():
            value[...] = p_np[key]  # in place: the layers share these arrays
        optimizer = SGD(lr=LR)
        workloads["TwoLayerNet.gradient + SGD.update"] = lambda: model_step(
            net, optimizer, x, t)
    autograd = optional("autograd")
    if autograd is not None:
        import autograd.numpy as anp
        p_ag = [v.copy() for v in p_np.values()]
        grad_fn = autograd.grad(autograd_loss(anp))
        workloads["HIPS autograd"] = lambda: autograd_step(grad_fn, p_ag, x, t)
    dezero = optional_dezero()
    if dezero is not None:
        p_dz = [dezero.Variable(v.copy()) for v in p_np.values()]
        workloads["DeZero"] = lambda: dezero_step(dezero, p_dz, x, t)
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(1)
        p_t = [torch.tensor(v.copy(), requires_grad=True) for v in p_np.values()]
        xt, tt = torch.from_numpy(x), torch.from_numpy(t)
        workloads["torch (1 thread)"] = lambda: torch_step(torch, p_t, xt, tt)
    medians = compare(workloads, repeats=repeats)
    name = "-".join(map(str, sizes))
    return report(f"TwoLayerNet step {name}, batch {batch}, {np.dtype(dtype).name}",
                  medians, "numpy (hand-written)")


def run():
    rows = run_case((784, 50, 10), 100)
    rows += run_case((784, 50, 10), 100, np.float64)
    rows += run_case((784, 512, 10), 256, repeats=60)
    return rows


if __name__ == "__main__":
    run()
