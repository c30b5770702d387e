"""Event outcomes against closed forms.

A rate with a Gamma(a, b) prior (b per year) and evidence of n events in T years has the
posterior Gamma(a + n, b + T), and the event happens within t years with probability
1 - E[exp(-rate * t)] = 1 - (b' / (b' + t))^a' under Gamma(a', b'). Rates in separate periods
are independent, so the probability by a date multiplies one such factor per period. One run of
one file checks them all (the outcomes are independent of each other); every tolerance is
Z Monte Carlo standard errors (tests/test_engine.py).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from helpers import importance

from forecast.pipeline import RunOptions, compute_summary
from forecast.spec import parse_scenario

Z = 4.0
pytestmark = pytest.mark.slow

AS_OF = dt.date(2018, 1, 1)
FILE = """
version: 1
title: events against closed forms
as_of: 2018-01-01
horizon: 2020-01-01
outcomes:
  counted:
    kind: event
    checkpoints: [2019-01-01]
    prior: {rate: {gamma: [2, 1]}, per: year}
  waited:
    kind: event
    prior: {rate: {gamma: [2, 1]}, per: year}
  stepped:
    kind: event
    checkpoints: [2018-07-01, 2019-01-01]
    prior:
      rate:
        - {until: 2018-07-01, rate: {gamma: [2, 4]}}
        - {rate: {gamma: [3, 1]}}
      per: year
  follows:
    given: [counted]
    prior:
      counted: {beta: [6, 4]}
      otherwise: {beta: [1, 9]}
evidence:
  - outcome: counted
    events: 3
    exposure: {years: 2}
  - outcome: waited
    waiting_times: [{years: 1}, {years: 2, censored: true}]
  - outcome: stepped
    period: 2020-01-01
    events: 2
    exposure: {years: 1}
scenarios:
  counted_early: "counted by 2019-01-01"
  counted_early_and_follows: "counted by 2019-01-01 and follows"
  counted_between: "counted by 2019-01-01 and not counted by 2018-07-01"
  counted_impossible: "counted by 2018-07-01 and not counted by 2019-01-01"
"""


def years(date: str) -> float:
    return (dt.date.fromisoformat(date) - AS_OF).days / 365.25


def by(t: float, shape: float, rate: float) -> float:
    """P(the event happens within t years) for a Gamma(shape, rate) rate."""
    return 1 - (rate / (rate + t)) ** shape


def close(stats: dict, exact: float) -> None:
    assert abs(stats["mean"] - exact) < Z * stats["mcse"], (stats["mean"], exact, stats["mcse"])


@pytest.fixture(scope="module")
def summary() -> dict:
    scenario = parse_scenario(FILE.encode(), "events.yaml")
    result, _ = compute_summary(scenario, RunOptions(seed=3, draws=2000, chains=4, tune=1000))
    assert result["diagnostics"]["ok"], result["diagnostics"]["warnings"]
    return result


def test_counts_give_the_conjugate_posterior(summary):
    # Gamma(2, 1) and 3 events in 2 years: Gamma(5, 3), mean rate 5/3.
    counted = summary["outcomes"]["counted"]
    assert counted["kind"] == "event"
    close(counted["rate"]["posterior"], 5 / 3)
    close(counted["rate"]["prior"], 2.0)
    close(counted["by"]["2019-01-01"]["posterior"], by(years("2019-01-01"), 5, 3))
    close(counted["posterior"], by(years("2020-01-01"), 5, 3))


def test_prior_curve(summary):
    curve = summary["outcomes"]["counted"]["curve"]["prior"]
    stats_by_date = {point["date"]: point for point in curve}
    assert curve[0]["date"] == "2018-01-01" and curve[-1]["date"] == "2020-01-01"
    dates = [dt.date.fromisoformat(p["date"]) for p in curve]
    assert max(np.diff(dates)).days <= 31, "at least monthly"
    # 10,000 independent prior draws: the standard error of a probability is below 0.005.
    for date in ("2018-04-01", "2019-01-01", "2020-01-01"):
        assert abs(stats_by_date[date]["mean"] - by(years(date), 2, 1)) < Z * 0.005


def test_censored_waiting_time(summary):
    # One waiting time of a year that ended, one of two years that had not: 1 event in 3 years.
    waited = summary["outcomes"]["waited"]
    close(waited["rate"]["posterior"], 3 / 4)
    close(waited["posterior"], by(years("2020-01-01"), 3, 4))


def test_piecewise_rate(summary):
    # Before 2018-07-01 Gamma(2, 4) per year, untouched; after, Gamma(3, 1) and 2 events in a
    # year: Gamma(5, 2).
    stepped = summary["outcomes"]["stepped"]
    first, second = stepped["rate"]["periods"]
    assert (first["from"], first["until"]) == ("2018-01-01", "2018-07-01")
    evidence = summary["evidence"][2]
    assert evidence["data"]["period"] == {"from": "2018-07-01", "until": "2020-01-01"}
    assert summary["evidence"][0]["data"] == {"events": 3, "years": 2.0, "period": None}
    close(first["posterior"], 2 / 4)
    close(second["posterior"], 5 / 2)
    t_break = years("2018-07-01")
    close(stepped["by"]["2018-07-01"]["posterior"], by(t_break, 2, 4))
    for date in ("2019-01-01", "2020-01-01"):
        exact = 1 - (1 - by(t_break, 2, 4)) * (1 - by(years(date) - t_break, 5, 2))
        close(stepped["by"][date]["posterior"], exact)


def test_an_event_as_a_parent_and_by_a_date(summary):
    p_counted = by(years("2020-01-01"), 5, 3)
    close(summary["outcomes"]["follows"]["posterior"], 0.6 * p_counted + 0.1 * (1 - p_counted))
    early = by(years("2019-01-01"), 5, 3)
    close(summary["scenarios"]["counted_early"]["posterior"], early)
    # Happening by 2019 means happening by the horizon: `follows` then has its first row.
    close(summary["scenarios"]["counted_early_and_follows"]["posterior"], 0.6 * early)
    # One waiting time: happening by mid-2018 means happening by 2019, never the other way.
    earlier = by(years("2018-07-01"), 5, 3)
    close(summary["scenarios"]["counted_between"]["posterior"], early - earlier)
    impossible = summary["scenarios"]["counted_impossible"]
    assert impossible["posterior"]["mean"] == impossible["prior"]["mean"] == 0.0


def test_sensitivity_moves_an_event_rate(summary):
    tornado = {entry["input"]: entry for entry in summary["sensitivity"]["tornado"]}
    entry = tornado["outcomes.counted.prior"]
    assert entry["kind"] == "rate"
    assert entry["values"] == pytest.approx([1.0, 4.0])
    low, high = entry["effects"]["counted"]["low"], entry["effects"]["counted"]["high"]
    assert low < summary["outcomes"]["counted"]["posterior"]["mean"] < high
    assert "outcomes.stepped.prior.rate[1]" in tornado


POOLED = """
version: 1
title: rates pooled from a reference class
as_of: 2018-01-01
horizon: 2020-01-01
outcomes:
  pooled:
    kind: event
    prior: {rate: {gamma: [2, 2]}, per: year}
  complete:
    kind: event
    prior: {rate: {gamma: [2, 2]}, per: year}
reference_classes:
  - outcome: pooled
    cases:
      - {name: quiet, events: 0, exposure: {years: 3}}
      - {name: busy, events: 4, exposure: {years: 2}}
      - {name: slow, waiting_time: {years: 1.5}}
  - outcome: complete
    pooling: complete
    cases:
      - {name: one, events: 1, exposure: {years: 2}}
      - {name: two, waiting_times: [{years: 1}, {months: 6, censored: true}]}
"""
CASES = [(0, 3.0), (4, 2.0), (1, 1.5)]


def test_partially_pooled_rate_matches_importance_sampling():
    from scipy.special import gammaln

    scenario = parse_scenario(POOLED.encode(), "pooled.yaml")
    summary, _ = compute_summary(scenario, RunOptions(seed=5, draws=1000, chains=4, tune=1000))
    diagnostics = summary["diagnostics"]
    assert diagnostics["max_rhat"] < 1.01 and diagnostics["min_ess_bulk"] > 400
    assert diagnostics["divergences"] <= 0.005 * 4000
    # The model by forward draws from its prior, weighted by the cases' Gamma-Poisson likelihood.
    rng = np.random.default_rng(13)
    n = 2_000_000
    mean = rng.gamma(2, 1 / 2, n)
    log_kappa = rng.exponential(1 / 0.5, 2 * n)
    kappa = np.exp(log_kappa[log_kappa <= 20][:n])
    b = kappa / mean
    rate = rng.gamma(kappa, 1 / b)
    log_weight = sum(
        gammaln(kappa + events)
        - gammaln(kappa)
        + kappa * np.log(b)
        - (kappa + events) * np.log(b + t)
        for events, t in CASES
    )
    t_h = years("2020-01-01")
    expected = importance({"mean": mean, "rate": rate, "by": -np.expm1(-rate * t_h)}, log_weight)
    reference = summary["reference_classes"][0]
    pooled = summary["outcomes"]["pooled"]

    def near(stats: dict, pair) -> None:
        se = np.hypot(stats["mcse"], pair[1])
        assert abs(stats["mean"] - pair[0]) < Z * se, (stats["mean"], pair, se)

    near(reference["class_mean"], expected["mean"])
    near(pooled["rate"]["posterior"], expected["rate"])
    near(pooled["posterior"], expected["by"])
    # Each case's pooled rate lies between its own rate and the class mean.
    for case in reference["cases"]:
        low, high = sorted([case["raw_rate"], reference["class_mean"]["mean"]])
        assert low <= case["pooled"]["mean"] <= high
    # Complete pooling: the cases are one record, 2 events in 3.5 years: Gamma(4, 5.5).
    close(summary["outcomes"]["complete"]["rate"]["posterior"], 4 / 5.5)
    close(summary["reference_classes"][1]["class_mean"], 4 / 5.5)


def test_periods_are_labelled_by_this_files_dates(summary):
    # The same structure with another date where the rate changes reuses the compiled model
    # (after the fixture's run); its draws are still labelled with this file's dates.
    text = FILE.replace("until: 2018-07-01", "until: 2018-09-01")
    scenario = parse_scenario(text.encode(), "events.yaml")
    moved, tree = compute_summary(scenario, RunOptions(seed=3, draws=200, chains=2, tune=200))
    assert moved["sampler"]["compiled_model_reused"]
    labels = list(tree["posterior"]["stepped.period"].values)
    assert labels == ["2018-01-01 to 2018-09-01", "2018-09-01 to 2020-01-01"]
    assert moved["outcomes"]["stepped"]["rate"]["periods"][0]["until"] == "2018-09-01"
