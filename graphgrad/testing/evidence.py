"""Evidence: how the error of one element changes with eps, told in one line.

For the central difference nₑ = (f(x + ε) − f(x − ε)) / 2ε against backprop's a,

    |a − nₑ| ≈ |a − f'(x)| + c₁ ε² + c₂ / ε
               wrong gradient   truncation   rounding

so the error's order p (|a − nₑ| ∝ εᵖ, fitted on a log–log scale over ε = 1e-3 …
1e-6) tells them apart: p ≈ 0, flat, is a wrong gradient; p ≈ 2 is finite-difference
truncation; p ≈ −1 is rounding noise.
"""
import numpy as np

EPSILONS = (1e-3, 1e-4, 1e-5, 1e-6)


def errors_by_eps(probe, index, analytic):
    """|analytic − (f(x + ε·eᵢ) − f(x − ε·eᵢ)) / 2ε| at element ``index`` of the
    probe's input, for each ε of ``EPSILONS``."""
    return [abs(analytic - (probe(probe.moved(index, eps)) - probe(probe.moved(index, -eps)))
                / (2 * eps)) for eps in EPSILONS]


def order(errors):
    """p of errors ∝ εᵖ, least squares on log–log; None with fewer than two nonzero."""
    points = [(np.log10(eps), np.log10(e)) for eps, e in zip(EPSILONS, errors) if e > 0]
    if len(points) < 2:
        return None
    x, y = np.array(points).T
    return float(np.polyfit(x, y, 1)[0])


def verdict(p):
    """What the order ``p`` says about the error."""
    if p is None:
        return "exact at some eps: finite-difference noise, not a wrong gradient"
    if abs(p) < 0.5:
        return f"flat in eps (order {abs(p):.1f}): a wrong gradient, not finite-difference noise"
    if p >= 1.5:
        return (f"shrinks like eps² (order {p:.1f}): finite-difference truncation, not a "
                f"wrong gradient; a smaller eps would pass")
    if p <= -0.5:
        return (f"grows as eps shrinks (order {p:.1f}): rounding noise of the "
                f"differences, not a wrong gradient; a larger eps would pass")
    return f"order {p:.1f}: part wrong gradient, part finite-difference error"


def describe(probe, index, analytic):
    """The evidence line for element ``index``."""
    errors = errors_by_eps(probe, index, analytic)
    table = ", ".join(f"{eps:.0e}: {e:.2g}" for eps, e in zip(EPSILONS, errors))
    return f"|backprop − numerical| at {index} by eps: {table} — {verdict(order(errors))}"
