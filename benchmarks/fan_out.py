"""A tensor used many times: loss = Σₖ Σ tanh(x · wₖ), ten uses of a 1000 × 1000 x.

The sweep sums x's ten gradient terms. Against a hand-written numpy step that
accumulates them in place (``g += …``), as the engine now does after the first sum.

Both sides compute the same forward: ten products, ten tanh and ten full reductions
added as numbers. The engine's graph is written that way too, rather than as one
sum over ``t₁ + … + t₁₀``: that form made the engine build nine full-size sums
(and pass the gradient back through them) that numpy never makes, which timed how
the graph was written, not the fan-out this benchmark is about.
"""
import numpy as np

import graphgrad as gg

from .timing import compare, report

USES, SIZE = 10, 1000


def numpy_step(x, ws):
    ts = [np.tanh(x * w) for w in ws]
    loss = sum(t.sum() for t in ts)
    g = np.zeros_like(x)
    for t, w in zip(ts, ws):
        g += (1 - t * t) * w
    return loss, g


def graphgrad_step(x, ws):
    xt = gg.tensor(x)
    loss = sum(gg.sum(gg.tanh(xt * w)) for w in ws)
    loss.backward()
    return loss.data, xt.grad


def run():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((SIZE, SIZE))
    ws = [rng.standard_normal((SIZE, SIZE)) for _ in range(USES)]
    (loss, grad), (np_loss, np_grad) = graphgrad_step(x, ws), numpy_step(x, ws)
    np.testing.assert_allclose(loss, np_loss, rtol=1e-10)
    np.testing.assert_allclose(grad, np_grad, rtol=1e-10)
    medians = compare({"numpy (hand-written)": lambda: numpy_step(x, ws),
                       "graphgrad": lambda: graphgrad_step(x, ws)}, repeats=10)
    return report(f"x used {USES} times, {SIZE}×{SIZE} float64, forward + backward",
                  medians, "numpy (hand-written)", unit=1e-3, unit_name="ms")


if __name__ == "__main__":
    run()
