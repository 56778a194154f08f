"""Run every benchmark and write the results to docs/benchmarks.md.

    python -m benchmarks            # all
    python -m benchmarks mlp_step   # one (or module:function, as in SUITES)

docs/benchmarks.md is generated whole, from this run alone: it is the only place for
current numbers, so nothing written by hand can disagree with them. Measurements of
past sessions, each labelled with its date, are kept by hand in
benchmarks/history.md (the site's "Benchmark history" page).
"""
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from graphgrad.serialization import atomic_writer

from .blas import describe, pin_loaded
from .timing import run_suite

SUITES = ["scalar_graph", "scalar_graph:run_dezero", "scalar_graph:run_torch",
          "scalar_graph:run_flat", "mlp_step", "conv_step",
          "fused_vs_composite", "fan_out", "deep_chain", "memory_flat", "viz_draw",
          "gradcheck_fast"]


def machine():
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, numpy {np.__version__}")


def write_markdown(rows, blas, path="docs/benchmarks.md"):
    lines = [
        "# Benchmarks", "",
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()} by `python -m benchmarks`.",
        f"BLAS, pinned by the benchmarks: {blas}.",
        "Each ratio is against the row at 1.00× of its workload, run interleaved in the "
        "same process (medians).", "",
        "| workload | engine | median | ratio |", "| --- | --- | ---: | ---: |",
    ]
    for workload, engine, value, unit, ratio in rows:
        lines.append(f"| {workload} | {engine} | {value:,.1f} {unit} | {ratio:.2f}× |")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with atomic_writer(path) as file:
        file.write(("\n".join(lines) + "\n").encode("utf-8"))


def main(names):
    blas = describe(pin_loaded())
    print(f"BLAS: {blas}")
    rows = []
    spawn = multiprocessing.get_context("spawn")
    for name in names or SUITES:
        # each suite in a fresh interpreter: the objects a peer engine's import leaves
        # (torch: hundreds of thousands) would otherwise be scanned by every full
        # collection of the suites after it (the deep chain per node: 1.6× → 2.2×).
        # An executor's worker is no daemon, so a suite may start processes of its own
        # (conv_step runs each engine alone)
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            rows += pool.submit(run_suite, name).result()
    if not names:
        write_markdown(rows, blas)


if __name__ == "__main__":
    main(sys.argv[1:])
