"""One BLAS thread for every engine, set by the benchmarks themselves.

numpy, graphgrad, HIPS autograd and DeZero all multiply matrices in the BLAS that
numpy loads (OpenBLAS in numpy's wheels), which starts a thread per core unless told
otherwise; torch is pinned apart, by ``torch.set_num_threads(1)``. So that a ratio
compares engines, not thread counts, every engine runs on one BLAS thread:

1. ``pin_environment`` sets the thread variables; BLAS libraries read them once, when
   they are loaded, so ``benchmarks/__init__.py`` calls it before anything imports
   numpy, in ``python -m benchmarks`` and in each suite's spawned interpreter alike;
2. ``pin_loaded`` applies the same limit through threadpoolctl (the ``bench`` extra)
   to the libraries already loaded, which also covers an interpreter that imported
   numpy before this package, and reads back what actually runs.

``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE``, set on some machines because old
OpenBLAS builds fail on their processors, are left as they are but shown: they choose
OpenBLAS's kernels, and so its speed.
"""
import os

THREADS = 1
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
KERNEL_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def pin_environment(environ=os.environ):
    """Set every BLAS and OpenMP thread variable to ``THREADS``."""
    for name in THREAD_VARIABLES:
        environ[name] = str(THREADS)


def pin_loaded():
    """Limit the thread pools loaded so far to ``THREADS``; return threadpoolctl's
    description of them (a list of dicts), or None where threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return None
    threadpool_limits(THREADS)  # called, not entered: the limit stays
    return threadpool_info()


def describe(pools, environ=os.environ):
    """One line: each loaded pool as it runs (library, version, kernels, threads), then
    the thread and kernel variables. ``pools`` is ``pin_loaded()``'s result."""
    if pools is None:
        running = "threads not verified (threadpoolctl is not installed)"
    else:
        running = "; ".join(_pool(pool) for pool in pools) or "no BLAS or OpenMP pool loaded"
    variables = " ".join(f"{name}={environ.get(name, 'unset')}"
                         for name in THREAD_VARIABLES + KERNEL_VARIABLES)
    return f"{running}; {variables}"


def _pool(pool):
    """``openblas 0.3.31 (SkylakeX kernels): 1 thread``, from threadpoolctl's dict."""
    kernels = f" ({pool['architecture']} kernels)" if pool.get("architecture") else ""
    threads = pool["num_threads"]
    return (f"{pool['internal_api']} {pool['version']}{kernels}: "
            f"{threads} thread{'s' if threads != 1 else ''}")
