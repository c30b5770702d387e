"""The Gamma distribution's cumulative probability, in pure Python.

`forecast validate` turns interval priors on an event's rate into Gamma parameters with this; it
stands in for `scipy.special.gammainc` so that checking a file never loads SciPy.
"""

from __future__ import annotations

import math

from forecast.spec.beta_math import stirling_rest, weighted_log1p_minus

_EPSILON = 1e-15
_TINY = 1e-300
_MAX_TERMS = 100_000
_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


def regularized_lower_incomplete_gamma(a: float, x: float) -> float:
    """P(a, x), the probability that a Gamma(a, 1) variable is at most x.

    By the series where x < a + 1 and by the continued fraction of the upper tail elsewhere, as
    Numerical Recipes (3rd ed., §6.2) does, with the factor x**a e**-x / Gamma(a) taken without
    the cancellation of its large terms.

    Raises
    ------
    ValueError
        When a is not a positive finite number or x is negative.
    ArithmeticError
        When the series or the fraction has not settled after 100,000 terms (a beyond 1e9).
    """
    if not 0 < a < math.inf:
        raise ValueError(f"the Gamma shape must be greater than 0, got {a}")
    if not 0 <= x <= math.inf:
        raise ValueError(f"x must be 0 or more, got {x}")
    if x == 0:
        return 0.0
    if x == math.inf:
        return 1.0
    log_front = _log_front(a, x)
    if x < a + 1:
        if log_front < -1000:
            return 0.0
        return math.exp(log_front) * _series(a, x)
    if log_front < -1000:
        return 1.0
    return 1 - math.exp(log_front) * _continued_fraction(a, x)


def _log_front(a: float, x: float) -> float:
    """log(x**a e**-x / Gamma(a)), as a*(log(x/a) - (x/a - 1)) plus Stirling's terms."""
    return (
        weighted_log1p_minus(a, x - a, x, a)
        + 0.5 * math.log(a)
        - _HALF_LOG_TWO_PI
        - stirling_rest(a)
    )


def _series(a: float, x: float) -> float:
    """P(a, x) divided by the front factor: the sum of x**n / (a (a+1) ... (a+n))."""
    term = 1 / a
    total = term
    denominator = a
    for _ in range(_MAX_TERMS):
        denominator += 1
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * _EPSILON:
            return total
    raise ArithmeticError(f"the incomplete gamma series did not settle for a={a}, x={x}")


def _continued_fraction(a: float, x: float) -> float:
    """1 - P(a, x) divided by the front factor, by the modified Lentz method."""
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    value = d
    for i in range(1, _MAX_TERMS):
        numerator = -i * (i - a)
        b += 2
        d = numerator * d + b
        d = d if abs(d) >= _TINY else _TINY
        c = b + numerator / c
        c = c if abs(c) >= _TINY else _TINY
        d = 1 / d
        change = d * c
        value *= change
        if abs(change - 1) <= _EPSILON:
            return value
    raise ArithmeticError(f"the incomplete gamma fraction did not settle for a={a}, x={x}")
