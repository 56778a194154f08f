"""Run every benchmark and write the results to docs/benchmarks.md.

    python -m benchmarks            # all
    python -m benchmarks mlp_step   # one (or module:function, as in SUITES)
"""
import multiprocessing
import os
import platform
import sys
import time

import numpy as np

from .timing import run_suite

HISTORY = os.path.join(os.path.dirname(__file__), "history.md")
SUITES = ["scalar_graph", "scalar_graph:run_dezero", "scalar_graph:run_torch",
          "scalar_graph:run_flat", "mlp_step",
          "fused_vs_composite", "fan_out", "deep_chain", "memory_flat", "viz_draw",
          "gradcheck_fast"]


def machine():
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, numpy {np.__version__}, "
            f"OPENBLAS_NUM_THREADS={threads}")


def write_markdown(rows, path="docs/benchmarks.md"):
    lines = [
        "# Benchmarks", "",
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()} by `python -m benchmarks`.",
        "Each ratio is against the first row of its workload, run interleaved in the "
        "same process (medians).", "",
        "| workload | engine | median | ratio |", "| --- | --- | ---: | ---: |",
    ]
    for workload, engine, value, unit, ratio in rows:
        lines.append(f"| {workload} | {engine} | {value:,.1f} {unit} | {ratio:.2f}× |")
    with open(HISTORY, encoding="utf-8") as f:  # before / after, written by hand
        lines += ["", f.read().rstrip()]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)


def main(names):
    rows = []
    spawn = multiprocessing.get_context("spawn")
    for name in names or SUITES:
        # each suite in a fresh interpreter: the objects a peer engine's import leaves
        # (torch: hundreds of thousands) would otherwise be scanned by every full
        # collection of the suites after it (the deep chain per node: 1.6× → 2.2×)
        with spawn.Pool(1) as pool:
            rows += pool.apply(run_suite, (name,))
    if not names:
        write_markdown(rows)


if __name__ == "__main__":
    main(sys.argv[1:])
