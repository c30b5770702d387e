"""The report of event outcomes: the probability by each checkpoint, the rate, the curve over
time, and evidence, reference classes and tornado inputs on rates, in words.

The wording is checked against exact answers; the page against a real run of a small event
scenario (sampled once for this file), in the HTML as written and in the PDF as read back.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import pytest
from helpers import read_pdf

from forecast.report import write_reports
from forecast.report.figure_data import compute_date_ticks, compute_event_curve
from forecast.report.wording import (
    describe_data,
    describe_date,
    describe_input_values,
    describe_record,
    format_rate,
    format_rate_interval,
)

SCENARIO = """
version: 1
title: Events in the report
question: When do the summit and the tests happen?
as_of: 2018-01-01
horizon: 2020-01-01
outcomes:
  talks:
    label: Talks are held
    prior: {beta: [6, 4]}
  summit:
    kind: event
    label: Another summit is held
    checkpoints: [2018-07-01, 2019-01-01]
    prior: {rate: {gamma: [2, 1]}, per: year}
  tests:
    kind: event
    label: Tests resume
    given: [talks]
    prior:
      talks:
        rate: [{until: 2019-01-01, rate: {gamma: [2, 8]}}, {rate: {gamma: [2, 2]}}]
        per: year
      not talks:
        rate: [{until: 2019-01-01, rate: {gamma: [2, 2]}}, {rate: {gamma: [2, 2]}}]
        per: year
evidence:
  - outcome: summit
    source: past summits
    events: 3
    exposure: {years: 2}
  - outcome: tests
    when: talks
    period: 2020-01-01
    source: quiet spells
    waiting_times: [{years: 1.5}, {years: 2, censored: true}]
reference_classes:
  - outcome: tests
    when: not talks
    period: 2019-01-01
    pooling: partial
    source: other test moratoria
    cases:
      - {name: "first moratorium", events: 0, exposure: {years: 3}}
      - {name: "second moratorium", events: 2, exposure: {years: 2}}
scenarios:
  early_summit: "summit by 2018-07-01"
  summit_and_tests: "summit and tests"
"""


# ----------------------------------------------------------------------------- wording


@pytest.mark.parametrize(
    ("rate", "text"),
    [(1.0, "1.00"), (0.5, "0.50"), (0.125, "0.12"), (0.05, "0.050"), (0.0123, "0.012"),
     (0.0, "0.00"), (250.0, "250")],
)  # fmt: skip
def test_a_rate_keeps_two_significant_digits_when_small(rate, text):
    assert format_rate(rate) == text


def test_a_rate_interval_uses_the_upper_ends_decimals_and_writes_a_vanished_lower_end_as_0():
    assert format_rate_interval([0.2, 1.8]) == "0.20\u20131.80"
    assert format_rate_interval([0.000006, 0.11]) == "0\u20130.11"
    assert format_rate_interval([0.0123, 0.046]) == "0.012\u20130.046"


def test_evidence_on_a_rate_reads_as_events_in_years_or_as_waiting_times():
    outcomes = {"summit": {"kind": "event"}}
    counted = {"outcome": "summit", "data": {"events": 6, "years": 2.0}}
    assert describe_data(counted, outcomes) == "Data: 6 events in 2 years"
    once = {"outcome": "summit", "data": {"events": 1, "years": 1.0}}
    assert describe_data(once, outcomes) == "Data: 1 event in 1 year"
    waited = {
        "outcome": "summit",
        "data": {
            "events": 1,
            "years": 3.5,
            "waiting_times": [{"years": 1.5, "censored": False}, {"years": 2, "censored": True}],
        },
    }
    assert (
        describe_data(waited, outcomes)
        == "Waiting times: 1.5 years; 2 years, still waiting (censored)"
    )
    assert describe_record(0, 3.0) == "0 events in 3 years"


def test_a_rate_moved_in_the_tornado_is_halved_and_doubled_in_its_unit():
    entry = {"kind": "rate", "value": 1.0, "values": [0.5, 2.0]}
    assert describe_input_values(entry, "year") == "rate 1.00 per year, halved 0.50 → doubled 2.00"
    eighth = {"kind": "rate", "value": 0.25, "values": [0.125, 0.5]}
    assert describe_input_values(eighth, "week") == (
        "rate 0.250 per week, halved 0.125 → doubled 0.500"
    )
    small = {"kind": "rate", "value": 0.05, "values": [0.025, 0.1]}
    assert (
        describe_input_values(small, "month")
        == "rate 0.050 per month, halved 0.025 → doubled 0.100"
    )


def test_dates_read_as_day_month_year():
    assert describe_date("2018-12-31") == "31 Dec 2018"
    assert describe_date("2019-01-01") == "1 Jan 2019"


def test_date_ticks_fall_on_first_days_of_months_with_the_year_where_it_starts():
    ticks = compute_date_ticks(dt.date(2018, 5, 20), dt.date(2020, 6, 12))
    assert ticks[0] == (dt.date(2018, 7, 1), "Jul\n2018")
    assert [text for _, text in ticks][1:3] == ["Oct", "Jan\n2019"]
    assert all(date.day == 1 and (date.month - 1) % 3 == 0 for date, _ in ticks)
    years = compute_date_ticks(dt.date(2018, 1, 1), dt.date(2030, 1, 1))
    assert [text for _, text in years] == [str(year) for year in range(2018, 2031)]


# ----------------------------------------------------------------------------- a real run


@pytest.fixture(scope="module")
def event_run(tmp_path_factory):
    """A run folder of SCENARIO from the real pipeline, small draws, with both reports."""
    from forecast import pipeline
    from forecast.spec import parse_scenario

    scenario = parse_scenario(SCENARIO.encode(), "events.yaml")
    options = pipeline.RunOptions(
        seed=11, chains=2, draws=300, tune=300, formats=frozenset({"json"})
    )
    run_dir = pipeline.run_scenario(scenario, tmp_path_factory.mktemp("events"), options).run_dir
    folder = tmp_path_factory.mktemp("report") / run_dir.name
    shutil.copytree(run_dir, folder)
    write_reports(folder, formats={"html", "pdf"})
    return folder


@pytest.fixture(scope="module")
def summary(event_run):
    return json.loads((event_run / "summary.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(event_run):
    return (event_run / "report.html").read_text(encoding="utf-8")


def _article(page: str, outcome: str) -> str:
    start = page.index(f'data-outcome="{outcome}"')
    return page[start : page.index("</article>", start)]


@pytest.mark.slow
def test_an_event_has_its_curve_with_the_checkpoints_marked(page, summary):
    article = _article(page, "summit")
    curves = re.findall(r'<figure class="curve">\s*(<svg .*?</svg>)', article, flags=re.S)
    assert len(curves) == 1
    svg = curves[0]
    outcome = summary["outcomes"]["summit"]
    assert outcome["checkpoints"] == ["2018-07-01", "2019-01-01", "2020-01-01"]
    # Its accessible name says what it shows: the probability by each checkpoint.
    label = re.search(r'aria-label="([^"]*)"', svg)[1]
    assert "<title>" in svg
    curve = compute_event_curve("summit", summary["outcomes"])
    assert label == curve.description
    for date in outcome["checkpoints"]:
        by = outcome["by"][date]["posterior"]["mean"]
        assert f"{describe_date(date)}" in label
        assert f"{100 * by:.0f}%" in label
    # The checkpoints' probabilities are written on the figure; dates run along its axis.
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for date in outcome["checkpoints"]:
        assert f"{100 * outcome['by'][date]['posterior']['mean']:.0f}%" in texts
    assert "Jan" in texts and "Probability it has happened by the date" in texts


@pytest.mark.slow
def test_an_event_tables_its_checkpoints_and_its_rate(page, summary):
    article = _article(page, "summit")
    outcome = summary["outcomes"]["summit"]
    for date in outcome["checkpoints"]:
        row = re.search(rf'<tr data-date="{date}">(.*?)</tr>', article, flags=re.S)[1]
        assert describe_date(date) in row
        posterior = outcome["by"][date]["posterior"]["mean"]
        assert f"{100 * posterior:.0f}%" in row
    assert "(horizon)" in article
    assert "at a rate in events per year" in article
    rate = outcome["rate"]
    assert rate["per"] == "year" and "periods" not in rate
    assert "Rate, events per year" in article
    assert "Gamma(2, 1)" in article or outcome["priors_stated"][""] in article
    assert f">{format_rate(rate['prior']['mean'])}<" in article
    assert f">{format_rate(rate['posterior']['mean'])}<" in article
    assert f">{format_rate_interval(rate['posterior']['hdi90'])}<" in article


@pytest.mark.slow
def test_a_rate_that_changes_is_shown_per_row_and_period(page, summary):
    article = _article(page, "tests")
    outcome = summary["outcomes"]["tests"]
    assert outcome["rate"] is None
    for row in outcome["rows"]:
        for period in row["rate"]["periods"]:
            assert f">{format_rate(period['posterior']['mean'])}<" in article
    assert article.count("From 1 Jan 2018 to 1 Jan 2019") == 2
    assert article.count("From 1 Jan 2019 to 1 Jan 2020") == 2
    assert "rate changes" in article  # the date the rate changes, ruled on the curve


@pytest.mark.slow
def test_evidence_classes_and_tornado_on_rates_read_in_events_and_years(page):
    assert "Data: 3 events in 2 years" in page
    assert "Waiting times: 1.5 years; 2 years, still waiting (censored)" in page
    start = page.index('id="reference-classes"')
    classes = page[start : page.index("</section>", start)]
    assert "0 events in 3 years" in classes and "2 events in 2 years" in classes
    assert "Own rate" in classes and "events per year" in classes
    assert re.search(r"rate \d\.\d+ per year, halved \d\.\d+ → doubled \d\.\d+", page)
    assert "outcomes.summit.prior" not in page.split('id="appendix-provenance"')[0]


@pytest.mark.slow
def test_the_pdf_has_the_curve_the_checkpoints_and_the_rate(event_run, summary):
    pdf = read_pdf(event_run / "report.pdf")
    text = pdf.text
    outcome = summary["outcomes"]["summit"]
    assert "Probability it has happened by the date" in text
    assert "BY DATE" in text.upper()
    for date in outcome["checkpoints"]:
        assert describe_date(date) in text
    assert "Rate, events per year" in text
    assert format_rate(outcome["rate"]["posterior"]["mean"]) in text
    assert "rate changes" in text
    assert "Waiting times: 1.5 years; 2 years, still waiting (censored)" in text
