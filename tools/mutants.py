"""Mutation check: does the test suite notice deliberate, realistic bugs?

For each mutant below, ``graphgrad/``, ``viz/``, ``benchmarks/`` (tests import it),
``tests/``, ``pyproject.toml`` and what tests read (``README.md``, ``docs/``,
``examples/``) are copied into a temporary directory, one exact
piece of text in one source file is replaced (a mutant whose text is missing, or
found more than once, stops the check before anything runs: mutants never silently
go stale), and the suite runs against the copy with ``-x``. A failing test kills the
mutant; a passing suite means it survived. Exit status 0 only if every mutant is killed.

Each mutant runs the whole suite except ``test_docs.py`` and ``test_notebooks.py``
(they build the site and execute the notebooks: half the suite's time, and no
number they check that the unit tests do not). The test files named in its
``first`` run before the rest, so that a mutant dies in seconds where it should; the
rest of the suite still runs if they miss it. Hypothesis runs with a fixed seed, so
the table is the same on every run. A killing test is then rerun on the unmutated
copy: it must pass there, or the kill proves nothing.

    python tools/mutants.py                 # every mutant
    python tools/mutants.py exp_backward    # only the ones named
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("graphgrad", "viz", "benchmarks", "tests", "pyproject.toml", "README.md", "docs",
          "examples")
NOT_RUN = ("test_docs.py", "test_notebooks.py")
PYTEST = ("-m", "pytest", "-p", "no:cacheprovider", "-q", "-x", "--hypothesis-seed=0")


@dataclass(frozen=True)
class Mutant:
    """Replace ``old`` by ``new`` in ``path``; ``first``: test files to run first."""

    name: str
    what: str
    path: str
    old: str
    new: str
    first: tuple = ()


MUTANTS = (
    Mutant("exp_backward", "Exp.backward ×(1+1e-5)", "graphgrad/nodes/elementwise.py",
           "return dout * self.out\n", "return dout * self.out * (1 + 1e-5)\n",
           ("test_nodes_elementwise.py",)),
    Mutant("mul_second_grad", "Mul's ∂L/∂y ×1.001", "graphgrad/nodes/arithmetic.py",
           "gy = dout * x if", "gy = dout * x * 1.001 if", ("test_nodes_arithmetic.py",)),
    Mutant("matmul_dW", "MatMul's ∂L/∂Y (2-D) ×(1+1e-4)", "graphgrad/nodes/linalg.py",
           "x.T @ dout if", "x.T @ dout * (1 + 1e-4) if", ("test_nodes_linalg.py",)),
    Mutant("div_second_sign", "Div's ∂L/∂y with the wrong sign",
           "graphgrad/nodes/arithmetic.py", "sum_to(-gx * x / y", "sum_to(gx * x / y",
           ("test_nodes_arithmetic.py",)),
    Mutant("sweep_drops_term", "sweep keeps only the last term of a tensor used twice",
           "graphgrad/autograd.py",
           "pending[x] = dx if x not in pending else _accumulate(pending[x], dx, owned)",
           "pending[x] = dx", ("test_engine.py",)),
    Mutant("sweep_drops_third", "sweep drops the 3rd+ use's term (in-place sum)",
           "graphgrad/autograd.py", "total += dx\n            return total",
           "return total", ("test_fast_paths.py",)),
    Mutant("leaf_grad_overwrite", "a second backward overwrites a leaf's .grad",
           "graphgrad/autograd.py", "t.grad = g if t.grad is None else t.grad + g",
           "t.grad = g", ("test_engine.py",)),
    Mutant("leaf_grad_shared", "a leaf's .grad may be the very array passed back",
           "graphgrad/autograd.py", "if id(g) in stored or _may_share_memory(g, kind):",
           "if _may_share_memory(g, kind):",
           ("test_engine.py",)),
    Mutant("sgd_lr", "SGD lr ×1.01", "graphgrad/optim.py",
           "params[key] -= self.lr * grads[key]\n",
           "params[key] -= self.lr * 1.01 * grads[key]\n", ("test_optim.py",)),
    Mutant("sgd_not_in_place", "SGD rebinds params[key] instead of updating it",
           "graphgrad/optim.py", "params[key] -= self.lr * grads[key]\n",
           "params[key] = params[key] - self.lr * grads[key]\n", ("test_optim.py",)),
    Mutant("momentum_momentum", "Momentum's momentum ×1.01", "graphgrad/optim.py",
           "self.v[key] = self.momentum * self.v[key]",
           "self.v[key] = self.momentum * 1.01 * self.v[key]", ("test_optim.py",)),
    Mutant("nesterov_step", "Nesterov's gradient step m·lr·g, not (1 + m)·lr·g",
           "graphgrad/optim.py", "params[key] -= (1 + self.momentum) * self.lr * grads[key]",
           "params[key] -= self.momentum * self.lr * grads[key]", ("test_optim.py",)),
    Mutant("adam_step", "Adam's step ×1.01", "graphgrad/optim.py",
           "params[key] -= lr_t * self.m[key]", "params[key] -= lr_t * 1.01 * self.m[key]",
           ("test_optim.py",)),
    Mutant("adagrad_eps", "AdaGrad's 1e-7 inside the square root", "graphgrad/optim.py",
           "self.lr * grads[key] / (_sqrt(self.h[key]) + EPS)\n\n\nclass RMSprop",
           "self.lr * grads[key] / _sqrt(self.h[key] + EPS)\n\n\nclass RMSprop",
           ("test_optim.py",)),
    Mutant("sum_to_axis", "sum_to sums the last axis, not the added leading one",
           "graphgrad/backend/numpy_backend.py",
           "axis=0 if lead == 1", "axis=-1 if lead == 1",
           ("test_nodes_reduction.py", "test_nodes_arithmetic.py")),
    Mutant("mean_count", "Mean.backward divides by every element, not those averaged",
           "graphgrad/nodes/reduction.py",
           "n = math.prod(self.x_shape) // math.prod(self.kept)",
           "n = math.prod(self.x_shape)", ("test_nodes_reduction.py",)),
    Mutant("max_ties", "Max: each tied maximum gets the full gradient",
           "graphgrad/nodes/reduction.py",
           "self.share = mask / xp.sum(mask, axis=self.axis, keepdims=True)",
           "self.share = mask", ("test_nodes_reduction.py",)),
    Mutant("relu_at_zero", "Relu passes the gradient at x = 0 (x >= 0)",
           "graphgrad/nodes/elementwise.py", "xp.mask(x > 0,", "xp.mask(x >= 0,",
           ("test_nodes_elementwise.py",)),
    Mutant("maximum_ties", "Maximum: a tie's gradient all to x (x >= y)",
           "graphgrad/nodes/elementwise.py",
           "xp.astype(x > y, dtype) + 0.5 * xp.astype(x == y, dtype)",
           "xp.astype(x >= y, dtype)", ("test_nodes_elementwise.py",)),
    Mutant("batchnorm_mean_const", "BatchNormalization: batch mean a constant",
           "graphgrad/nn/layers.py", "xc = x2 - mu\n", "xc = x2 - mu.data\n",
           ("test_nn_layers.py",)),
    Mutant("batchnorm_var_const", "BatchNormalization: batch variance a constant",
           "graphgrad/nn/layers.py",
           "var = F.mean(xc * xc, axis=0)\n"
           "            self._update_running(mu.data, var.data)",
           "var = F.mean(xc * xc, axis=0).data\n"
           "            self._update_running(mu.data, var)",
           ("test_nn_layers.py",)),
    Mutant("batchnorm_eps", "BatchNormalization: √σ² + ε instead of √(σ² + ε)",
           "graphgrad/nn/layers.py",
           "xc / (var + self.eps) ** 0.5", "xc / (var ** 0.5 + self.eps)",
           ("test_nn_layers.py",)),
    Mutant("batchnorm_running", "BatchNormalization: running-average weights swapped",
           "graphgrad/nn/layers.py",
           "m * self.running_mean + (1 - m) * mu", "(1 - m) * self.running_mean + m * mu",
           ("test_nn_layers.py",)),
    Mutant("maxpool_argmin", "MaxPool routes the gradient to a smaller element",
           "graphgrad/nodes/conv.py", "hit = xp.mask(planes[k, ...] == y,",
           "hit = xp.mask(planes[k, ...] < y,", ("test_nn_conv.py",)),
    Mutant("maxpool_last_tie", "MaxPool: last maximum of a tie, not DLFS's first",
           "graphgrad/nodes/conv.py", "for k in reversed(range(count)):",
           "for k in range(count):", ("test_nn_conv.py",)),
    Mutant("pool_scatter_overwrite", "PoolScatter: overlapping windows overwrite, not add",
           "graphgrad/nodes/conv.py", "overlapping = s < max(self.pool_h, self.pool_w)",
           "overlapping = False", ("test_nn_conv.py",)),
    Mutant("pool_scatter_swap", "PoolScatter: window row and column swapped",
           "graphgrad/nodes/conv.py", "y, x = divmod(k, self.pool_w)",
           "x, y = divmod(k, self.pool_w)", ("test_nn_conv.py",)),
    Mutant("col2im_overwrite", "col2im and fold: overlapping windows overwrite, not add",
           "graphgrad/nodes/conv.py",
           "] += cols[:, :, y, x, :, :]", "] = cols[:, :, y, x, :, :]",
           ("test_nn_conv.py",)),
    Mutant("sigmoid_complement", "fused Sigmoid: σ(x) where σ(−x) belongs, y·y",
           "graphgrad/nodes/fused.py", "self.complement = 1 / (1 + xp.exp(x))",
           "self.complement = 1 / (1 + xp.exp(-x))", ("test_activations.py",)),
    Mutant("softmax_loss_no_mean", "fused SoftmaxWithLoss backward not divided by N",
           "graphgrad/nodes/fused.py", "return (self.y - t) * (dout / self.n), None",
           "return (self.y - t) * dout, None", ("test_activations.py",)),
    Mutant("transpose_inverse", "Transpose backward applies the permutation again",
           "graphgrad/nodes/shape.py",
           "inverse = tuple(sorted(range(ndim), key=lambda i: self.axes[i] % ndim))",
           "inverse = self.axes", ("test_nodes_shape.py",)),
    Mutant("getitem_repeats", "indexing's gradient: repeated indices overwrite",
           "graphgrad/backend/numpy_backend.py", "np.add.at(gx, index, gy)",
           "gx[index] = gy", ("test_nodes_shape.py",)),
    Mutant("setitem_region_kept", "SetItem: ∂L/∂x keeps the overwritten region",
           "graphgrad/nodes/shape.py", "gx = xp.setitem(dout, self.index, 0) if",
           "gx = dout if", ("test_nodes_shape.py",)),
    Mutant("setitem_value_not_summed",
           "SetItem: a value broadcast along its 1-long axes gets the region's gradient",
           "graphgrad/nodes/shape.py", "return xp.sum_to(g, shape)",
           "return g if len(shape_of(g)) == len(shape) else xp.sum_to(g, shape)",
           ("test_nodes_shape.py",)),
    Mutant("write_misses_consumers", "x[index] = v: earlier nodes that took x not refused",
           "graphgrad/autograd.py", "x.creator is not None and x.creator.id > node.id",
           "x.creator is not None and x.creator.id < 0", ("test_inplace.py",)),
    Mutant("dropout_test_scale", "Dropout in test mode not scaled by 1 − ratio",
           "graphgrad/nn/layers.py", "return x * (1.0 - self.dropout_ratio)", "return x",
           ("test_nn_layers.py",)),
)


@dataclass
class Result:
    """How a mutant fared: ``status`` killed, survived or timeout; ``by``: the test
    that killed it (a pytest node id; a test file, if it failed to import)."""

    mutant: Mutant
    status: str
    by: str
    seconds: float


def mutated_source(mutant):
    """The text of ``mutant.path`` with the mutation applied. Raises if ``old`` is
    not found exactly once, or if the result is not valid Python."""
    text = (ROOT / mutant.path).read_text()
    count = text.count(mutant.old)
    if count != 1:
        raise SystemExit(f"mutant {mutant.name}: the text to replace occurs {count} times "
                         f"in {mutant.path} (wanted exactly once): {mutant.old!r}")
    new_text = text.replace(mutant.old, mutant.new)
    compile(new_text, mutant.path, "exec")
    return new_text


def copy_tree(dest):
    """Copy what the suite needs into ``dest``."""
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.pyc")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copy2(source, dest / name)


def suite_files(first):
    """The suite's test files, ``first`` ahead of the rest (which run sorted)."""
    every = sorted(p.name for p in (ROOT / "tests").glob("test_*.py"))
    rest = [name for name in every if name not in first and name not in NOT_RUN]
    return [f"tests/{name}" for name in (*first, *rest)]


def environment(tree):
    """The environment for a run against ``tree``: its packages first on the path."""
    return dict(os.environ, PYTHONPATH=str(tree), OPENBLAS_NUM_THREADS="1",
                HYPOTHESIS_PROFILE="default", PYTHONDONTWRITEBYTECODE="1")


def check_imports_from(tree):
    """Stop unless ``graphgrad`` and ``viz`` import from ``tree`` (an installed
    graphgrad must not shadow the copy)."""
    code = "import graphgrad, viz; print(graphgrad.__file__); print(viz.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, env=environment(tree),
                         capture_output=True, text=True, check=True).stdout
    if any(not Path(line).resolve().is_relative_to(tree.resolve()) for line in out.split()):
        raise SystemExit(f"the copy is shadowed: graphgrad/viz import from {out.split()}")


def run_pytest(tree, args, timeout):
    """Run pytest in ``tree``; (return code or None on timeout, combined output)."""
    try:
        done = subprocess.run([sys.executable, *PYTEST, *args], cwd=tree,
                              env=environment(tree), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, ""
    return done.returncode, done.stdout + done.stderr


def first_failure(output):
    """The node id of the first failed or erroring test in pytest's summary
    ("FAILED <node id> - <message>"; ids may hold spaces)."""
    match = re.search(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", output, re.MULTILINE)
    return match.group(1) if match else ""


def status_of(returncode, output):
    """killed, survived or timeout, from pytest's return code; anything else (no
    tests collected, a usage error, a crash of pytest) stops the check."""
    if returncode is None:
        return "timeout"
    if returncode == 0:
        return "survived"
    if returncode in (1, 2) and first_failure(output):  # 2: a collection error
        return "killed"
    raise SystemExit(f"pytest exited {returncode} without a failing test:\n"
                     + output[-3000:])


def run_mutant(mutant, workdir, timeout):
    """Apply ``mutant`` to a fresh copy in ``workdir`` and run the suite on it."""
    tree = workdir / mutant.name
    copy_tree(tree)
    (tree / mutant.path).write_text(mutated_source(mutant))
    start = time.perf_counter()
    returncode, output = run_pytest(tree, suite_files(mutant.first), timeout)
    seconds = time.perf_counter() - start
    shutil.rmtree(tree)
    return Result(mutant, status_of(returncode, output), first_failure(output), seconds)


def check_kills_pass_unmutated(results, tree, timeout):
    """Stop unless every killing test passes on the unmutated copy ``tree``."""
    killers = sorted({r.by for r in results if r.status == "killed"})
    if not killers:
        return
    returncode, output = run_pytest(tree, killers, timeout)
    if returncode != 0:
        raise SystemExit("a test that killed a mutant fails without the mutation too:\n"
                         + output[-3000:])


def print_table(results):
    """One line per mutant, then the kill count."""
    width = max(len(r.mutant.name) for r in results)
    for r in results:
        print(f"{r.mutant.name:<{width}}  {r.status:<8}  {r.seconds:5.1f}s  "
              f"{r.mutant.what}" + (f"\n{'':<{width}}  killed by {r.by}" if r.by else ""))
    killed = sum(r.status == "killed" for r in results)
    print(f"\n{killed} of {len(results)} killed")


def selected(names):
    """The mutants named (all when none are), refusing unknown names."""
    known = {m.name: m for m in MUTANTS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"unknown mutants {unknown}; known: {sorted(known)}")
    return [known[n] for n in names] if names else list(MUTANTS)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per mutant")
    args = parser.parse_args(argv)
    mutants = selected(args.names)
    for mutant in MUTANTS:  # every mutant applies, before minutes are spent
        mutated_source(mutant)
    with tempfile.TemporaryDirectory(prefix="graphgrad-mutants-") as tmp:
        workdir = Path(tmp)
        unmutated = workdir / "unmutated"
        copy_tree(unmutated)
        check_imports_from(unmutated)
        results = []
        for mutant in mutants:
            results.append(run_mutant(mutant, workdir, args.timeout))
            print(f"{mutant.name}: {results[-1].status} ({results[-1].seconds:.0f}s)",
                  file=sys.stderr, flush=True)
        print_table(results)
        check_kills_pass_unmutated(results, unmutated, args.timeout)
    return 0 if all(r.status == "killed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
