"""Event outcomes (`kind: event`) as the spec reads them: rates per unit kept per year, rates that
change at dates, probabilities by dates fitted to a Gamma, evidence and reference classes on a
rate, `NAME by DATE` in scenarios, and one located message for each mistake.

The bad files are in tests/data/bad/ with the others; BAD_EVENT_FILES is their table, which
test_spec_errors.py also runs through the command line.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from scipy import special, stats

from forecast.spec import ScenarioError, load_scenario, load_what_if, parse_scenario
from forecast.spec.expressions import By, ExpressionError, Happens, Not, evaluate, parse
from forecast.spec.gamma_math import regularized_lower_incomplete_gamma
from forecast.spec.overrides import command_line_what_if, read_set_options
from forecast.spec.priors import gamma_from_dates, gamma_from_interval, probability_by
from forecast.spec.scenario import YEAR_DAYS, Exposure, RateCase, WaitingTime
from forecast.spec.schema import scenario_schema

REPO = Path(__file__).resolve().parents[1]
BAD = REPO / "tests" / "data" / "bad"
AS_OF = dt.date(2018, 5, 20)
HORIZON = dt.date(2020, 6, 12)


def years(date: dt.date) -> float:
    return (date - AS_OF).days / YEAR_DAYS


def scenario(body: str, *, dates: str = "as_of: 2018-05-20\nhorizon: 2020-06-12\n"):
    text = 'version: 1\ntitle: "T"\n' + dates + textwrap.dedent(body)
    return parse_scenario(text.encode("utf-8"), "test.yaml")


def problems(body: str, **options) -> list[str]:
    """Every problem of the file as LINE:COL: KEY -> PATH: message."""
    with pytest.raises(ScenarioError) as caught:
        scenario(body, **options)
    return [str(p).removeprefix("test.yaml:") for p in caught.value.problems]


EVENT = """
outcomes:
  summit_held:
    prior: {mean: 0.6, sd: 0.15}
  second_summit:
    kind: event
    label: "A second summit"
    given: [summit_held]
    checkpoints: [2018-12-31, 2019-03-31]
    prior:
      summit_held: {rate: {mean: 1.0, sd: 0.6}, per: year}
      otherwise: {rate: {gamma: [1, 20]}, per: year}
  tests_resume:
    kind: event
    prior:
      rate:
        - {until: 2018-11-06, rate: {gamma: [2, 3]}}
        - {until: 2019-06-30, rate: {interval: [0.01, 0.3]}}
        - {rate: {mean: 0.5, sd: 0.3}}
      per: month
  sanctions_eased:
    kind: event
    prior: {by: {2019-06-30: 0.1, 2020-06-12: 0.15}, per: week}
evidence:
  - outcome: second_summit
    when: summit_held
    events: 3
    exposure: {years: 2}
    weight: 0.5
    source: "Summits of other leaders"
  - outcome: sanctions_eased
    waiting_times: [{years: 1.5}, {months: 8, censored: true}, {days: 73.05}]
  - outcome: tests_resume
    period: 2020-06-12
    events: 1
    exposure: {weeks: 26}
reference_classes:
  - outcome: tests_resume
    period: 2018-11-06
    pooling: complete
    cases:
      - {name: "a", events: 2, exposure: {years: 3}}
      - {name: "b", waiting_time: {years: 1, censored: true}}
      - {name: "c", waiting_times: [{months: 6}, {months: 3, censored: true}]}
scenarios:
  early: "second_summit by 2019-03-31 and not tests_resume"
  late: "summit_held and not second_summit by 2020-06-12"
"""


# -- outcomes, priors and timelines ---------------------------------------------------------------


def test_an_event_is_binary_everywhere_but_its_prior():
    outcome = scenario(EVENT).outcome("second_summit")
    assert outcome.is_event and outcome.is_binary and outcome.cardinality == 2
    assert outcome.categories == () and outcome.parents == ("summit_held",)
    assert [row.key for row in outcome.rows] == ["summit_held", "otherwise"]
    assert outcome.row_of_combination == (1, 0)
    assert outcome.label == "A second summit"


def test_timeline_has_the_checkpoints_then_the_horizon():
    timeline = scenario(EVENT).outcome("second_summit").timeline
    assert timeline.as_of == AS_OF and timeline.horizon == HORIZON
    assert timeline.breaks == ()
    assert timeline.checkpoints == (dt.date(2018, 12, 31), dt.date(2019, 3, 31), HORIZON)
    assert timeline.per == "year"


def test_the_horizon_is_not_added_twice_and_is_the_only_checkpoint_by_default():
    listed = scenario(
        """
        outcomes:
          x:
            kind: event
            checkpoints: [2019-01-01, 2020-06-12]
            prior: {rate: {gamma: [1, 1]}, per: year}
          y:
            kind: event
            prior: {rate: {gamma: [1, 1]}, per: year}
        """
    )
    assert listed.outcome("x").timeline.checkpoints == (dt.date(2019, 1, 1), HORIZON)
    assert listed.outcome("y").timeline.checkpoints == (HORIZON,)


def test_mean_and_sd_give_shape_m_over_s_squared_and_rate_m_over_s2():
    (period,) = scenario(EVENT).outcome("second_summit").rows[0].prior.periods
    assert period.shape == pytest.approx((1.0 / 0.6) ** 2)
    assert period.rate == pytest.approx(1.0 / 0.6**2)
    assert period.mean == pytest.approx(1.0)
    assert period.stated == "mean 1 per year, sd 0.6"


@pytest.mark.parametrize(
    ("per", "days"), [("day", 1.0), ("week", 7.0), ("month", YEAR_DAYS / 12), ("year", YEAR_DAYS)]
)
def test_rates_per_any_unit_are_kept_per_year(per, days):
    # Gamma(2, 4) per unit: the mean rate is 0.5 per unit, 0.5 * (days in a year / days in
    # the unit) per year.
    prior = (
        scenario(
            f"""
        outcomes:
          x:
            kind: event
            prior: {{rate: {{gamma: [2, 4]}}, per: {per}}}
        """
        )
        .outcome("x")
        .rows[0]
        .prior
    )
    (period,) = prior.periods
    assert period.shape == 2
    assert period.rate == pytest.approx(4 * days / YEAR_DAYS)
    assert period.mean == pytest.approx(0.5 * YEAR_DAYS / days)
    assert prior.per == per and period.stated == f"Gamma(2, 4) per {per}"


def test_interval_gives_the_gamma_with_those_quantiles():
    shape, rate = gamma_from_interval(0.5, 3.0, 0.8)
    assert stats.gamma.ppf([0.1, 0.9], shape, scale=1 / rate) == pytest.approx([0.5, 3.0])
    # The same belief per month is twelve times the rate parameter per year... divided by 12.
    prior = (
        scenario(
            """
        outcomes:
          x:
            kind: event
            prior: {rate: {interval: [0.5, 3], mass: 0.8}, per: month}
        """
        )
        .outcome("x")
        .rows[0]
        .prior
    )
    (period,) = prior.periods
    assert period.shape == pytest.approx(shape)
    assert period.rate == pytest.approx(rate / 12)
    assert period.stated == "80% between 0.5 and 3 per month"


@pytest.mark.parametrize(("lo", "hi", "mass"), [(0.01, 0.3, 0.9), (1, 1.5, 0.5), (1e-4, 10, 0.95)])
def test_interval_fits_match_scipy(lo, hi, mass):
    shape, rate = gamma_from_interval(lo, hi, mass)
    tail = (1 - mass) / 2
    assert special.gammainc(shape, rate * lo) == pytest.approx(tail, abs=1e-8)
    assert special.gammainc(shape, rate * hi) == pytest.approx(1 - tail, abs=1e-8)


def test_piecewise_rate_gives_breaks_and_one_gamma_per_period():
    outcome = scenario(EVENT).outcome("tests_resume")
    assert outcome.timeline.breaks == (dt.date(2018, 11, 6), dt.date(2019, 6, 30))
    assert outcome.timeline.per == "month"
    prior = outcome.rows[0].prior
    assert len(prior.periods) == 3
    assert prior.periods[0].shape == 2 and prior.periods[0].rate == pytest.approx(3 / 12)
    assert prior.periods[2].mean == pytest.approx(0.5 * 12)
    assert prior.stated.startswith("until 2018-11-06: Gamma(2, 3) per month; until 2019-06-30: ")


def test_rows_of_one_event_share_their_until_dates():
    outcome = scenario(
        """
        outcomes:
          a:
            prior: {beta: [1, 1]}
          x:
            kind: event
            given: a
            prior:
              a:
                rate: [{until: 2019-01-01, rate: {gamma: [1, 1]}}, {rate: {gamma: [2, 1]}}]
                per: week
              not a:
                rate: [{until: 2019-01-01, rate: {gamma: [1, 2]}}, {rate: {gamma: [2, 2]}}]
                per: year
        """
    ).outcome("x")
    assert outcome.timeline.breaks == (dt.date(2019, 1, 1),)
    assert outcome.timeline.per == "week"  # the first row's
    assert [len(row.prior.periods) for row in outcome.rows] == [2, 2]


def test_two_probabilities_by_dates_give_the_gamma_that_meets_both():
    # Gamma(2, 1) per year gives 1 - (1 / (1 + t))^2 by t years.
    dates = (dt.date(2019, 6, 30), HORIZON)
    stated = [1 - (1 / (1 + years(d))) ** 2 for d in dates]
    text = ", ".join(f"{d}: {p!r}" for d, p in zip(dates, stated, strict=True))
    prior = (
        scenario(
            f"""
        outcomes:
          x:
            kind: event
            prior: {{by: {{{text}}}}}
        """
        )
        .outcome("x")
        .rows[0]
        .prior
    )
    (period,) = prior.periods
    assert period.shape == pytest.approx(2, rel=1e-6)
    assert period.rate == pytest.approx(1, rel=1e-6)
    assert prior.per == "year"


def test_probabilities_by_three_dates_are_fitted_in_least_squares():
    times = (0.5, 1.0, 2.0)
    exact = tuple(probability_by(3, 2, t) for t in times)
    shape, rate, fitted = gamma_from_dates(times, exact)
    assert (shape, rate) == pytest.approx((3, 2), rel=1e-6)
    assert fitted == pytest.approx(exact, abs=1e-10)
    # Moved off the curve, the fit is the least-squares one: no small change improves it.
    moved = (exact[0] + 0.004, exact[1] - 0.003, exact[2] + 0.002)
    shape, rate, fitted = gamma_from_dates(times, moved)

    def squares(a, b):
        return sum((probability_by(a, b, t) - p) ** 2 for t, p in zip(times, moved, strict=True))

    best = squares(shape, rate)
    for da, db in [(1.001, 1), (0.999, 1), (1, 1.001), (1, 0.999), (1.001, 1.001)]:
        assert squares(shape * da, rate * db) >= best


def test_probability_by_is_the_closed_form():
    assert probability_by(5, 3, 1.0) == pytest.approx(1 - 0.75**5)
    assert probability_by(1, 1, 1.0) == pytest.approx(0.5)


def test_by_dates_state_the_analysts_words_and_the_unit_reports_use():
    prior = scenario(EVENT).outcome("sanctions_eased").rows[0].prior
    assert prior.stated == "0.1 by 2019-06-30, 0.15 by 2020-06-12"
    assert prior.per == "week"
    (period,) = prior.periods
    by = [
        probability_by(period.shape, period.rate, years(d)) for d in (dt.date(2019, 6, 30), HORIZON)
    ]
    assert by == pytest.approx([0.1, 0.15], abs=1e-6)


@pytest.mark.parametrize("kind", ["binary", "categorical"])
def test_kind_may_be_written_for_the_kinds_inferred_today(kind):
    body = (
        "categories: [p, q]\n    prior: {dirichlet: [1, 1]}"
        if kind == "categorical"
        else ("prior: {beta: [1, 1]}")
    )
    outcome = scenario(f"outcomes:\n  x:\n    kind: {kind}\n    {body}\n").outcome("x")
    assert outcome.timeline is None and outcome.is_binary == (kind == "binary")


def test_an_event_may_be_a_parent_like_a_binary_outcome():
    child = scenario(
        """
        outcomes:
          x:
            kind: event
            prior: {rate: {gamma: [1, 1]}, per: year}
          y:
            given: x
            prior:
              x: {beta: [2, 1]}
              not x: {beta: [1, 2]}
        """
    ).outcome("y")
    assert child.parents == ("x",) and child.row_given(0) == {"x": True}


# -- evidence and reference classes ---------------------------------------------------------------


def test_events_in_an_exposure():
    evidence = scenario(EVENT).evidence[0]
    assert (evidence.successes, evidence.trials, evidence.counts) == (None, None, None)
    assert evidence.row == 0 and evidence.when == "summit_held" and evidence.weight == 0.5
    assert evidence.exposure == Exposure(3, 2.0, (), 0)
    assert evidence.source == "Summits of other leaders"


def test_waiting_times_count_the_uncensored_and_add_every_duration():
    exposure = scenario(EVENT).evidence[1].exposure
    assert exposure.events == 2
    assert exposure.years == pytest.approx(1.5 + 8 / 12 + 0.2)
    assert exposure.waiting_times == (
        WaitingTime(1.5, False),
        WaitingTime(pytest.approx(8 / 12), True),
        WaitingTime(pytest.approx(0.2), False),
    )


def test_period_names_a_period_by_the_date_it_ends():
    evidence = scenario(EVENT).evidence[2]
    assert evidence.exposure.period == 2
    assert evidence.exposure.years == pytest.approx(26 * 7 / YEAR_DAYS)


def test_reference_class_of_rates():
    (reference,) = scenario(EVENT).reference_classes
    assert reference.period == 0 and reference.pooling == "complete" and reference.row == 0
    assert reference.cases[0] == RateCase("a", Exposure(2, 3.0, (), 0))
    assert reference.cases[1] == RateCase("b", Exposure(0, 1.0, (WaitingTime(1.0, True),), 0))
    third = reference.cases[2].exposure
    assert (third.events, third.years) == (1, pytest.approx(0.75))


# -- expressions ----------------------------------------------------------------------------------


def test_by_parses_to_an_atom_with_its_date_and_offsets():
    expression = parse("not x by 2019-03-31")
    assert expression == Not(By("x", dt.date(2019, 3, 31), 4))
    assert expression.operand.date_offset == 9
    assert expression.operand.key == "x by 2019-03-31"


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("x by", 4, "expected a date such as 2019-03-31 after 'by'"),
        ("x by y", 5, "expected a date such as 2019-03-31 after 'by'"),
        ("x by 2019-02-30", 5, "'2019-02-30' is not a date of the calendar"),
        ("by and x", 0, "expected an outcome name, found 'by'"),
    ],
)
def test_by_mistakes_are_located(text, offset, message):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert caught.value.offset == offset and str(caught.value) == message


def test_named_scenarios_with_by_dates_evaluate_on_their_keys():
    read = scenario(EVENT)
    early = read.scenarios[0].expression
    assert early.operands[0] == By("second_summit", dt.date(2019, 3, 31), 0)
    assert isinstance(early.operands[1].operand, Happens)
    values = {
        "second_summit by 2019-03-31": np.array([1, 1, 0]),
        "tests_resume": np.array([0, 1, 0]),
    }
    assert evaluate(early, values, {}).tolist() == [True, False, False]


def test_by_is_a_reserved_word_for_names():
    assert problems("outcomes:\n  by:\n    prior: {beta: [1, 1]}\n") == [
        "6:3: outcomes -> by: 'by' is a reserved word and cannot be an outcome name"
    ]


# -- overrides ------------------------------------------------------------------------------------


def test_set_reaches_the_keys_of_an_event(tmp_path):
    path = tmp_path / "event.yaml"
    path.write_text('version: 1\ntitle: "T"\nas_of: 2018-05-20\nhorizon: 2020-06-12\n' + EVENT)
    base = load_scenario(path)
    options = [
        "outcomes.second_summit.prior.otherwise.rate={mean: 2, sd: 1}",
        "outcomes.second_summit.prior.summit_held.rate.mean=2",
        "outcomes.tests_resume.prior.rate[1].until=2019-09-30",
        'outcomes.sanctions_eased.prior.by["2020-06-12"]=0.17',
        "evidence[0].exposure={months: 6}",
        "reference_classes[0].cases[0].events=4",
    ]
    changed = load_what_if(base, command_line_what_if(read_set_options(options), None))
    summit = changed.outcome("second_summit")
    assert summit.rows[1].prior.periods[0].mean == pytest.approx(2)
    assert summit.rows[0].prior.periods[0].mean == pytest.approx(2)
    assert changed.outcome("tests_resume").timeline.breaks[1] == dt.date(2019, 9, 30)
    assert changed.outcome("sanctions_eased").rows[0].prior.stated.endswith("0.17 by 2020-06-12")
    assert changed.evidence[0].exposure.years == pytest.approx(0.5)
    assert changed.reference_classes[0].cases[0].exposure.events == 4


def test_set_on_an_event_key_is_validated_like_the_file(tmp_path):
    path = tmp_path / "event.yaml"
    path.write_text('version: 1\ntitle: "T"\nas_of: 2018-05-20\nhorizon: 2020-06-12\n' + EVENT)
    base = load_scenario(path)
    what_if = command_line_what_if(
        read_set_options(["outcomes.second_summit.prior.otherwise.per=fortnight"]), None
    )
    with pytest.raises(ScenarioError) as caught:
        load_what_if(base, what_if)
    (problem,) = caught.value.problems
    assert "unknown unit 'fortnight'" in problem.message
    assert problem.origin.startswith("--set #1")


# -- the incomplete gamma function ----------------------------------------------------------------


@pytest.mark.parametrize("x", [1e-8, 0.1, 1.0, 2.5, 10.0, 60.0])
def test_incomplete_gamma_closed_forms(x):
    assert regularized_lower_incomplete_gamma(1, x) == pytest.approx(-math.expm1(-x), rel=1e-13)
    # 1 - e^-x (1 + x) loses its digits to cancellation below x = 0.01: the series instead.
    two = x * x / 2 - x**3 / 3 + x**4 / 8 if x < 0.01 else 1 - math.exp(-x) * (1 + x)
    assert regularized_lower_incomplete_gamma(2, x) == pytest.approx(two, rel=1e-12)
    assert regularized_lower_incomplete_gamma(0.5, x) == pytest.approx(
        math.erf(math.sqrt(x)), rel=1e-13
    )


def test_incomplete_gamma_agrees_with_scipy():
    rng = random.Random(11)
    for _ in range(3000):
        a = 10 ** rng.uniform(-3, 5)
        x = a * 10 ** rng.uniform(-3, 1) if rng.random() < 0.7 else 10 ** rng.uniform(-5, 6)
        expected = special.gammainc(a, x)
        got = regularized_lower_incomplete_gamma(a, x)
        if expected > 1e-290:
            assert got == pytest.approx(expected, rel=1e-10), (a, x)


def test_incomplete_gamma_refuses_impossible_arguments():
    with pytest.raises(ValueError, match="shape must be greater than 0"):
        regularized_lower_incomplete_gamma(0, 1)
    with pytest.raises(ValueError, match="x must be 0 or more"):
        regularized_lower_incomplete_gamma(1, -1)


# -- one message per mistake ----------------------------------------------------------------------

# (file, LINE:COL, the key path and the start of the message); each file has one problem.
# fmt: off
BAD_EVENT_FILES = [
    ("event-kind-unknown.yaml", "10:11",
     "outcomes -> second_summit -> kind: unknown kind 'evnet'; did you mean 'event'?"),
    ("event-with-categories.yaml", "10:11",
     "outcomes -> second_summit -> kind: an event happens or not, at some time, and has no "
     "categories"),
    ("event-without-as-of.yaml", "7:11",
     "outcomes -> second_summit -> kind: 'second_summit' is an event, which needs the file's "
     "as_of (when its time starts): add as_of: YYYY-MM-DD"),
    ("event-without-horizon.yaml", "7:11",
     "outcomes -> second_summit -> kind: 'second_summit' is an event, which needs the file's "
     "horizon"),
    ("checkpoints-on-binary.yaml", "10:5",
     "outcomes -> second_summit -> checkpoints: checkpoints are dates to report an event by; "
     "'second_summit' is not an event"),
    ("event-checkpoint-outside.yaml", "11:19",
     "outcomes -> second_summit -> checkpoints -> item 1: checkpoint 2018-01-01 is outside the "
     "forecast: each must be after as_of (2018-05-20) and at most the horizon (2020-06-12)"),
    ("event-checkpoints-unordered.yaml", "11:31",
     "outcomes -> second_summit -> checkpoints -> item 2: checkpoint 2019-03-31 must come after "
     "2019-06-30"),
    ("event-rate-zero.yaml", "11:27",
     "outcomes -> second_summit -> prior -> rate -> gamma: Gamma parameters (shape, rate) must "
     "be greater than 0, got [0, 2]"),
    ("event-rate-mean-negative.yaml", "11:26",
     "outcomes -> second_summit -> prior -> rate -> mean: mean must be greater than 0"),
    ("event-per-unknown.yaml", "11:44",
     "outcomes -> second_summit -> prior -> per: unknown unit 'yaer'; did you mean 'year'? "
     "(per: day, week, month or year)"),
    ("event-rate-without-per.yaml", "11:12",
     "outcomes -> second_summit -> prior: say what the rate counts events per: add per: day, "
     "week, month or year"),
    ("event-binary-prior.yaml", "11:12",
     "outcomes -> second_summit -> prior: 'second_summit' is an event, so its prior is "
     "{rate: {mean: m, sd: s}, per: year} or {by: {DATE: p, DATE: p}}; mean and sd state a "
     "probability"),
    ("binary-rate-prior.yaml", "10:12",
     "outcomes -> second_summit -> prior: 'second_summit' is binary, so its prior is one of "
     "{beta: [a, b]}"),
    ("event-piecewise-beside-constant.yaml", "16:7",
     "outcomes -> second_summit -> prior -> otherwise: every row of 'second_summit' must change "
     "its rate at the same dates: row 'otherwise' has a constant rate, but row 'summit_held' "
     "changes its rate at 2019-01-01"),
    ("event-piecewise-different-dates.yaml", "16:7",
     "outcomes -> second_summit -> prior -> otherwise: every row of 'second_summit' must change "
     "its rate at the same dates: row 'otherwise' changes its rate at 2019-06-30"),
    ("event-until-unordered.yaml", "14:19",
     "outcomes -> second_summit -> prior -> rate -> item 2 -> until: until 2019-01-01 must come "
     "after the previous period's (2019-06-01)"),
    ("event-until-outside.yaml", "13:19",
     "outcomes -> second_summit -> prior -> rate -> item 1 -> until: until 2021-01-01 must be "
     "after as_of (2018-05-20) and before the horizon (2020-06-12)"),
    ("event-by-one-date.yaml", "11:17",
     "outcomes -> second_summit -> prior -> by: a probability by one date fixes the typical "
     "rate but not how sure you are of it: add a second date"),
    ("event-by-decreasing.yaml", "11:47",
     "outcomes -> second_summit -> prior -> by -> 2020-01-01: the probability by 2020-01-01 "
     "(0.4) must be above the one by 2019-06-30 (0.5)"),
    ("event-by-dates-unordered.yaml", "11:35",
     "outcomes -> second_summit -> prior -> by -> 2019-06-30: 2019-06-30 must come after "
     "2020-01-01"),
    ("event-by-date-outside.yaml", "11:35",
     "outcomes -> second_summit -> prior -> by -> 2021-06-30: 2021-06-30 is outside the "
     "forecast"),
    ("event-by-no-fit.yaml", "11:17",
     "outcomes -> second_summit -> prior -> by: no Gamma prior on a constant rate gives these "
     "probabilities; the closest is 0.37 by 2019-06-30, 0.57 by 2020-06-12: these probabilities "
     "rise faster than any constant rate allows"),
    ("event-exposure-without-events.yaml", "14:5",
     "evidence -> item 1 -> exposure: an exposure needs the events seen in it: add events: n"),
    ("event-events-without-exposure.yaml", "14:5",
     "evidence -> item 1 -> events: events need the time they were seen in: add exposure:"),
    ("event-events-negative.yaml", "14:13",
     "evidence -> item 1 -> events: must be a whole number 0 or more, got -1"),
    ("event-exposure-zero.yaml", "15:24",
     "evidence -> item 1 -> exposure -> months: a length of time must be greater than 0, got 0"),
    ("event-waiting-time-negative.yaml", "14:44",
     "evidence -> item 1 -> waiting_times -> item 2 -> months: a length of time must be greater "
     "than 0, got -8"),
    ("event-waiting-times-and-events.yaml", "16:5",
     "evidence -> item 1 -> waiting_times: give either events with exposure or waiting times, "
     "not both in one item"),
    ("event-successes-evidence.yaml", "14:5",
     "evidence -> item 1 -> successes: 'second_summit' is an event: give events with exposure, "
     "or waiting_times, instead of successes"),
    ("binary-events-evidence.yaml", "11:5",
     "evidence -> item 1 -> events: 'summit_held' is binary: events and exposure are for event "
     "outcomes (kind: event); give successes and trials"),
    ("event-period-missing.yaml", "17:5",
     "evidence -> item 1: 'tests_resume' changes its rate at 2018-11-06, so say which period's "
     "rate the data bear on with period: DATE"),
    ("event-period-unknown.yaml", "18:13",
     "evidence -> item 1 -> period: no period of 'tests_resume' ends on 2019-01-01"),
    ("event-period-on-constant.yaml", "14:5",
     "reference_classes -> item 1 -> period: 'second_summit' has one rate from as_of to the "
     "horizon, so remove period"),
    ("event-case-successes.yaml", "15:35",
     "reference_classes -> item 1 -> cases -> item 1 -> successes: 'second_summit' is an event: "
     "a case is {name, events, exposure} or {name, waiting_time}"),
    ("scenario-by-on-binary.yaml", "13:29",
     "scenarios -> early: 'summit_held' is binary; 'by DATE' needs an event outcome "
     "(kind: event)"),
    ("scenario-by-date-outside.yaml", "13:43",
     "scenarios -> late: 'second_summit by 2021-01-01': the date must be after as_of "
     "(2018-05-20) and at most the horizon (2020-06-12)"),
    ("row-key-by-date.yaml", "15:7",
     "outcomes -> talks_continue -> prior -> second_summit by 2019-01-01: 'second_summit by "
     "2019-01-01' cannot fix a row"),
    ("when-by-date.yaml", "19:5",
     "evidence -> item 1 -> when: 'second_summit by 2019-01-01' cannot fix a row"),
    ("event-by-certain.yaml", "9:17",
     "outcomes -> tests_resume -> prior -> by: these probabilities say the rate is known exactly"),
    ("event-evidence-without-when.yaml", "16:5",
     "evidence -> item 1: 'tests_resume' is given talks, so evidence on its rate needs `when:`"),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "where", "fragment"), BAD_EVENT_FILES, ids=[c[0] for c in BAD_EVENT_FILES]
)
def test_bad_event_file_gets_one_located_line(name, where, fragment):
    path = (BAD / name).relative_to(REPO).as_posix()
    with pytest.raises(ScenarioError) as caught:
        load_scenario(REPO / path)
    (problem,) = caught.value.problems
    assert f"{problem.line}:{problem.column}" == where, str(problem)
    assert str(problem).split(": ", 1)[1].startswith(fragment), str(problem)
    assert "\n" not in problem.message


@pytest.mark.parametrize(
    "body",
    [
        "outcomes:\n  x:\n    kind: categorical\n    prior: {beta: [1, 1]}\n",
        "outcomes:\n  x:\n    kind: binary\n    categories: [p, q]\n    prior: {beta: [1, 1]}\n",
    ],
    ids=["categorical-without-categories", "binary-with-categories"],
)
def test_a_kind_that_contradicts_categories_is_one_located_line(body):
    (problem,) = problems(body)
    assert problem.startswith("7:11: outcomes -> x -> kind: ")


def test_a_missing_as_of_is_reported_once_for_all_events():
    found = problems(
        """
        outcomes:
          x:
            kind: event
            prior: {rate: {gamma: [1, 1]}, per: year}
          y:
            kind: event
            prior: {rate: {gamma: [1, 1]}, per: year}
        """,
        dates="horizon: 2020-06-12\n",
    )
    assert len(found) == 1 and "'x' is an event, which needs the file's as_of" in found[0]


def test_an_event_needs_time_between_as_of_and_the_horizon():
    (found,) = problems(
        "outcomes:\n  x:\n    kind: event\n    prior: {rate: {gamma: [1, 1]}, per: year}\n",
        dates="as_of: 2018-05-20\nhorizon: 2018-05-20\n",
    )
    assert "the horizon must be after as_of (2018-05-20)" in found


def test_probabilities_by_dates_cannot_stand_beside_a_changing_rate():
    (found,) = problems(
        """
        outcomes:
          a:
            prior: {beta: [1, 1]}
          x:
            kind: event
            given: a
            prior:
              a:
                rate: [{until: 2019-01-01, rate: {gamma: [1, 1]}}, {rate: {gamma: [2, 1]}}]
                per: year
              not a: {by: {2019-06-30: 0.1, 2020-06-12: 0.15}}
        """
    )
    assert "probabilities by dates fit one constant rate" in found


def test_a_single_form_on_an_event_with_parents_shows_a_rate_row():
    (found,) = problems(
        """
        outcomes:
          a:
            prior: {beta: [1, 1]}
          x:
            kind: event
            given: a
            prior: {rate: {gamma: [1, 1]}, per: year}
        """
    )
    assert "such as `a: {rate: {mean: 1, sd: 0.5}, per: year}`" in found


@pytest.mark.parametrize(
    ("prior", "fragment"),
    [
        ("{rate: [{rate: {gamma: [1, 1]}}], per: year}", "a list of rates needs two periods"),
        (
            "{rate: [{rate: {gamma: [1, 1]}}, {rate: {gamma: [1, 1]}}], per: year}",
            "every period but the last needs until: DATE",
        ),
        (
            "{rate: [{until: 2019-01-01, rate: {gamma: [1, 1]}}, "
            "{until: 2020-01-01, rate: {gamma: [1, 1]}}], per: year}",
            "the last period runs to the horizon, so it has no until",
        ),
        ("{rate: {mean: 1, sd: 0}, per: year}", "sd must be greater than 0"),
        ("{rate: {interval: [0, 2]}, per: year}", "interval ends must be greater than 0"),
        ("{rate: {mean: 1, sample_size: 3}, per: year}", "unknown key 'sample_size'"),
        ("{rate: 2, per: year}", "a rate ({gamma: [shape, rate]}"),
        ("{rate: {gamma: [1, 1]}, by: {2019-01-01: 0.1}, per: year}", "an event's prior is"),
        ("{by: {'2019-06-30': 0.1, 2020-01-01: 0.2}}", "must be an ISO date such as 2020-06-12"),
        ("{by: {2019-06-30: 1, 2020-01-01: 0.2}}", "a probability must be strictly between 0"),
    ],
)
def test_other_prior_mistakes_are_one_line_each(prior, fragment):
    (found,) = problems(f"outcomes:\n  x:\n    kind: event\n    prior: {prior}\n")
    assert fragment in found, found


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        (
            "{outcome: x, events: 1, exposure: {years: 1, months: 2}}",
            "give an exposure in one unit",
        ),
        ("{outcome: x, events: 1, exposure: {hours: 1}}", "unknown key 'hours'"),
        ("{outcome: x, waiting_times: []}", "waiting_times must be a non-empty list"),
        ("{outcome: x, waiting_times: [{years: 1, censored: maybe}]}", "must be true or false"),
        ("{outcome: x, weight: 0.5}", "missing the data on 'x''s rate"),
        ("{outcome: x, counts: {a: 1}}", "instead of counts"),
        ("{outcome: c, waiting_times: [{years: 1}]}", "'c' is categorical: waiting_times are"),
    ],
)
def test_other_evidence_mistakes_are_one_line_each(item, fragment):
    (found,) = problems(
        f"""
        outcomes:
          x:
            kind: event
            prior: {{rate: {{gamma: [1, 1]}}, per: year}}
          c:
            categories: [p, q]
            prior: {{dirichlet: [1, 1]}}
        evidence:
          - {item}
        """
    )
    assert fragment in found, found


def test_evidence_on_an_invalid_event_is_still_checked():
    found = problems(
        """
        outcomes:
          x:
            kind: event
            prior: {rate: {gamma: [0, 1]}, per: year}
        evidence:
          - {outcome: x, events: -2, exposure: {years: 1}}
        """
    )
    assert len(found) == 2 and "must be a whole number 0 or more, got -2" in found[1]


# -- the JSON Schema ------------------------------------------------------------------------------


def as_json(value):
    if isinstance(value, dict):
        return {str(key): as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(
        json.loads(json.dumps(scenario_schema())), format_checker=FormatChecker()
    )


def test_an_event_file_passes_the_schema(validator):
    data = as_json(
        yaml.safe_load('version: 1\ntitle: "T"\nas_of: 2018-05-20\nhorizon: 2020-06-12\n' + EVENT)
    )
    assert [e.message for e in validator.iter_errors(data)] == []


@pytest.mark.parametrize(
    "name",
    [
        "event-kind-unknown.yaml",
        "event-rate-zero.yaml",
        "event-rate-mean-negative.yaml",
        "event-per-unknown.yaml",
        "event-rate-without-per.yaml",
        "event-by-one-date.yaml",
        "event-events-negative.yaml",
        "event-exposure-zero.yaml",
        "event-waiting-time-negative.yaml",
    ],
)
def test_bad_event_files_of_shape_fail_the_schema(name, validator):
    assert not validator.is_valid(as_json(yaml.safe_load((BAD / name).read_text())))
