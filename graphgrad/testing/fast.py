"""Fast mode: gradcheck along random directions instead of along every element.

Element by element, backprop's aᵢ must match nᵢ = ∂f/∂xᵢ to its own tolerance
tᵢ = atol + rtol·|aᵢ|: the relative errors ρᵢ = (aᵢ − nᵢ) / tᵢ must all be at most
1. One directional derivative tests them all at once: along w = s / t, with random
signs and sizes sᵢ = ±[0.5, 1.5],

    ⟨a, w⟩ − ∂f/∂w  =  Σ ρᵢ sᵢ,    ∂f/∂w = |w|·(f(x + ε·ŵ) − f(x − ε·ŵ)) / 2ε

two evaluations of fn per direction, whatever the size of x (element by element: two
per element). One wrong element (|ρⱼ| > 1) adds at least 0.5 to that sum, however
large x or its other elements are, so a sum below ``AGREE`` passes; several wrong
elements hide only where their terms cancel in every direction. A fixed seed makes
the directions repeatable.
"""
import numpy as np

DIRECTIONS = 2
AGREE = 0.25  # |Σ ρᵢ sᵢ| allowed: half of what one wrong element adds at the least


def agrees(probe, analytic, rng, eps, atol, rtol):
    """Whether |⟨analytic, w⟩ − ∂f/∂w| <= ``AGREE`` for ``DIRECTIONS`` random
    w = s / (atol + rtol·|analytic|) (f is ``probe``)."""
    if np.shape(analytic) != probe.base.shape:
        return False
    tolerance = atol + rtol * np.abs(analytic)
    if not np.all(tolerance > 0):
        return False  # exact agreement asked for: element by element
    for _ in range(DIRECTIONS):
        w, length, u = weighted_direction(rng, tolerance)
        slope = length * (probe(probe.along(u, eps)) - probe(probe.along(u, -eps))) / (2 * eps)
        if not abs(np.sum(analytic * w) - slope) <= AGREE:
            return False
    return True


def weighted_direction(rng, tolerance):
    """(w, |w|, w / |w|) for a random w = s / t: signs and sizes sᵢ = ±[0.5, 1.5],
    each element weighed by one over its tolerance tᵢ (all > 0)."""
    s = rng.uniform(0.5, 1.5, tolerance.shape) * rng.choice([-1, 1], tolerance.shape)
    w = s / tolerance
    length = float(np.linalg.norm(w)) or 1.0
    return w, length, w / length
