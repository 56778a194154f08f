"""Interleaved timing: every engine runs call by call in turn, medians compared.

Running engines alternately in one process exposes them to the same machine state
(frequency, other load), so their ratio is fair even when absolute times drift.
Each timed call follows an untimed call of the same workload: a training loop runs
its step back to back, with its own arrays in the caches, and without that call the
engine timed right after a memory-hungry one (HIPS autograd) pays for the other's
cache misses (measured: the numpy baseline 228 µs alone, 349 µs after autograd, so
every ratio against it looked 35% better than it is). ``collect=True`` runs
``gc.collect()`` inside each timed call and subtracts the cost of an empty collection
measured just before it, so an engine whose graphs are reference cycles pays for its
own garbage instead of leaving it to whoever runs next.
"""
import gc
import importlib
import statistics
import time


def compare(workloads, repeats=30, number=1, collect=False, warmup=2):
    """Median seconds per call of each workload (a name -> zero-argument callable)."""
    for fn in workloads.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in workloads}
    for _ in range(repeats):
        for name, fn in workloads.items():
            fn()  # warm: the caches hold this workload's data, not the previous one's
            empty = _empty_collection() if collect else 0.0
            start = time.perf_counter()
            for _ in range(number):
                fn()
                if collect:
                    gc.collect()
            times[name].append((time.perf_counter() - start) / number - empty)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _empty_collection():
    """Seconds of a full collection with no garbage, just before a timed call: its
    cost grows with the heap, which the engines' imports and caches change."""
    gc.collect()
    start = time.perf_counter()
    gc.collect()
    return time.perf_counter() - start


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


def run_suite(name):
    """The rows of ``benchmarks.<module>.run()``, or of another function given as
    ``<module>:<function>`` (run in a child process by ``python -m benchmarks``:
    module-level, so that it can be pickled)."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(f"benchmarks.{module}"), function or "run")()
