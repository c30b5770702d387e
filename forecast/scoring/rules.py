"""One small pure function per score, each as the platform that publishes it defines it.

Every function takes the forecast probabilities and what happened, and returns one number. A
probability of exactly 0 on what happened gives a log score (and a baseline score) of -inf, as the
definitions say; nothing here raises for it. Inputs are checked only for shape and range, so that
a caller's mistake is never scored silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def _check_probability(p: float) -> float:
    if not 0.0 <= p <= 1.0 or p != p:
        raise ValueError(f"a probability must be between 0 and 1, got {p!r}")
    return float(p)


def _check_distribution(probabilities: Sequence[float], happened: int) -> list[float]:
    values = [_check_probability(p) for p in probabilities]
    if len(values) < 2:
        raise ValueError("a categorical forecast needs at least two categories")
    if not 0 <= happened < len(values):
        raise ValueError(f"category {happened} is not one of {len(values)} categories")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ValueError(f"category probabilities must sum to 1, got {sum(values)!r}")
    return values


def brier_binary(p: float, happened: bool) -> float:
    """Brier (1950) for a yes/no question: (p - o)**2, 0 (best) to 1."""
    return (_check_probability(p) - (1.0 if happened else 0.0)) ** 2


def brier_categorical(probabilities: Sequence[float], happened: int) -> float:
    """Brier's original score over N categories: sum of (p_k - o_k)**2, 0 (best) to 2."""
    values = _check_distribution(probabilities, happened)
    return sum((p - (1.0 if k == happened else 0.0)) ** 2 for k, p in enumerate(values))


def brier_two_category(p: float, happened: bool) -> float:
    """Good Judgment's Brier for a yes/no question: both categories summed, 0 to 2.

    Twice :func:`brier_binary`; for a question of N categories Good Judgment's score is
    :func:`brier_categorical`.
    """
    return brier_categorical([1.0 - _check_probability(p), p], 1 if happened else 0)


def log_score(p_happened: float) -> float:
    """ln P(what happened): 0 (best) down to -inf for a probability of 0."""
    p = _check_probability(p_happened)
    return math.log(p) if p > 0 else -math.inf


def baseline_binary(p_happened: float) -> float:
    """Metaculus's baseline score for a yes/no question: 100 * (log2 P(what happened) + 1).

    0 for a forecast of 50%, 100 for certainty on what happened, -inf for 0 on it.
    """
    p = _check_probability(p_happened)
    return 100.0 * (math.log2(p) + 1.0) if p > 0 else -math.inf


def baseline_categorical(p_happened: float, categories: int) -> float:
    """Metaculus's baseline score for N categories: 100 * (ln P - ln(1/N)) / ln N.

    0 for the uniform forecast 1/N, 100 for certainty on what happened; for N = 2 it equals
    :func:`baseline_binary`.
    """
    if categories < 2:
        raise ValueError(f"a categorical question has at least two categories, got {categories}")
    p = _check_probability(p_happened)
    if p == 0:
        return -math.inf
    return 100.0 * (math.log(p) - math.log(1.0 / categories)) / math.log(categories)
