"""Recording state per thread and per asyncio task: grad mode, tapes, scopes and
anomaly mode of one never leak into another; gradients into a shared leaf from
concurrent sweeps all arrive."""
import asyncio
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import graphgrad as gg
from graphgrad.models import TwoLayerNet
from graphgrad.optim import SGD


def run_together(*fns):
    """Run each function in a thread of its own, started together; their results."""
    start = threading.Barrier(len(fns))
    results = [None] * len(fns)
    errors = []

    def run(i, fn):
        start.wait()
        try:
            results[i] = fn()
        except BaseException as error:  # noqa: BLE001 (re-raised in the main thread)
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_no_grad_in_one_thread_leaves_another_recording():
    w = gg.tensor(np.ones(3))
    done = threading.Event()

    def train():
        lost = 0
        for _ in range(3000):
            lost += (w * 2.0).creator is None
        done.set()
        return lost

    def infer():
        while not done.is_set():
            with gg.no_grad():
                w * 2.0
        return 0

    lost, _ = run_together(train, infer)
    assert lost == 0


def test_a_tape_records_only_its_own_threads_nodes():
    x = gg.tensor(np.ones(2))

    def record():
        with gg.Tape() as tape:
            for _ in range(1000):
                x * 2.0
        return len(tape)

    assert run_together(record, record) == [1000, 1000]


def test_a_new_thread_starts_with_grad_enabled_and_no_tape_scope_or_anomaly():
    seen = {}

    def look():
        x = gg.tensor(1.0)
        seen["enabled"] = gg.is_grad_enabled()
        with gg.Tape() as tape:
            y = x * 2.0
        seen["scope"] = y.creator.scope
        seen["nodes"] = len(tape)
        with np.errstate(divide="ignore"):
            seen["no anomaly"] = gg.log(x * 0.0).creator is not None  # no raise

    with gg.no_grad(), gg.Tape() as outer, gg.scope("outer"), gg.detect_anomaly():
        thread = threading.Thread(target=look)
        thread.start()
        thread.join()
    assert seen == {"enabled": True, "scope": None, "nodes": 1, "no anomaly": True}
    assert len(outer) == 0


def test_scopes_are_per_thread():
    x = gg.tensor(1.0)
    inside = threading.Barrier(2)

    def scoped(name):
        def run():
            paths = set()
            with gg.scope(name):
                inside.wait()  # both threads are in their scopes
                for _ in range(500):
                    paths.add(repr((x * 2.0).creator.scope))
                inside.wait()
            return paths
        return run

    assert run_together(scoped("a"), scoped("b")) == [{"Scope('a')"}, {"Scope('b')"}]


def test_no_grad_in_one_task_leaves_a_concurrent_task_recording():
    w = gg.tensor(np.ones(2))

    async def infer():
        with gg.no_grad():
            await asyncio.sleep(0.01)  # the other task runs while this one is in no_grad
            return (w * 2.0).creator is None

    async def train():
        await asyncio.sleep(0.005)
        return (w * 2.0).creator is not None

    async def both():
        return await asyncio.gather(infer(), train())

    assert asyncio.run(both()) == [True, True]


def train_net(seed, steps=20):
    """A small TwoLayerNet trained by SGD on its own random data; its parameters."""
    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # the weights' initialisation (DLFS draws from np.random)
    net = TwoLayerNet(6, 5, 3)
    x, t = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    for _ in range(steps):
        SGD(lr=0.1).update(net.params, net.gradient(x, t))
    return {key: value.copy() for key, value in net.params.items()}


def test_training_in_a_thread_pool_equals_training_one_after_another():
    initial = {}
    for seed in range(4):  # the initial weights come from the global np.random:
        np.random.seed(seed)  # draw them here, in order, for both runs alike
        initial[seed] = TwoLayerNet(6, 5, 3).params

    def train(seed):
        rng = np.random.default_rng(seed)
        net = TwoLayerNet(6, 5, 3)
        for key in net.params:
            net.params[key][...] = initial[seed][key]
        x, t = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
        for _ in range(30):
            SGD(lr=0.1).update(net.params, net.gradient(x, t))
        return net.params

    one_after_another = [train(seed) for seed in range(4)]
    with ThreadPoolExecutor(4) as pool:
        pooled = list(pool.map(train, range(4)))
    for a, b in zip(one_after_another, pooled):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.fixture
def frequent_switches():
    """Threads switch every microsecond (default: 5 ms), so races show."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def test_concurrent_backward_into_a_shared_leaf_keeps_every_term(frequent_switches):
    for _ in range(30):  # numpy lets go of the GIL while it adds large arrays
        w = gg.tensor(np.zeros(200_000))
        losses = [gg.sum(w * float(k)) for k in range(1, 5)]  # ∂/∂w: 1, 2, 3, 4
        run_together(*[loss.backward for loss in losses])
        np.testing.assert_array_equal(w.grad, np.full(200_000, 10.0))
