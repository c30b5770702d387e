"""Scores over many forecasts: means over shared items, calibration bins, Murphy's decomposition.

Everything here takes plain numbers (a score per item, or yes/no forecasts as (probability,
happened) pairs) and returns plain numbers; which score or which run they came from is the
caller's business.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

BINS = 10  # calibration bins of equal width: [0, 0.1), [0.1, 0.2), ..., [0.9, 1]
LEVEL = 0.9  # of each bin's interval for its observed frequency


def mean_over_shared(scores: Sequence[Mapping[str, float]], forecasters: Sequence[str]):
    """Each forecaster's mean score over the items that every one of `forecasters` scored.

    `scores` holds one mapping forecaster -> score per item. Returns (n, {forecaster: mean}),
    the means None when no item is shared. A score of -inf makes its forecaster's mean -inf.
    """
    shared = [item for item in scores if all(name in item for name in forecasters)]
    if not shared:
        return 0, {name: None for name in forecasters}
    return len(shared), {
        name: math.fsum(item[name] for item in shared) / len(shared) for name in forecasters
    }


def bin_index(p: float, bins: int = BINS) -> int:
    """The bin a probability falls in; 1.0 in the last, each edge in the bin it opens."""
    # A hair of tolerance, so that 0.3 (stored as 0.29999...) falls in [0.3, 0.4) as written.
    return min(int(math.floor(p * bins + 1e-9)), bins - 1)


@dataclass(frozen=True)
class CalibrationBin:
    low: float  # the bin's edges
    high: float
    n: int  # forecasts in the bin
    happened: int  # of which came true
    forecast: float  # their mean probability
    interval: tuple[float, float]  # LEVEL interval for the frequency, from n and happened

    @property
    def observed(self) -> float:
        return self.happened / self.n


def jeffreys_interval(happened: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """The Jeffreys interval for a binomial proportion (Brown, Cai and DasGupta 2001).

    The equal-tailed interval of the Beta(k + 1/2, n - k + 1/2) posterior, with the lower end set
    to 0 when k = 0 and the upper end to 1 when k = n, as they recommend. Its coverage stays near
    the nominal level for the small counts of a forecaster's bins, where the Wald interval fails.
    """
    if n <= 0 or not 0 <= happened <= n:
        raise ValueError(f"need 0 <= happened <= n and n >= 1, got {happened} of {n}")
    from scipy.stats import beta

    tail = (1 - level) / 2
    low = 0.0 if happened == 0 else float(beta.ppf(tail, happened + 0.5, n - happened + 0.5))
    high = 1.0 if happened == n else float(beta.ppf(1 - tail, happened + 0.5, n - happened + 0.5))
    return low, high


def compute_calibration(
    pairs: Sequence[tuple[float, bool]], *, bins: int = BINS, level: float = LEVEL
) -> list[CalibrationBin]:
    """The non-empty bins of yes/no forecasts (probability, happened), lowest first."""
    grouped: dict[int, list[tuple[float, bool]]] = {}
    for p, happened in pairs:
        grouped.setdefault(bin_index(p, bins), []).append((p, happened))
    found = []
    for index in sorted(grouped):
        members = grouped[index]
        n, yes = len(members), sum(1 for _, happened in members if happened)
        found.append(
            CalibrationBin(
                low=index / bins,
                high=(index + 1) / bins,
                n=n,
                happened=yes,
                forecast=math.fsum(p for p, _ in members) / n,
                interval=jeffreys_interval(yes, n, level),
            )
        )
    return found


@dataclass(frozen=True)
class Decomposition:
    """Murphy's (1973) partition of the Brier score of yes/no forecasts grouped in bins.

    brier = reliability - resolution + uncertainty + within_bins, where within_bins is zero when
    every forecast in a bin is the same number (Stephenson, Coelho and Jolliffe 2008 give its two
    parts); it is reported so that the three terms can be checked against the score.
    """

    n: int
    brier: float
    reliability: float  # lower is better: how far each bin's frequency is from its forecasts
    resolution: float  # higher is better: how far the bins' frequencies are from the base rate
    uncertainty: float  # the base rate's variance, o(1 - o): the forecasts cannot change it
    within_bins: float


def murphy_decomposition(
    pairs: Sequence[tuple[float, bool]], *, bins: int = BINS
) -> Decomposition | None:
    """Murphy's decomposition of the Brier score of yes/no forecasts; None without forecasts."""
    if not pairs:
        return None
    n = len(pairs)
    base_rate = sum(1 for _, happened in pairs if happened) / n
    brier = math.fsum((p - (1.0 if happened else 0.0)) ** 2 for p, happened in pairs) / n
    reliability = resolution = 0.0
    for group in compute_calibration(pairs, bins=bins):
        weight = group.n / n
        reliability += weight * (group.forecast - group.observed) ** 2
        resolution += weight * (group.observed - base_rate) ** 2
    uncertainty = base_rate * (1 - base_rate)
    return Decomposition(
        n=n,
        brier=brier,
        reliability=reliability,
        resolution=resolution,
        uncertainty=uncertainty,
        within_bins=brier - (reliability - resolution + uncertainty),
    )
