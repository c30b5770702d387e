"""The Beta distribution's cumulative probability and a small equation solver, in pure Python.

`forecast validate` turns interval priors into Beta parameters with these; they stand in for
`scipy.special.betainc` and `scipy.optimize.root` so that checking a file never loads SciPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable

_EPSILON = 1e-15
_TINY = 1e-300
_MAX_TERMS = 100_000
_HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the probability that a Beta(a, b) variable is at most x.

    Relative error a few times 1e-14 at worst for a and b from 1e-300 to 1e12.

    Raises
    ------
    ValueError
        When a or b is not a positive finite number or x is outside [0, 1].
    ArithmeticError
        When the continued fraction has not settled after 100,000 terms, which happens only
        near the mean of a Beta whose parameters both pass about 1e13.
    """
    if not (0 < a < math.inf and 0 < b < math.inf):
        raise ValueError(f"Beta parameters must be greater than 0, got {a} and {b}")
    if not 0 <= x <= 1:
        raise ValueError(f"x must be between 0 and 1, got {x}")
    if x == 0 or x == 1:
        return float(x)
    log_front = _log_density_front(a, b, x)
    # The continued fraction converges fast below the mean; above it, use the mirror image.
    y = 1 - x
    if x <= (a + 1) / (a + b + 2):
        return _tail(a, b, x, y, log_front)
    return 1 - _tail(b, a, y, x, log_front)


def _tail(a: float, b: float, x: float, y: float, log_front: float) -> float:
    if log_front < -1000:  # x**a * y**b / B(a, b) underflows whatever the fraction is
        return 0.0
    return math.exp(log_front - math.log(_continued_fraction(a, b, x, y)))


def _continued_fraction(a: float, b: float, x: float, y: float) -> float:
    """x**a * y**b / (B(a, b) I_x(a, b)) with y = 1 - x, by the modified Lentz method.

    The form Boost.Math evaluates (ibeta_fraction2), a contraction of DLMF 8.17.22: its terms use
    y itself, so they do not cancel when x is close to 1.
    """
    value = a * (a * y - b * x + 1) / (a + 1)
    value = value if value != 0 else _TINY
    c, d = value, 0.0
    for m in range(1, _MAX_TERMS):
        # Integers first: (a + m) - 1 would lose the digits of a small a. Divided early so
        # that no product overflows.
        denominator = a + (2 * m - 1)
        numerator = (
            (m * (a + (m - 1)) / denominator) * ((a + b + (m - 1)) / denominator) * (b - m) * x * x
        )
        partial = (
            m
            + m * (b - m) * x / denominator
            + (a + m) * (a * y - b * x + 1 + m * (2 - x)) / (a + (2 * m + 1))
        )
        d = partial + numerator * d
        d = 1 / (d if d != 0 else _TINY)
        c = partial + numerator / c
        c = c if c != 0 else _TINY
        change = c * d
        value *= change
        if abs(change - 1) <= _EPSILON:
            return value
    raise ArithmeticError(f"the incomplete beta fraction did not settle for a={a}, b={b}, x={x}")


def _log_density_front(a: float, b: float, x: float) -> float:
    """log(x**a * (1-x)**b / B(a, b)), without the cancellation of large terms.

    With p = a/(a+b) and q = b/(a+b) this is a*g(x/p - 1) + b*g((1-x)/q - 1) plus Stirling
    terms, where g(t) = log(1+t) - t <= 0: the large terms that cancel in a*log(x) + b*log(1-x)
    - log B(a, b) never appear, which keeps the relative error near 1e-14 even for a, b ~ 1e6.
    """
    total = a + b
    # The smaller of p and q by division, the other as its complement: the terms below cancel
    # to first order only when p + q is exactly 1. x - p is taken from the same side.
    if a <= b:
        p = a / total
        q = 1 - p
        gap = x - p
    else:
        q = b / total
        p = 1 - q
        gap = q - (1 - x)
    first = weighted_log1p_minus(a, gap, x, p)
    second = weighted_log1p_minus(b, -gap, 1 - x, q)
    stirling = 0.5 * (math.log(a) + math.log(b) - math.log(total)) - _HALF_LOG_TWO_PI
    return first + second + stirling - stirling_rest(a) - stirling_rest(b) + stirling_rest(total)


def weighted_log1p_minus(weight: float, gap: float, value: float, base: float) -> float:
    """weight * (log(1 + t) - t) with t = gap / base and 1 + t = value / base.

    The ratio is taken as given, so it stays exact when t is near -1; weight * t is taken as
    (weight / base) * gap, which stays finite when t alone would not.
    """
    t = gap / base
    if abs(t) >= 0.5:
        ratio = value / base
        if not 1e-300 < ratio < 1e300:  # would lose digits or overflow
            return weight * (math.log(value) - math.log(base)) - weight / base * gap
        return weight * math.log(ratio) - weight / base * gap
    term, total, k = t, 0.0, 1
    while True:  # -t**2/2 + t**3/3 - ...; 0.5**k/k falls below 1e-17 by k = 52
        k += 1
        term *= -t
        step = term / k
        total += step
        if abs(step) <= 1e-17 * abs(total):
            return weight * total


def stirling_rest(z: float) -> float:
    """lgamma(z) - ((z - 1/2) log z - z + log(2 pi)/2), the remainder of Stirling's formula."""
    if z < 10:
        return math.lgamma(z) - ((z - 0.5) * math.log(z) - z + _HALF_LOG_TWO_PI)
    inverse = 1 / z
    square = inverse * inverse
    series = 0.0
    for coefficient in reversed(_STIRLING):
        series = series * square + coefficient
    return series * inverse


# B_2k / (2k (2k-1)) for k = 1..9: at z >= 10 the next term is below 1e-19.
_STIRLING = (
    1 / 12,
    -1 / 360,
    1 / 1260,
    -1 / 1680,
    1 / 1188,
    -691 / 360360,
    1 / 156,
    -3617 / 122400,
    43867 / 244188,
)


def solve_two_equations(
    residuals: Callable[[float, float], tuple[float, float]],
    start: tuple[float, float],
    *,
    difference_step: Callable[[float, float], float],
    tolerance: float = 1e-15,
    max_steps: int = 100,
    max_step_size: float = 2.0,
) -> tuple[float, float] | None:
    """A point where both residuals are within `tolerance` of zero, by damped Newton steps.

    The Jacobian is taken by central differences of width `difference_step(u, v)` at (u, v).
    Every Newton step is cut to at most `max_step_size` in each coordinate, then halved until
    it reduces the sum of squared residuals. `residuals` may raise ArithmeticError or ValueError
    at points it cannot or will not evaluate; those count as no improvement.

    Returns the last point reached, which the caller must judge: where no step improves it is
    only the best point found. None means the iteration could not start or met a Jacobian it
    could not use.
    """
    point = start
    values = _evaluate(residuals, point)
    if values is None:
        return None
    size = values[0] ** 2 + values[1] ** 2
    for _ in range(max_steps):
        if max(abs(values[0]), abs(values[1])) <= tolerance:
            break
        jacobian = _central_jacobian(residuals, point, difference_step(*point))
        if jacobian is None:
            return None
        (du1, dv1), (du2, dv2) = jacobian
        determinant = du1 * dv2 - dv1 * du2
        if determinant == 0 or not math.isfinite(determinant):
            return None
        step = (
            (dv1 * values[1] - dv2 * values[0]) / determinant,
            (du2 * values[0] - du1 * values[1]) / determinant,
        )
        scale = min(1.0, max_step_size / max(abs(step[0]), abs(step[1])))
        while True:
            trial = (point[0] + scale * step[0], point[1] + scale * step[1])
            trial_values = _evaluate(residuals, trial)
            if trial_values is not None:
                trial_size = trial_values[0] ** 2 + trial_values[1] ** 2
                if trial_size < (1 - 1e-4 * scale) * size:
                    break
            scale /= 2
            if scale < 1e-6:
                return point  # no step improves: the best point there is, or a dead end
        if trial == point:
            break
        point, values, size = trial, trial_values, trial_size
    return point


def _evaluate(residuals, point):
    try:
        values = residuals(*point)
    except (ArithmeticError, ValueError):
        return None
    return values if math.isfinite(values[0]) and math.isfinite(values[1]) else None


def _central_jacobian(residuals, point, width):
    """((dr1/du, dr1/dv), (dr2/du, dr2/dv)) at point = (u, v), or None if it cannot be had."""
    u, v = point
    columns = []
    for ahead, behind in (((u + width, v), (u - width, v)), ((u, v + width), (u, v - width))):
        high, low = _evaluate(residuals, ahead), _evaluate(residuals, behind)
        if high is None or low is None:
            return None
        columns.append(((high[0] - low[0]) / (2 * width), (high[1] - low[1]) / (2 * width)))
    return (columns[0][0], columns[1][0]), (columns[0][1], columns[1][1])
