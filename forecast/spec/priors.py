"""The ways an analyst can state a prior belief, each turned into Beta, Dirichlet or Gamma
parameters.

Every function raises ValueError with a message that says what is allowed; the validator adds
where in the file the prior stands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from forecast.spec.beta_math import regularized_incomplete_beta, solve_two_equations
from forecast.spec.gamma_math import regularized_lower_incomplete_gamma


@dataclass(frozen=True)
class BetaPrior:
    """Beta(alpha, beta) on a probability; `stated` is the form the analyst wrote, for reports."""

    alpha: float
    beta: float
    stated: str

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)


@dataclass(frozen=True)
class DirichletPrior:
    """Dirichlet(concentration) on a categorical outcome's probabilities, in category order."""

    concentration: tuple[float, ...]
    stated: str


@dataclass(frozen=True)
class GammaPrior:
    """Gamma(shape, rate) on an event's rate, in events per year whatever unit the file used."""

    shape: float
    rate: float  # per year: the Gamma's rate parameter for a rate in events per year
    stated: str

    @property
    def mean(self) -> float:
        return self.shape / self.rate


@dataclass(frozen=True)
class HazardPrior:
    """An event's rate in one condition row: one Gamma per period of the outcome's timeline
    (`Timeline.breaks`), a single one when the rate does not change over time."""

    periods: tuple[GammaPrior, ...]
    per: str  # the unit the analyst stated rates in: day, week, month or year
    stated: str


def beta_from_mean_sd(mean: float, sd: float) -> BetaPrior:
    if not 0 < mean < 1:
        raise ValueError(f"mean must be strictly between 0 and 1, got {mean}")
    if sd <= 0:
        raise ValueError(f"sd must be greater than 0, got {sd}")
    limit = math.sqrt(mean * (1 - mean))
    if sd >= limit:
        raise ValueError(
            f"sd {sd} is impossible for a probability with mean {mean}: it must be below "
            f"sqrt(mean*(1-mean)) = {limit:.4g}, and a belief is usually well below that "
            f"(sd {limit / 3:.2g} is already vague)"
        )
    k = mean * (1 - mean) / sd**2 - 1 if sd**2 > 0 else math.inf
    if not math.isfinite(k):
        raise ValueError(f"sd {sd} is too small to be a belief; give a larger sd or a beta prior")
    return BetaPrior(mean * k, (1 - mean) * k, f"mean {mean:g}, sd {sd:g}")


def beta_from_sample_size(mean: float, sample_size: float) -> BetaPrior:
    if not 0 < mean < 1:
        raise ValueError(f"mean must be strictly between 0 and 1, got {mean}")
    if sample_size <= 0:
        raise ValueError(f"sample_size must be greater than 0, got {sample_size}")
    return BetaPrior(
        mean * sample_size,
        (1 - mean) * sample_size,
        f"mean {mean:g}, worth {sample_size:g} observations",
    )


# The Beta parameters accepted for an interval; beyond them a belief is implausibly vague or sure.
_SMALLEST, _LARGEST = 1e-3, 1e7
# log(a) and log(b) are searched a little beyond those: far outside, a Beta costs too much to
# evaluate and could not be accepted anyway.
_SEARCH_BOX = (math.log(_SMALLEST) - 3, math.log(10 * _LARGEST) + 1)


def _difference_step(log_a: float, log_b: float) -> float:
    """A step in log(a) or log(b) that moves the Beta by about 1e-4 of its sd, or less."""
    return 1e-4 / math.sqrt(1 + math.exp(log_a) + math.exp(log_b))


def beta_from_interval(lo: float, hi: float, mass: float = 0.9) -> BetaPrior:
    """The Beta whose equal-tailed central interval of probability `mass` is [lo, hi]."""
    if not 0 < mass < 1:
        raise ValueError(f"mass must be strictly between 0 and 1, got {mass}")
    if not (0 < lo < 1 and 0 < hi < 1):
        raise ValueError(f"interval ends must be strictly between 0 and 1, got [{lo}, {hi}]")
    if lo >= hi:
        raise ValueError(f"interval must be [low, high] with low < high, got [{lo}, {hi}]")
    tail = (1 - mass) / 2
    targets = (tail, 1 - tail)

    def residuals(log_a: float, log_b: float) -> tuple[float, float]:
        low, high = _SEARCH_BOX
        if not (low < log_a < high and low < log_b < high):
            raise ArithmeticError("outside the parameters searched")
        a, b = math.exp(log_a), math.exp(log_b)
        return (
            regularized_incomplete_beta(a, b, lo) - targets[0],
            regularized_incomplete_beta(a, b, hi) - targets[1],
        )

    # Start from the Beta with the interval's midpoint as mean and a normal-theory sd.
    mid = (lo + hi) / 2
    z = NormalDist().inv_cdf(1 - tail)
    sd = min((hi - lo) / (2 * z), 0.99 * math.sqrt(mid * (1 - mid)))
    k = max(mid * (1 - mid) / sd**2 - 1, 0.2)
    starts = [(math.log(mid * k), math.log((1 - mid) * k)), (0.0, 0.0), (math.log(2), math.log(2))]
    # Where both parameters are large the Beta is close to normal, and so is this start: when it
    # lies a factor 10 beyond _LARGEST, so does the Beta that fits, which is not searched for.
    if min(mid, 1 - mid) * k > 1e4 and max(mid, 1 - mid) * k > 10 * _LARGEST:
        starts = []
    for start in starts:
        solution = solve_two_equations(residuals, start, difference_step=_difference_step)
        if solution is None or max(abs(r) for r in residuals(*solution)) >= 1e-8:
            continue
        a, b = math.exp(solution[0]), math.exp(solution[1])
        if _SMALLEST < a < _LARGEST and _SMALLEST < b < _LARGEST:
            return BetaPrior(a, b, f"{mass:.0%} between {lo:g} and {hi:g}")
        # Two quantiles fix a Beta uniquely (van Dorp and Mazzuchi 2000): no other start can
        # find another one.
        break
    raise ValueError(
        f"no Beta distribution puts {mass:g} of its mass in [{lo}, {hi}] with equal tails; "
        "widen or narrow the interval, or give {beta: [a, b]}"
    )


def dirichlet_from_probabilities(
    probabilities: dict[str, float], sample_size: float, categories: tuple[str, ...]
) -> DirichletPrior:
    if sample_size <= 0:
        raise ValueError(f"sample_size must be greater than 0, got {sample_size}")
    total = sum(probabilities.values())
    if abs(total - 1) > 1e-3:
        raise ValueError(f"probabilities must sum to 1, they sum to {total:g}")
    concentration = tuple(probabilities[c] * sample_size for c in categories)
    return DirichletPrior(concentration, f"probabilities worth {sample_size:g} observations")


# -- an event's rate: Gamma(shape, rate) -----------------------------------------------------------
#
# These work in whatever unit the analyst states rates per (events per day ... per year); the
# reader turns the result into events per year.


def gamma_from_mean_sd(mean: float, sd: float) -> tuple[float, float]:
    """(shape, rate) of the Gamma with this mean and standard deviation: (m/s)^2 and m/s^2."""
    if mean <= 0:
        raise ValueError(f"mean must be greater than 0 (events per unit of time), got {mean:g}")
    if sd <= 0:
        raise ValueError(f"sd must be greater than 0, got {sd:g}")
    return (mean / sd) ** 2, mean / sd**2


# Gamma shapes accepted for an interval: below, nearly all the mass sits at 0; above, the
# interval is a few percent wide, far surer than a belief about a rate can be.
# The Gamma shapes accepted for a rate; beyond them a belief is implausibly vague or sure.
GAMMA_SHAPES = (1e-3, 1e5)
_SMALLEST_SHAPE, _LARGEST_SHAPE = GAMMA_SHAPES


def gamma_from_interval(lo: float, hi: float, mass: float = 0.9) -> tuple[float, float]:
    """(shape, rate) of the Gamma whose equal-tailed central interval of probability `mass` is
    [lo, hi]."""
    if not 0 < mass < 1:
        raise ValueError(f"mass must be strictly between 0 and 1, got {mass:g}")
    if not (lo > 0 and hi > 0):
        raise ValueError(
            f"interval ends must be greater than 0 (a rate of events), got [{lo:g}, {hi:g}]"
        )
    if lo >= hi:
        raise ValueError(f"interval must be [low, high] with low < high, got [{lo:g}, {hi:g}]")
    tail = (1 - mass) / 2
    # The rate parameter scales with the interval: solve for the interval divided by its
    # geometric midpoint, then scale back.
    middle = math.sqrt(lo * hi)
    low, high = lo / middle, hi / middle

    def residuals(log_shape: float, log_rate: float) -> tuple[float, float]:
        if not (-12 < log_shape < 14 and -40 < log_rate < 40):
            raise ArithmeticError("outside the parameters searched")
        shape, rate = math.exp(log_shape), math.exp(log_rate)
        return (
            regularized_lower_incomplete_gamma(shape, rate * low) - tail,
            regularized_lower_incomplete_gamma(shape, rate * high) - (1 - tail),
        )

    # Start from the shape of the log-normal with the same interval (a Gamma's log-variance is
    # about 1/shape), then from a few others, each with its upper quantile near `high` by the
    # normal approximation.
    z = NormalDist().inv_cdf(1 - tail)
    spread = math.log(high / low) / (2 * z)
    shapes = (min(max(1 / spread**2, 0.01), 1e4), 1.0, 0.3, 3.0, 0.1, 30.0)
    starts = [(math.log(a), math.log((a + z * math.sqrt(a)) / high)) for a in shapes]
    for start in starts:
        solution = solve_two_equations(
            residuals, start, difference_step=lambda u, v: 1e-4 / math.sqrt(1 + math.exp(u))
        )
        if solution is None or max(abs(r) for r in residuals(*solution)) >= 1e-8:
            continue
        shape, rate = math.exp(solution[0]), math.exp(solution[1]) / middle
        if _SMALLEST_SHAPE < shape < _LARGEST_SHAPE:
            return shape, rate
        break
    raise ValueError(
        f"no Gamma distribution puts {mass:g} of its mass in [{lo:g}, {hi:g}] with equal tails "
        "for a belief to hold; widen or narrow the interval, or give {gamma: [shape, rate]}"
    )


def probability_by(shape: float, rate: float, years: float) -> float:
    """P(the event happens within `years`) when its rate per year is Gamma(shape, rate):
    1 - (rate / (rate + years))^shape."""
    return -math.expm1(-shape * math.log1p(years / rate))


# The box searched when fitting a Gamma to probabilities by dates: shape, and mean rate per year.
_LOG_SHAPE = (math.log(GAMMA_SHAPES[0]), math.log(GAMMA_SHAPES[1]))
_LOG_MEAN = (math.log(1e-9), math.log(1e6))


def gamma_from_dates(
    years: tuple[float, ...], probabilities: tuple[float, ...]
) -> tuple[float, float, tuple[float, ...]]:
    """The Gamma(shape, rate) per year on a constant rate whose probabilities of the event by
    each time (in years) come closest to those given, in least squares, and the probabilities it
    gives: exactly those given when they have two times and a Gamma meets both.

    P(by t) = 1 - (rate / (rate + t))^shape is the chance of an event by t when its waiting time
    is exponential with a Gamma-distributed rate.
    """
    if len(years) != len(probabilities) or len(years) < 2:
        raise ValueError("probabilities by at least two dates are needed")
    best = None
    hazard = [-math.log1p(-p) / t for t, p in zip(years, probabilities, strict=True)]
    mean = sum(hazard) / len(hazard)
    for shape in (1.0, 0.3, 3.0, 30.0):
        point = _least_squares(years, probabilities, (math.log(shape), math.log(mean)))
        size = _squares(years, probabilities, point)
        if best is None or size < best[0]:
            best = (size, point)
    log_shape, log_mean = best[1]
    shape = math.exp(log_shape)
    rate = shape / math.exp(log_mean)
    return shape, rate, tuple(probability_by(shape, rate, t) for t in years)


def _by_and_slopes(t: float, log_shape: float, log_mean: float) -> tuple[float, float, float]:
    """P(by t) and its derivatives in log(shape) and log(mean rate)."""
    shape = math.exp(log_shape)
    x = t * math.exp(log_mean) / shape  # t / rate
    survival = math.exp(-shape * math.log1p(x))
    return (
        -math.expm1(-shape * math.log1p(x)),
        shape * survival * (math.log1p(x) - x / (1 + x)),
        shape * survival * x / (1 + x),
    )


def _squares(years, probabilities, point) -> float:
    return sum(
        (_by_and_slopes(t, *point)[0] - p) ** 2 for t, p in zip(years, probabilities, strict=True)
    )


def _least_squares(years, probabilities, start) -> tuple[float, float]:
    """Levenberg-Marquardt in (log shape, log mean rate), kept inside the box searched."""

    def inside(point):
        return (
            min(max(point[0], _LOG_SHAPE[0]), _LOG_SHAPE[1]),
            min(max(point[1], _LOG_MEAN[0]), _LOG_MEAN[1]),
        )

    point = inside(start)
    size = _squares(years, probabilities, point)
    damping = 1e-3
    for _ in range(500):
        # Normal equations of the linearised problem: (J'J + damping diag(J'J)) step = -J'r.
        a11 = a12 = a22 = g1 = g2 = 0.0
        for t, p in zip(years, probabilities, strict=True):
            value, d1, d2 = _by_and_slopes(t, *point)
            residual = value - p
            a11, a12, a22 = a11 + d1 * d1, a12 + d1 * d2, a22 + d2 * d2
            g1, g2 = g1 + d1 * residual, g2 + d2 * residual
        improved = False
        while damping < 1e12:
            m11, m22 = a11 * (1 + damping) + 1e-300, a22 * (1 + damping) + 1e-300
            determinant = m11 * m22 - a12 * a12
            if determinant <= 0:
                damping *= 10
                continue
            step = ((-g1 * m22 + g2 * a12) / determinant, (-g2 * m11 + g1 * a12) / determinant)
            trial = inside((point[0] + step[0], point[1] + step[1]))
            trial_size = _squares(years, probabilities, trial)
            if trial_size < size:
                moved = max(abs(trial[0] - point[0]), abs(trial[1] - point[1]))
                point, size, improved = trial, trial_size, True
                damping = max(damping / 10, 1e-12)
                break
            damping *= 10
        if not improved or size < 1e-30 or moved < 1e-13:
            break
    return point
