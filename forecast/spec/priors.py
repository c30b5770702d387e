"""The ways an analyst can state a prior belief, each turned into Beta or Dirichlet parameters.

Every function raises ValueError with a message that says what is allowed; the validator adds
where in the file the prior stands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from forecast.spec.beta_math import regularized_incomplete_beta, solve_two_equations


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
