"""The logic of the benchmark harness (benchmarks/), never its timings: what a call
is charged for its cyclic garbage, how the BLAS setting is pinned and described, the
interleaving of the Fashion-MNIST training, and that the fan-out workloads agree."""
import numpy as np
import pytest

from benchmarks import blas, fan_out, timing, train_fashion


def test_a_call_whose_collection_found_garbage_pays_it_less_an_empty_collection():
    assert timing.gc_charge(collection=0.009, found=72_010, empty=0.006) == pytest.approx(0.003)


def test_a_call_whose_collection_found_nothing_is_charged_nothing():
    assert timing.gc_charge(collection=0.009, found=0, empty=0.006) == 0.0


def _cycle():
    node = {}
    node["self"] = node


def test_without_garbage_the_charged_and_uncharged_medians_are_the_same():
    uncharged, charged, empty = timing.compare_charging_gc(
        {"list": lambda: [0] * 100}, reference=lambda: [0] * 100, repeats=3, warmup=1)
    assert charged == uncharged and empty >= 0


def test_a_reference_that_leaves_cycles_is_refused():
    with pytest.raises(ValueError, match="reference workload left"):
        timing.compare_charging_gc({"list": lambda: []}, reference=_cycle, repeats=1)


def test_pin_environment_sets_every_thread_variable_and_no_kernel_variable():
    environ = {"OPENBLAS_NUM_THREADS": "8", "OPENBLAS_CORETYPE": "Haswell"}
    blas.pin_environment(environ)
    assert {environ[name] for name in blas.THREAD_VARIABLES} == {str(blas.THREADS)}
    assert environ["OPENBLAS_CORETYPE"] == "Haswell" and "OPENBLAS_L2_SIZE" not in environ


def test_describe_names_the_pool_as_it_runs_and_the_kernel_variables():
    pools = [{"internal_api": "openblas", "version": "0.3.31", "architecture": "Haswell",
              "num_threads": 1}]
    line = blas.describe(pools, {"OPENBLAS_CORETYPE": "Haswell"})
    assert line.startswith("openblas 0.3.31 (Haswell kernels): 1 thread;")
    assert "OPENBLAS_CORETYPE=Haswell" in line and "OPENBLAS_L2_SIZE=unset" in line


def test_describe_says_when_the_threads_could_not_be_verified():
    assert "not verified" in blas.describe(None, {})


def test_training_alternates_chunks_and_every_run_sees_the_same_batches():
    seen = []

    def step(name):
        def run_step(x, t):
            seen.append((name, int(x[0])))
            return 0.0, {}
        return run_step

    runs = [train_fashion.Run(step("a"), {}), train_fashion.Run(step("b"), {})]
    x, t = np.arange(5), np.zeros(5, int)
    train_fashion.train_interleaved(runs, x, t, np.arange(5)[:, None], chunk=2, lr=0.1)
    assert seen == [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("a", 2), ("a", 3),
                    ("b", 2), ("b", 3), ("a", 4), ("b", 4)]


def test_numpy_training_step_matches_the_engine():
    from graphgrad.models import TwoLayerNet
    rng = np.random.default_rng(0)
    x, t = rng.random((8, 6)), rng.integers(0, 3, 8)
    net = TwoLayerNet(6, 5, 3)
    loss, grads = train_fashion.numpy_loss_and_gradient(net.params, x, t)
    expected_loss, expected = net.loss_and_gradient(x, t)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for key in expected:
        np.testing.assert_allclose(grads[key], expected[key], rtol=1e-10, atol=1e-14)


def test_fan_out_workloads_compute_the_same_loss_and_gradient():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    ws = [rng.standard_normal((4, 3)) for _ in range(fan_out.USES)]
    (loss, grad), (np_loss, np_grad) = fan_out.graphgrad_step(x, ws), fan_out.numpy_step(x, ws)
    assert loss == pytest.approx(np_loss, rel=1e-12)
    np.testing.assert_allclose(grad, np_grad, rtol=1e-12)


def test_the_books_convnet_layers_give_the_engines_gradients():
    from benchmarks import conv_step
    params, x, t = conv_step.make_problem(np.float64, batch=4)
    params = {key: value + 0.01 for key, value in params.items()}  # biases not zero
    expected = conv_step.graphgrad_net(params).gradient(x, t)
    grads = conv_step.NumpyConvNet(params).gradient(x, t)
    for key in expected:  # the book's loss puts 1e-7 inside the log
        np.testing.assert_allclose(grads[key], expected[key], rtol=1e-5, atol=1e-9)


def test_the_node_timer_times_nodes_and_puts_the_methods_back():
    from collections import defaultdict

    import graphgrad as gg
    from benchmarks import conv_step
    from graphgrad.nodes import Exp
    forward = Exp.forward
    with conv_step.node_timer(defaultdict(float)) as totals:
        gg.exp(gg.tensor([1.0])).backward()
    assert set(totals) == {("Exp", "forward"), ("Exp", "backward")}
    assert Exp.forward is forward


def test_the_node_timer_counts_a_nested_node_call_once(monkeypatch):
    from collections import defaultdict
    from itertools import count

    from benchmarks import conv_step
    from graphgrad.nodes import MaxPool
    ticks = count()  # every clock read one second later than the last
    monkeypatch.setattr(conv_step.time, "thread_time", lambda: next(ticks))
    node = MaxPool(2, 2, 2)
    y = node.forward(np.ones((1, 1, 2, 2)))
    with conv_step.node_timer(defaultdict(float)) as totals:
        node.backward(y)  # PoolGather.backward calls PoolScatter.forward
    # the inner call: read, read (1 s); the outer: read, [inner: 2 reads], read (3 s)
    assert totals == {("PoolScatter", "forward"): 1, ("PoolGather", "backward"): 2}
