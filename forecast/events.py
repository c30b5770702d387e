"""Event outcomes: a waiting time from `as_of`, at a rate that is constant within each period.

An event's rate in a condition row is lambda_k events per year in period k of its timeline
(`spec.Timeline`); the cumulative hazard by date d is H(d) = sum_k lambda_k * e_k(d), e_k(d) the
years of period k before d, and the event happens by d with probability 1 - exp(-H(d)). Evidence
on a rate is `events` seen in `years` of exposure: Poisson counts and waiting times (a censored
one adds exposure without an event) both have the likelihood lambda^events * exp(-lambda * years).

The functions only index, multiply and take logarithms, so the model (PyTensor tensors, with the
numbers as data) and the summaries (NumPy arrays of draws) share them, as `forecast.likelihood`'s
are shared.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from forecast import probability
from forecast.spec.scenario import PER_DAYS, YEAR_DAYS, Exposure, Outcome, Timeline


def exposure_data(exposure: Exposure) -> np.ndarray:
    """The numbers of an item on a rate, as the model takes them: (events, years)."""
    return np.array([exposure.events, exposure.years], dtype=float)


def probability_by(rates, exposure) -> object:
    """P(the event happens by a date) from rates shaped (..., period) and the years of each
    period before that date: 1 - exp(-H), computed as -expm1(-H) to keep small ones exact."""
    xp = probability.array_library(rates)
    return -xp.expm1(-(rates * exposure).sum(axis=-1))


def rate_log_likelihood(data, weight, rate):
    """weight * (events * log(rate) - rate * years): the log-likelihood of `data` = (events,
    years) at `rate`, without the constant term of the Poisson (it does not depend on the rate)."""
    xp = probability.array_library(rate)
    if xp is np:
        from scipy.special import xlogy
    else:
        from pytensor.tensor.special import xlogy
    events, years = data[..., 0], data[..., 1]
    # An item left out has weight 0; its term must be exactly 0 (0 * -inf would be NaN).
    safe = xp.where(xp.greater(weight, 0), rate, 1.0)
    return weight * (xlogy(events, safe) - safe * years)


def pooled_log_likelihood(events, years, shape, mean):
    """The log-likelihood of each case's (events, years) given a Gamma population of rates with
    `shape` a and `mean` mu, each case's own rate integrated out (Gamma-Poisson):
    log Gamma(a + n) - log Gamma(a) + a log b - (a + n) log(b + T), with b = a / mu."""
    xp = probability.array_library(shape)
    if xp is np:
        from scipy.special import gammaln
    else:
        from pytensor.tensor import gammaln
    rate = shape / mean
    return (
        gammaln(shape + events)
        - gammaln(shape)
        + shape * xp.log(rate)
        - (shape + events) * xp.log(rate + years)
    ).sum(axis=-1)


def per_year(per: str) -> float:
    """How many of `per` make a year: a rate per year divided by this is a rate per `per`."""
    return YEAR_DAYS / PER_DAYS[per]


def curve_dates(timeline: Timeline) -> list[dt.date]:
    """as_of, then the same day of every month up to the horizon, the breaks and checkpoints,
    and the horizon: at least monthly, and every date a report marks."""
    dates = {timeline.as_of, timeline.horizon, *timeline.breaks, *timeline.checkpoints}
    year, month = timeline.as_of.year, timeline.as_of.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        day = min(timeline.as_of.day, 28)
        date = dt.date(year, month, day)
        if date >= timeline.horizon:
            break
        dates.add(date)
    return sorted(dates)


def row_shares(draws, outcome: Outcome) -> np.ndarray:
    """P(the parents select each condition row) per draw, shaped (chain, draw, row)."""
    if not outcome.parents:
        return np.ones((*draws.shape, 1))
    table = draws.joint(list(outcome.parents)).reshape(*draws.shape, -1)
    shares = np.zeros((*draws.shape, len(outcome.rows)))
    for position, row in enumerate(outcome.row_of_combination):
        shares[..., row] += table[..., position]
    return shares


def by_date(draws, outcome: Outcome, date: dt.date, shares: np.ndarray | None = None):
    """P(the event happens by `date`) per draw, shaped (chain, draw), over its parents: each
    row weighted by the probability that the parents select it (`row_shares`, which may be
    given: it is the same for every date)."""
    rates = draws.rates[outcome.name]  # (chain, draw, row, period)
    by_row = probability_by(rates, np.asarray(outcome.timeline.exposure(date)))
    if shares is None:
        shares = row_shares(draws, outcome)
    return (shares * by_row).sum(axis=-1)


def share_by(draws, outcome: Outcome, date: dt.date, later: dt.date) -> np.ndarray:
    """P(by `date` | by `later`) per draw and row, shaped (chain, draw, row): how a world where
    the event happens by `later` splits between before and after `date` (`date` <= `later`)."""
    rates = draws.rates[outcome.name]
    timeline = outcome.timeline
    hazard_at = np.sum(rates * np.asarray(timeline.exposure(date)), axis=-1)
    hazard_end = np.sum(rates * np.asarray(timeline.exposure(later)), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.expm1(-hazard_at) / np.expm1(-hazard_end)
    # A rate so small that exp(-H) rounds to 1: the limit of the ratio, H(d) / H(later).
    limit = np.divide(hazard_at, hazard_end, out=np.zeros_like(hazard_at), where=hazard_end > 0)
    return np.where(np.isfinite(ratio), ratio, limit)


def summarize_event(outcome: Outcome, posterior, prior, describe) -> dict:
    """The fields of an event outcome's entry in summary.json beyond a binary outcome's: its
    checkpoints (`by`), its rate and its curve (docs/run-output.md). `describe` gives STATS."""
    timeline = outcome.timeline
    stats = {}  # (side, date) -> STATS; the curve's dates include every checkpoint
    for side, draws in (("prior", prior), ("posterior", posterior)):
        shares = row_shares(draws, outcome)  # the same for every date
        for date in curve_dates(timeline):
            values = by_date(draws, outcome, date, shares)
            stats[side, date] = describe(values, independent=side == "prior")
    return {
        "per": timeline.per,
        "checkpoints": [date.isoformat() for date in timeline.checkpoints],
        "by": {
            date.isoformat(): {side: stats[side, date] for side in ("prior", "posterior")}
            for date in timeline.checkpoints
        },
        "rate": None if outcome.parents else rate_entry(outcome, 0, posterior, prior, describe),
        "curve": {
            side: [
                {"date": date.isoformat(), "mean": point["mean"], "hdi90": point["hdi90"]}
                for (on, date), point in stats.items()
                if on == side
            ]
            for side in ("prior", "posterior")
        },
    }


def period_entry(outcome: Outcome, period: int) -> dict | None:
    """The dates of one period of an event's timeline, where its rate changes; None where it
    has one rate from as_of to the horizon."""
    timeline = outcome.timeline
    if not timeline.breaks:
        return None
    start, end = timeline.period_dates[period]
    return {"from": start.isoformat(), "until": end.isoformat()}


def rate_entry(outcome: Outcome, row: int, posterior, prior, describe) -> dict:
    """A condition row's rate in events per the outcome's unit: one STATS pair for a constant
    rate, one per period where it changes."""
    timeline = outcome.timeline
    scale = per_year(timeline.per)

    def period(k: int) -> dict:
        return _prior_and_posterior(
            lambda draws: draws.rates[outcome.name][:, :, row, k] / scale,
            posterior,
            prior,
            describe,
        )

    if not timeline.breaks:
        return {"per": timeline.per, **period(0)}
    return {
        "per": timeline.per,
        "periods": [
            {**period_entry(outcome, k), **period(k)} for k in range(len(timeline.periods))
        ],
    }


def _prior_and_posterior(pick, posterior, prior, describe) -> dict:
    """STATS of one quantity of the draws, under the prior (forward draws) and the posterior."""
    return {
        "prior": describe(pick(prior), independent=True),
        "posterior": describe(pick(posterior)),
    }
