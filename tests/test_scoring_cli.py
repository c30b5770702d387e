"""`forecast score` end to end, on the run folder the report tests share (tests/conftest.py).

The scores in score.json are checked against values computed here from the run's summary.json;
score.pdf is read back with pypdf. Every bad input is one line and exit status 1, with nothing
written.
"""

from __future__ import annotations

import json
import math
import shutil
import textwrap
from pathlib import Path

import pytest
from helpers import read_pdf, run_forecast

RESOLUTIONS = """\
version: 1
scenario: report-fixture
resolved_on: 2020-06-12
resolutions:
  summit_held: {value: true, date: 2018-06-12, source: "Singapore, 12 June 2018"}
  full_shutdown: false
  deal_form: {value: talks_drag_on, source: "No agreement in force"}
  troop_drawdown: false
benchmarks:
  betting_odds:
    summit_held: 0.625
    deal_form: {collapse: 0.2, talks_drag_on: 0.5, framework_deal: 0.3}
"""
HAPPENED = {"summit_held": True, "full_shutdown": False, "deal_form": "talks_drag_on",
            "troop_drawdown": False}  # fmt: skip
BENCHMARK = {"summit_held": 0.625, "deal_form": {"collapse": 0.2, "talks_drag_on": 0.5,
             "framework_deal": 0.3}}  # fmt: skip


@pytest.fixture
def runs(pipeline_run, tmp_path) -> Path:
    """A folder holding a copy of the shared run, as reports/ holds runs."""
    folder = tmp_path / "runs"
    shutil.copytree(pipeline_run, folder / "report-fixture")
    return folder


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def probabilities(summary: dict, outcome: str, moment: str) -> dict:
    """Each value's probability in the run's summary: {True, False} or {category}."""
    entry = summary["outcomes"][outcome]
    if entry["kind"] == "binary":
        p = entry[moment]["mean"]
        return {True: p, False: 1 - p}
    return {name: c[moment]["mean"] for name, c in entry["categories"].items()}


def expected_scores(probs: dict, happened) -> dict:
    """The four scores from their definitions, written out again here."""
    n = len(probs)
    p = probs[happened]
    brier = sum((q - (1.0 if value == happened else 0.0)) ** 2 for value, q in probs.items())
    binary = set(probs) == {True, False}
    return {
        "brier": brier / 2 if binary else brier,
        "brier_2": brier,
        "log": math.log(p),
        "baseline": 100 * (math.log2(p) + 1) if binary else 100 * math.log(p * n) / math.log(n),
    }


def test_score_writes_json_html_and_pdf_beside_the_runs(runs, tmp_path):
    resolutions = write(tmp_path / "fixture.resolutions.yaml", RESOLUTIONS)
    run = run_forecast("score", str(runs / "report-fixture"), "--resolutions", str(resolutions))
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    printed = run.stdout.splitlines()
    assert printed[-3:] == [str(runs / f"score.{kind}") for kind in ("json", "html", "pdf")]
    assert printed[0].split() == ["outcome", "happened", "P", "posterior", "P", "prior", "P",
                                  "betting_odds"]  # fmt: skip
    assert any(line.startswith("mean over 4 outcomes") for line in printed)
    assert any(line.startswith("mean over 2 outcomes betting_odds forecast") for line in printed)

    summary = json.loads((runs / "report-fixture" / "summary.json").read_text(encoding="utf-8"))
    document = json.loads((runs / "score.json").read_text(encoding="utf-8"))
    assert document["runs"] == ["report-fixture"]
    assert document["forecasters"] == ["posterior", "prior", "betting_odds"]
    assert [item["outcome"] for item in document["items"]] == list(HAPPENED)
    means = {moment: {score: 0.0 for score in ("brier", "brier_2", "log", "baseline")}
             for moment in ("posterior", "prior")}  # fmt: skip
    for item in document["items"]:
        happened = HAPPENED[item["outcome"]]
        assert item["resolved"] == happened
        for moment in ("posterior", "prior"):
            probs = probabilities(summary, item["outcome"], moment)
            assert item["forecast"][moment] == pytest.approx(probs[happened], abs=1e-9)
            for score, value in expected_scores(probs, happened).items():
                assert item[score][moment] == pytest.approx(value, abs=1e-9), (item, score)
                means[moment][score] += value / len(HAPPENED)
        if item["outcome"] in BENCHMARK:
            forecast = BENCHMARK[item["outcome"]]
            probs = (
                forecast if isinstance(forecast, dict) else {True: forecast, False: 1 - forecast}
            )
            for score, value in expected_scores(probs, happened).items():
                assert item[score]["betting_odds"] == pytest.approx(value, abs=1e-9)
        else:
            assert "betting_odds" not in item["forecast"]
    assert document["mean"]["n"] == 4
    for moment, scores in means.items():
        for score, value in scores.items():
            assert document["mean"][score][moment] == pytest.approx(value, abs=1e-9)
    odds = document["benchmark_means"]["betting_odds"]
    assert odds["n"] == 2 and odds["forecasters"] == ["posterior", "prior", "betting_odds"]
    # Brier of 0.625 on what happened, and of (0.2, 0.5, 0.3) with the second category true.
    assert odds["brier"]["betting_odds"] == pytest.approx(
        (0.375**2 + (0.04 + 0.25 + 0.09)) / 2, abs=1e-9
    )

    # Calibration: one yes/no forecast per binary outcome, one per category of deal_form.
    calibration = document["calibration"]["posterior"]
    assert calibration["n"] == 3 + 3
    assert sum(b["n"] for b in calibration["bins"]) == 6
    pairs = []
    for item in document["items"]:
        probs = probabilities(summary, item["outcome"], "posterior")
        if set(probs) == {True, False}:
            pairs.append((probs[True], HAPPENED[item["outcome"]] is True))
        else:
            pairs.extend((p, value == HAPPENED[item["outcome"]]) for value, p in probs.items())
    parts = document["decomposition"]["posterior"]
    brier = sum((p - o) ** 2 for p, o in pairs) / len(pairs)
    assert parts["brier"] == pytest.approx(brier, abs=1e-9)
    total = parts["reliability"] - parts["resolution"] + parts["uncertainty"] + parts["within_bins"]
    assert total == pytest.approx(brier, abs=1e-9)
    base_rate = sum(o for _, o in pairs) / len(pairs)
    assert parts["uncertainty"] == pytest.approx(base_rate * (1 - base_rate), abs=1e-9)

    page = (runs / "score.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page  # the fixture's title, escaped
    assert "&lt;script&gt;" in page
    assert 'id="small-sample"' in page and "<svg" in page
    pdf = read_pdf(runs / "score.pdf")
    assert pdf.sizes[0] == (595, 842)
    text = pdf.text
    assert "FORECAST SCORES" in text.upper()
    assert "How much 4 outcomes can show" in text
    assert f"{document['mean']['brier']['posterior']:.3f}" in text
    assert "Singapore, 12 June 2018" in text  # a resolution's source
    assert not list(runs.glob(".score-*"))


def test_probability_zero_on_what_happened_is_minus_infinity_and_a_note(runs, tmp_path):
    resolutions = write(
        tmp_path / "zero.resolutions.yaml",
        RESOLUTIONS.replace("summit_held: 0.625", "summit_held: 0"),
    )
    run = run_forecast(
        "score", str(runs / "report-fixture"), "--resolutions", str(resolutions),
        "--format", "json,html",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == [
        "note: betting_odds gave probability 0 to what happened to 'summit_held' "
        "(report-fixture): its log and baseline scores there are -inf, and so is every mean "
        "that includes them"
    ]
    document = json.loads((runs / "score.json").read_text(encoding="utf-8"))
    (item,) = [i for i in document["items"] if i["outcome"] == "summit_held"]
    assert item["log"]["betting_odds"] == "-inf"
    assert item["baseline"]["betting_odds"] == "-inf"
    assert item["brier"]["betting_odds"] == 1.0
    assert document["benchmark_means"]["betting_odds"]["log"]["betting_odds"] == "-inf"
    assert "\u2212\u221e" in (runs / "score.html").read_text(encoding="utf-8")
    assert not (runs / "score.pdf").exists()


BAD_FILES = {
    "unknown outcome": (
        RESOLUTIONS.replace("  full_shutdown: false", "  full_shutdwn: false"),
        "resolutions -> full_shutdwn: the scenario has no outcome 'full_shutdwn'; did you mean "
        "'full_shutdown'?",
    ),
    "impossible value": (
        RESOLUTIONS.replace("  full_shutdown: false", "  full_shutdown: 2"),
        "resolutions -> full_shutdown: the value must be true or false",
    ),
    "unknown category": (
        RESOLUTIONS.replace("value: talks_drag_on", "value: talks_draggin_on"),
        "resolutions -> deal_form -> value: 'talks_draggin_on' is not a category of 'deal_form'",
    ),
    "dates out of order": (
        RESOLUTIONS.replace("date: 2018-06-12", "date: 2020-07-01"),
        "resolutions -> summit_held -> date: date 2020-07-01 is after resolved_on 2020-06-12",
    ),
    "date outside the window": (
        RESOLUTIONS.replace("date: 2018-06-12", "date: 2018-03-08"),
        "resolutions -> summit_held -> date: date 2018-03-08 is before the scenario's as_of",
    ),
    "another scenario": (
        RESOLUTIONS.replace("scenario: report-fixture", "scenario: singapore-summit-2018"),
        "scenario: this file resolves 'singapore-summit-2018', but no run given is of that "
        "scenario",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_a_bad_resolutions_file_is_one_located_line_and_nothing_is_written(case, runs, tmp_path):
    text, message = BAD_FILES[case]
    resolutions = write(tmp_path / "bad.resolutions.yaml", text)
    (runs / "score.json").write_text("{}", encoding="utf-8")  # an earlier score, kept as it was
    before = sorted(p.name for p in runs.iterdir())
    run = run_forecast("score", str(runs / "report-fixture"), "--resolutions", str(resolutions))
    assert run.returncode == 1, run.stderr
    assert run.stdout == ""
    first, last = run.stderr.splitlines()
    assert first.startswith(f"{resolutions}:") and message in first, first
    assert last == "1 problem found."
    assert "Traceback" not in run.stderr
    assert sorted(p.name for p in runs.iterdir()) == before
    assert (runs / "score.json").read_text(encoding="utf-8") == "{}"


def test_a_folder_without_summary_is_one_line_and_nothing_is_written(runs, tmp_path):
    resolutions = write(tmp_path / "fixture.resolutions.yaml", RESOLUTIONS)
    empty = runs / "not-a-run"
    empty.mkdir()
    run = run_forecast(
        "score", str(runs / "report-fixture"), str(empty), "--resolutions", str(resolutions)
    )
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"error: {empty}: no summary.json; give a folder that `forecast run` wrote (such as "
        "reports/NAME), or run the scenario first"
    ]
    assert sorted(p.name for p in runs.iterdir()) == ["not-a-run", "report-fixture"]


def test_a_run_without_resolutions_is_refused(runs, tmp_path):
    other = runs / "other"
    shutil.copytree(runs / "report-fixture", other)
    summary = json.loads((other / "summary.json").read_text(encoding="utf-8"))
    summary["scenario"] = "other"
    (other / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    resolutions = write(tmp_path / "fixture.resolutions.yaml", RESOLUTIONS)
    run = run_forecast("score", str(runs / "report-fixture"), str(other), "--resolutions",
                       str(resolutions))  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.splitlines() == [
        f"error: {other}: no resolutions file for its scenario 'other'; pass one with "
        "--resolutions (its scenario: key names the scenario), or leave the run out"
    ]
    assert not (runs / "score.json").exists()


def test_runs_in_different_folders_need_out(runs, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(runs / "report-fixture", elsewhere / "copy")
    resolutions = write(tmp_path / "fixture.resolutions.yaml", RESOLUTIONS)
    run = run_forecast("score", str(runs / "report-fixture"), str(elsewhere / "copy"),
                       "--resolutions", str(resolutions), "--format", "json")  # fmt: skip
    assert run.returncode == 2
    assert "say where to write the scores with --out" in run.stderr


def test_a_failure_while_writing_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    from forecast import score_command
    from forecast.report import score_page

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(score_page, "write_score_reports", broken)
    (tmp_path / "score.json").write_text("{}", encoding="utf-8")
    document = {"notes": []}
    with pytest.raises(Exception, match="No space left on device"):
        score_command._write_atomically(document, tmp_path, {"json", "html"}, "a4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["score.json"]
    assert (tmp_path / "score.json").read_text(encoding="utf-8") == "{}"
