"""Fast mode: gradcheck along random directions instead of along every element.

For f(x) = ⟨v, fn(…, x, …)⟩ and a random unit direction u, backprop's gradient a
must give the directional derivative

    ⟨a, u⟩  ≈  (f(x + ε·u) − f(x − ε·u)) / 2ε

two evaluations of fn per direction, whatever the size of x (element by element: two
per element). A wrong element of a shows in ⟨a, u⟩ unless u happens to be nearly 0
there; a few directions make that unlikely, and a fixed seed makes it repeatable.
"""
import numpy as np

DIRECTIONS = 2


def agrees(probe, analytic, rng, eps, atol, rtol):
    """Whether ⟨analytic, u⟩ matches the central difference of ``probe`` along
    ``DIRECTIONS`` random unit u, to ``atol + rtol·|numeric|``."""
    if np.shape(analytic) != probe.base.shape:
        return False
    for _ in range(DIRECTIONS):
        u = rng.standard_normal(probe.base.shape)
        u /= np.linalg.norm(u) or 1.0
        numeric = (probe(probe.along(u, eps)) - probe(probe.along(u, -eps))) / (2 * eps)
        if not abs(np.sum(analytic * u) - numeric) <= atol + rtol * abs(numeric):
            return False
    return True
