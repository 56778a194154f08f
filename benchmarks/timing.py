"""Interleaved timing: every engine runs call by call in turn, medians compared.

Running engines alternately in one process exposes them to the same machine state
(frequency, other load), so their ratio is fair even when absolute times drift.
Each timed call follows an untimed call of the same workload: a training loop runs
its step back to back, with its own arrays in the caches, and without that call the
engine timed right after a memory-hungry one (HIPS autograd) pays for the other's
cache misses (measured: the numpy baseline 228 µs alone, 349 µs after autograd, so
every ratio against it looked 35% better than it is).

Cyclic garbage (``compare_charging_gc``). An engine whose graphs are reference
cycles (micrograd) leaves them to the cyclic collector, which would free them during
whichever engine runs next. So there each timed call is followed by a full
collection, timed apart, and the engine is charged for what that collection found:
its time less the time of an empty full collection. The empty one must be measured
in the state the charged one runs in, right after a step: measured right after
another collection it is several times cheaper (that collection has just brought
the whole heap into the caches, which a step evicts; 2–3 ms against 6–11 ms), and
subtracting it charged every engine for part of the harness's own collection. So the
empty collection is the one right after a call of a reference workload that
allocates as a step does but leaves no cycles (in the scalar suite, graphgrad's own
step); ``gc.collect()`` returning 0 proves that it found nothing. A call whose own
collection finds nothing is charged nothing: that collection was the harness's.
"""
import gc
import importlib
import statistics
import time

from .blas import describe, pin_loaded


def compare(workloads, repeats=30, warmup=2):
    """Median seconds per call of each workload (a name -> zero-argument callable)."""
    samples = compare_samples(workloads, repeats, warmup)
    return {name: statistics.median(ts) for name, ts in samples.items()}


def compare_samples(workloads, repeats=30, warmup=2, clock=time.perf_counter):
    """Seconds of each timed call of each workload (name -> list), interleaved.
    ``clock``: wall time by default; ``time.thread_time`` counts only the CPU time
    of the calling thread, which other processes sharing the cores do not inflate
    (for workloads that compute in that thread: one BLAS thread, one torch thread)."""
    _warm_up(workloads, warmup)
    times = {name: [] for name in workloads}
    for _ in range(repeats):
        for name, fn in workloads.items():
            fn()  # warm: the caches hold this workload's data, not the previous one's
            start = clock()
            fn()
            times[name].append(clock() - start)
    return times


def compare_charging_gc(workloads, reference, repeats=15, warmup=2):
    """Median seconds per call of each workload, without and with its cyclic garbage
    charged, and the median empty collection (after ``reference``) subtracted from
    the charged ones: ``(uncharged, charged, empty)``."""
    _warm_up({**workloads, "reference": reference}, warmup)
    samples = {name: [] for name in workloads}
    empties = []
    for _ in range(repeats):
        empties.append(_empty_collection(reference))
        for name, fn in workloads.items():
            samples[name].append(_sample(fn))
    empty = statistics.median(empties)
    uncharged = {name: statistics.median(call for call, _, _ in ss)
                 for name, ss in samples.items()}
    charged = {name: statistics.median(call + gc_charge(seconds, found, empty)
                                       for call, seconds, found in ss)
               for name, ss in samples.items()}
    return uncharged, charged, empty


def gc_charge(collection, found, empty):
    """Seconds a call is charged for its cyclic garbage: the full collection right
    after it (``collection`` seconds, ``found`` unreachable objects) less an empty
    one in the same state; nothing when it found nothing."""
    return collection - empty if found else 0.0


def _sample(fn):
    """``(call seconds, collection seconds, objects found)``: one call of ``fn``
    after an untimed one, then the full collection right after it, timed apart.
    Whatever garbage was about, the untimed call's included, is collected untimed
    first, so the collection finds this call's garbage only."""
    fn()
    gc.collect()
    start = time.perf_counter()
    fn()
    middle = time.perf_counter()
    found = gc.collect()
    return middle - start, time.perf_counter() - middle, found


def _empty_collection(reference):
    """Seconds of the full collection right after a call of ``reference``, which
    must leave no cyclic garbage (else ValueError)."""
    _, seconds, found = _sample(reference)
    if found:
        raise ValueError(f"the reference workload left {found} unreachable objects: "
                         "its collection is not an empty one")
    return seconds


def _warm_up(workloads, calls):
    for fn in workloads.values():
        for _ in range(calls):
            fn()


def report(title, medians, baseline, unit=1e-6, unit_name="µs", per=None):
    """Print one table: engine, median, and ratio to ``baseline``; return the rows."""
    rows = []
    print(f"\n## {title}")
    for name, seconds in medians.items():
        ratio = seconds / medians[baseline]
        extra = f"  ({seconds / per * 1e6:.2f} µs per node)" if per else ""
        print(f"  {name:<38} {seconds / unit:10.1f} {unit_name}  {ratio:6.2f}×{extra}")
        rows.append((title, name, seconds / unit, unit_name, ratio))
    return rows


def optional(module_name):
    """Import a peer engine if it is installed, else None."""
    try:
        return __import__(module_name)
    except ImportError:
        return None


def optional_dezero():
    """DeZero if it is installed, else None. Its last release (0.0.13) uses ``np.int``
    at import, an alias numpy 1.24 removed: the alias is put back first, in this
    benchmark process only (each suite runs in an interpreter of its own)."""
    import numpy as np
    if "int" not in vars(np):
        np.int = int
    dezero = optional("dezero")
    if dezero is not None:
        import dezero.functions  # noqa: F401  (the submodule the workloads use)
    return dezero


def dezero_sgd(params, loss, lr):
    """One SGD step of DeZero parameters from ``loss``: clear, backward, update."""
    for p in params:
        p.cleargrad()
    loss.backward()
    for p in params:
        p.data -= lr * p.grad.data


def run_suite(name):
    """The rows of ``benchmarks.<module>.run()``, or of another function given as
    ``<module>:<function>`` (run in a child process by ``python -m benchmarks``:
    module-level, so that it can be pickled). Prints first the BLAS this interpreter
    runs, with its threads pinned."""
    module, _, function = name.partition(":")
    suite = importlib.import_module(f"benchmarks.{module}")
    print(f"\n[{name}] BLAS: {describe(pin_loaded())}", flush=True)
    return getattr(suite, function or "run")()
