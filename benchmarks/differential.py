"""The differential checks of tests/test_differential.py at scale, run by hand:

    python -m benchmarks.differential --examples 2000 [--seed 0]

For random expressions over every op, then for each op alone, draws ``--examples``
cases (an expression and its inputs) and runs each check of
``graphgrad.testing.differential`` on every case: graphgrad's value against numpy's,
its gradients and Hessian-vector products against HIPS autograd's (``pip install
autograd``), its gradients against central differences. Prints the cases tried,
passed and failed per check and per op, then the first failure of each with the
expression and its inputs (exact floats) to reproduce it; exits 1 if any failed.
"""
import argparse
import collections
import sys
import time
import traceback

from hypothesis import HealthCheck, Phase, given, seed, settings

from graphgrad.testing.differential import CHECKS, cases, single_op_cases
from graphgrad.testing.strategies import OPS


def subjects():
    """(name, strategy of cases): every op together, then each op alone."""
    yield "all ops", cases()
    for op in OPS:
        yield op, single_op_cases(op)


def run_subject(strategy, examples, random_seed):
    """Run every check on ``examples`` cases of ``strategy``: the Counter of
    (check, "passed" or "failed") and the first failure of each check."""
    counts, failures = collections.Counter(), {}

    @seed(random_seed)
    @settings(max_examples=examples, deadline=None, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def each_case(case):
        for name, check in CHECKS.items():
            error = outcome(check, case)
            counts[name, "failed" if error else "passed"] += 1
            if error and name not in failures:
                failures[name] = (case, error)

    each_case()
    return counts, failures


def outcome(check, case):
    """None where ``check`` passes on ``case``, else the end of its traceback."""
    try:
        check(*case)
    except Exception:  # a mismatch (AssertionError) or a crash: both are failures
        return traceback.format_exc(limit=-3)
    return None


def print_counts(name, counts):
    for check in CHECKS:
        passed, failed = counts[check, "passed"], counts[check, "failed"]
        print(f"{name:<14} {check:<28} {passed + failed:>7} {passed:>7} {failed:>7}",
              flush=True)


def print_failure(name, check, case, error):
    expr, values = case
    print(f"\n== {name}: {check} failed on\n{expr!r}\ninputs = {[x.tolist() for x in values]}"
          f"\n{error}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="cases per op (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    args = parser.parse_args(argv)
    start, totals, failures = time.perf_counter(), collections.Counter(), []
    print(f"{'op':<14} {'check':<28} {'tried':>7} {'passed':>7} {'failed':>7}")
    for name, strategy in subjects():
        counts, first = run_subject(strategy, args.examples, args.seed)
        print_counts(name, counts)
        totals.update(counts)
        failures += [(name, check, *found) for check, found in first.items()]
    print_counts("total", totals)
    print(f"{time.perf_counter() - start:.0f} s")
    for failure in failures:
        print_failure(*failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
