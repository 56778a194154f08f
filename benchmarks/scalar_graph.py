"""A graph of scalars: s = Σ relu(aᵢ·bᵢ + cᵢ), 2,000 terms (~8,000 nodes).

Pure engine overhead: every node is a tiny scalar operation. Compared with
micrograd (the reference for a minimal scalar engine) and other engines installed.
"""
import random
import sys

import numpy as np

import graphgrad as gg

from .flat_tape import flat_tape_step
from .timing import compare_charging_gc, optional, optional_dezero, report

TERMS = 2000


def _values(seed=0):
    rng = random.Random(seed)
    return [[rng.uniform(-1, 1) for _ in range(TERMS)] for _ in range(3)]


def graphgrad_step(a, b, c):
    xs = [gg.tensor(v) for v in a + b + c]
    s = 0.0
    for i in range(TERMS):
        s = s + gg.relu(xs[i] * xs[TERMS + i] + xs[2 * TERMS + i])
    s.backward()
    return xs[0].grad


def micrograd_step(Value, a, b, c):
    xs = [Value(v) for v in a + b + c]
    s = 0.0
    for i in range(TERMS):
        s = s + (xs[i] * xs[TERMS + i] + xs[2 * TERMS + i]).relu()
    s.backward()
    return xs[0].grad


def dezero_step(dezero, a, b, c):
    F = dezero.functions
    xs = [dezero.Variable(np.array(v)) for v in a + b + c]
    s = 0.0
    for i in range(TERMS):
        s = s + F.relu(xs[i] * xs[TERMS + i] + xs[2 * TERMS + i])
    s.backward()
    return xs[0].grad.data


def torch_step(torch, a, b, c):
    xs = [torch.tensor(v, requires_grad=True, dtype=torch.float64) for v in a + b + c]
    s = 0.0
    for i in range(TERMS):
        s = s + torch.relu(xs[i] * xs[TERMS + i] + xs[2 * TERMS + i])
    s.backward()
    return xs[0].grad


def run(peer=None):
    """graphgrad against micrograd; with ``peer`` ("dezero", "torch", or "flat": the
    reference design of ``flat_tape.py``), that one against micrograd instead.

    Two tables: with each engine's cyclic garbage charged to it and without (see
    ``timing.py``). micrograd's graphs are reference cycles, freed by the collector;
    graphgrad's are freed by reference counting within the call, so the charged table
    is the one that compares like with like, and the other shows what the collector
    costs micrograd.

    ``python -m benchmarks`` runs each in a fresh interpreter: importing a peer
    multiplies the objects every full collection scans (numpy and graphgrad: 22k; with
    DeZero 75k; with torch 214k, where an empty ``gc.collect()`` takes ~50 ms, longer
    than the workload), which would change every engine's time in that process."""
    a, b, c = _values()
    workloads = {} if peer else {"graphgrad": lambda: graphgrad_step(a, b, c)}
    micrograd = optional("micrograd.engine")
    if micrograd is not None:
        from micrograd.engine import Value
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * TERMS))  # its sort recurses
        assert np.isclose(micrograd_step(Value, a, b, c), graphgrad_step(a, b, c))
        workloads["micrograd"] = lambda: micrograd_step(Value, a, b, c)
    if peer == "dezero" and (dezero := optional_dezero()) is not None:
        assert np.isclose(dezero_step(dezero, a, b, c), graphgrad_step(a, b, c))
        workloads["DeZero"] = lambda: dezero_step(dezero, a, b, c)
    if peer == "flat":  # a reference design without node objects (not an engine)
        assert np.isclose(flat_tape_step(a, b, c), graphgrad_step(a, b, c))
        workloads["flat tape (reference design, no nodes)"] = lambda: flat_tape_step(a, b, c)
    if peer == "torch" and (torch := optional("torch")) is not None:
        torch.set_num_threads(1)
        workloads["torch (1 thread)"] = lambda: torch_step(torch, a, b, c)
    if peer and len(workloads) < 2:
        return []  # the peer (or micrograd, the reference) is not installed
    uncharged, charged, empty = compare_charging_gc(
        workloads, reference=lambda: graphgrad_step(a, b, c), repeats=15)
    print(f"\nAn empty full collection right after a step (graphgrad's, which leaves no "
          f"cycles) takes {empty * 1e3:.1f} ms; a charged collection is counted less that.")
    return (_report("cyclic garbage charged", charged)
            + _report("cyclic garbage not charged", uncharged))


def _report(variant, medians):
    """The table of one variant, against micrograd where it ran, else graphgrad."""
    baseline = "micrograd" if "micrograd" in medians else "graphgrad"
    return report(f"Scalar graph, {TERMS} terms (~{4 * TERMS} nodes), forward + backward, "
                  f"{variant}", medians, baseline, unit=1e-3, unit_name="ms", per=4 * TERMS)


def run_dezero():
    return run("dezero")


def run_torch():
    return run("torch")


def run_flat():
    return run("flat")


if __name__ == "__main__":
    run()
