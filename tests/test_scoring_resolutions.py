"""Resolutions files: every mistake one located line, and the JSON Schema agreeing with the reader.

Problems that only the run shows (an unknown outcome, a value the outcome cannot take, a date
outside the scenario's window) are checked against a summary written here, with the fields
`forecast score` reads; no model is sampled.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from helpers import REPO
from jsonschema import Draft202012Validator, FormatChecker

from forecast.errors import ScenarioError
from forecast.scoring import Run, check_against_run, keys, pair_runs, parse_resolutions
from forecast.scoring.schema import resolutions_schema
from forecast.spec import load_scenario

COMMITTED = REPO / "docs" / "resolutions.schema.json"
FLAGSHIP = REPO / "scenarios" / "singapore-summit-2018.resolutions.yaml"
BACKTEST = REPO / "scenarios" / "backtest"
RESOLUTION_FILES = [FLAGSHIP, *sorted(BACKTEST.glob("*.resolutions.yaml"))]
BACKTEST_SCENARIOS = sorted(
    p for p in BACKTEST.glob("*.yaml") if not p.name.endswith(".resolutions.yaml")
)


def stats(mean: float) -> dict:
    return {"mean": mean}


def summary(scenario: str = "talks") -> dict:
    """The fields of summary.json that scoring reads, for a binary and a categorical outcome."""
    return {
        "format": 2,
        "scenario": scenario,
        "title": "Talks",
        "as_of": "2018-05-20",
        "horizon": "2020-06-12",
        "outcomes": {
            "summit_held": {
                "label": "Summit held",
                "kind": "binary",
                "prior": stats(0.7),
                "posterior": stats(0.8),
            },
            "deal_form": {
                "label": "Deal form",
                "kind": "categorical",
                "categories": {
                    "collapse": {"label": "collapse", "prior": stats(0.3), "posterior": stats(0.2)},
                    "talks_drag_on": {
                        "label": "Talks drag on",
                        "prior": stats(0.5),
                        "posterior": stats(0.6),
                    },
                    "framework_deal": {
                        "label": "framework_deal",
                        "prior": stats(0.2),
                        "posterior": stats(0.2),
                    },
                },
            },
        },
    }


GOOD = """\
version: 1
scenario: talks
resolved_on: 2020-06-12
resolutions:
  summit_held: {value: true, date: 2018-06-12, source: "Singapore"}
  deal_form:
    value: talks_drag_on
    source: "No agreement in force"
benchmarks:
  betting_odds: {summit_held: 0.625, deal_form: {collapse: 0.3, talks_drag_on: 0.7}}
"""


def parse(text: str):
    return parse_resolutions(textwrap.dedent(text).encode("utf-8"), "res.yaml")


def problems_of(text: str, run_summary: dict | None = None) -> list[str]:
    """Every problem of a file, read on its own and then against the run, as printed."""
    try:
        resolutions = parse(text)
    except ScenarioError as error:
        return [str(p) for p in error.problems]
    return [str(p) for p in check_against_run(resolutions, run_summary or summary())]


def test_a_good_file_reads_with_its_benchmarks():
    resolutions = parse(GOOD)
    assert resolutions.scenario == "talks"
    assert resolutions.resolved_on == dt.date(2020, 6, 12)
    assert resolutions.resolution("summit_held").value is True
    assert resolutions.resolution("summit_held").date == dt.date(2018, 6, 12)
    assert resolutions.resolution("deal_form").value == "talks_drag_on"
    assert resolutions.benchmarks["betting_odds"]["summit_held"] == 0.625
    assert resolutions.benchmarks["betting_odds"]["deal_form"] == {
        "collapse": 0.3,
        "talks_drag_on": 0.7,
    }
    assert check_against_run(resolutions, summary()) == []


def test_the_short_form_is_the_value_alone():
    short = "version: 1\nscenario: talks\nresolved_on: 2020-06-12\n"
    short += "resolutions: {summit_held: false, deal_form: collapse}\n"
    resolutions = parse(short)
    assert resolutions.resolution("summit_held").value is False
    assert resolutions.resolution("deal_form").value == "collapse"
    assert resolutions.resolution("deal_form").source is None
    assert check_against_run(resolutions, summary()) == []


# One test per message: (file text, the one line expected).
BAD = {
    "unknown outcome": (
        GOOD.replace("  summit_held: {value", "  summit_hled: {value"),
        "res.yaml:5:3: resolutions -> summit_hled: the scenario has no outcome 'summit_hled'; "
        "did you mean 'summit_held'? (its outcomes: summit_held, deal_form)",
    ),
    "impossible value of a binary outcome": (
        GOOD.replace("{value: true,", "{value: maybe,"),
        "res.yaml:5:24: resolutions -> summit_held -> value: 'summit_held' is a yes/no outcome: "
        "its value is true or false, not the text 'maybe'",
    ),
    "a number as a value": (
        GOOD.replace("{value: true,", "{value: 3,"),
        "res.yaml:5:24: resolutions -> summit_held -> value: the value must be true or false for "
        "a yes/no outcome, or the name of the category that happened for a categorical one; "
        "got 3",
    ),
    "unknown category": (
        GOOD.replace("value: talks_drag_on", "value: talks_dragon"),
        "res.yaml:7:12: resolutions -> deal_form -> value: 'talks_dragon' is not a category of "
        "'deal_form'; did you mean 'talks_drag_on'? (its categories: collapse, talks_drag_on, "
        "framework_deal)",
    ),
    "yes/no for a categorical outcome": (
        GOOD.replace("value: talks_drag_on", "value: false"),
        "res.yaml:7:12: resolutions -> deal_form -> value: 'deal_form' is categorical: its value "
        "is the category that happened, one of collapse, talks_drag_on, framework_deal; got "
        "'false' (a yes/no value; quote it if you meant text)",
    ),
    "date after resolved_on": (
        GOOD.replace("date: 2018-06-12", "date: 2021-06-12"),
        "res.yaml:5:36: resolutions -> summit_held -> date: date 2021-06-12 is after resolved_on "
        "2020-06-12: a file cannot record what had not happened when it was resolved; correct "
        "the date or move resolved_on",
    ),
    "date before as_of": (
        GOOD.replace("date: 2018-06-12", "date: 2018-04-27"),
        "res.yaml:5:36: resolutions -> summit_held -> date: date 2018-04-27 is before the "
        "scenario's as_of 2018-05-20: the forecast was made after it; what was known then is "
        "not a resolution",
    ),
    "date after the horizon": (
        GOOD.replace("resolved_on: 2020-06-12", "resolved_on: 2021-01-01").replace(
            "date: 2018-06-12", "date: 2020-12-01"
        ),
        "res.yaml:5:36: resolutions -> summit_held -> date: date 2020-12-01 is after the "
        "scenario's horizon 2020-06-12: the outcome is judged at the horizon; resolve it as it "
        "stood then",
    ),
    "resolved before the horizon": (
        GOOD.replace("resolved_on: 2020-06-12", "resolved_on: 2019-01-01"),
        "res.yaml:7:12: resolutions -> deal_form -> value: resolved_on 2019-01-01 is before the "
        "scenario's horizon 2020-06-12, when this outcome is judged; it may still change: leave "
        "it out until then",
    ),
    "resolved before as_of": (
        GOOD.replace("resolved_on: 2020-06-12", "resolved_on: 2018-01-01")
        .replace('  summit_held: {value: true, date: 2018-06-12, source: "Singapore"}\n', "")
        .replace(
            '  deal_form:\n    value: talks_drag_on\n    source: "No agreement in force"\n',
            "  summit_held: true\n",
        ),
        "res.yaml:3:14: resolved_on: resolved_on 2018-01-01 is before the scenario's as_of "
        "2018-05-20: nothing had happened yet; correct the date",
    ),
    "unknown key": (
        GOOD.replace("resolved_on:", "resolved:"),
        "res.yaml:3:1: resolved: unknown key 'resolved'; did you mean 'resolved_on'? (allowed: "
        "version, scenario, resolved_on, resolutions, benchmarks)",
    ),
    "unknown key in a resolution": (
        GOOD.replace('source: "Singapore"', 'sourse: "Singapore"'),
        "res.yaml:5:48: resolutions -> summit_held -> sourse: unknown key 'sourse'; did you mean "
        "'source'? (allowed: value, date, source)",
    ),
    "a file name for the scenario": (
        GOOD.replace("scenario: talks", "scenario: scenarios/talks.yaml"),
        "res.yaml:2:11: scenario: write the scenario file's stem only, such as 'talks', not a "
        "file name or path",
    ),
    "a benchmark named like the run's forecasts": (
        GOOD.replace("betting_odds:", "prior:"),
        "res.yaml:10:3: benchmarks -> prior: 'prior' names the run's own forecast; call the "
        "benchmark something else, such as betting_odds",
    ),
    "a benchmark probability above 1": (
        GOOD.replace("summit_held: 0.625", "summit_held: 62.5"),
        "res.yaml:10:31: benchmarks -> betting_odds -> summit_held: a probability must be "
        "between 0 and 1, got 62.5",
    ),
    "benchmark categories not summing to 1": (
        GOOD.replace("talks_drag_on: 0.7}", "talks_drag_on: 0.5}"),
        "res.yaml:10:49: benchmarks -> betting_odds -> deal_form: the categories' probabilities "
        "sum to 0.8; they must sum to 1 (within 0.005); categories left out count 0",
    ),
    "a benchmark's unknown category": (
        GOOD.replace("collapse: 0.3,", "colapse: 0.3,"),
        "res.yaml:10:50: benchmarks -> betting_odds -> deal_form -> colapse: 'colapse' is not a "
        "category of 'deal_form'; did you mean 'collapse'? (its categories: collapse, "
        "talks_drag_on, framework_deal)",
    ),
    "one number for a categorical benchmark": (
        GOOD.replace("deal_form: {collapse: 0.3, talks_drag_on: 0.7}", "deal_form: 0.3"),
        "res.yaml:10:49: benchmarks -> betting_odds -> deal_form: 'deal_form' is categorical: "
        "give the benchmark's probability of each category, as {collapse: p, ...}",
    ),
    "a missing required key": (
        GOOD.replace("version: 1\n", ""),
        "res.yaml:1:1: missing required key 'version'",
    ),
    "a duplicate key": (
        GOOD.replace("resolutions:\n", "resolutions:\n  summit_held: false\n"),
        "res.yaml:6:3: resolutions -> summit_held: duplicate key 'summit_held' (first given on "
        "line 5); YAML keeps only one of them, so merge the two or rename one",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_each_mistake_is_one_located_line(case):
    text, expected = BAD[case]
    found = problems_of(text)
    if case == "unknown key":  # the key it was meant to be is missing, too
        assert found == ["res.yaml:1:1: missing required key 'resolved_on'", expected]
    else:
        assert found == [expected]


def test_every_problem_of_a_file_at_once():
    text = GOOD.replace("summit_held: {value", "summit_hled: {value").replace(
        "value: talks_drag_on", "value: talks_dragon"
    )
    found = problems_of(text)
    assert len(found) == 2
    assert "no outcome 'summit_hled'" in found[0] and "'talks_dragon'" in found[1]


def test_a_file_for_another_scenario_is_located_at_its_scenario_key(tmp_path):
    resolutions = parse(GOOD.replace("scenario: talks", "scenario: tallks"))
    runs = [Run(tmp_path / "talks", summary("talks"))]
    with pytest.raises(ScenarioError) as caught:
        pair_runs(runs, [resolutions])
    (problem,) = caught.value.problems
    assert str(problem).startswith(
        "res.yaml:2:11: scenario: this file resolves 'tallks'; did you mean 'talks'?, but no run "
        "given is of that scenario"
    )


def test_a_run_of_another_scenario_is_refused_by_the_check_too():
    assert problems_of(GOOD, summary("brexit")) == [
        "res.yaml:2:11: scenario: this file resolves 'talks' but the run is of 'brexit'; give "
        "the run of 'talks', or correct the name"
    ]


# -- the committed files ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", BACKTEST_SCENARIOS, ids=[p.stem for p in BACKTEST_SCENARIOS])
def test_backtest_scenarios_validate_and_are_small(path):
    scenario = load_scenario(path)
    assert 2 <= len(scenario.outcomes) <= 4
    assert scenario.as_of is not None and scenario.horizon is not None
    assert (path.parent / f"{path.stem}.resolutions.yaml").is_file()


@pytest.mark.parametrize("path", RESOLUTION_FILES, ids=[p.name for p in RESOLUTION_FILES])
def test_committed_resolutions_fit_their_scenarios(path):
    from forecast.scoring import load_resolutions

    resolutions = load_resolutions(path)
    scenario = load_scenario(path.parent / f"{resolutions.scenario}.yaml")
    outcomes = {}
    for outcome in scenario.outcomes:
        entry = {"label": outcome.label, "kind": "binary" if outcome.is_binary else "categorical"}
        if not outcome.is_binary:
            entry["categories"] = {name: {} for name in outcome.categories}
        outcomes[outcome.name] = entry
    run_summary = {
        "scenario": path.name.removesuffix(".resolutions.yaml"),
        "as_of": scenario.as_of.isoformat(),
        "horizon": scenario.horizon.isoformat(),
        "outcomes": outcomes,
    }
    assert [str(p) for p in check_against_run(resolutions, run_summary)] == []
    # Every resolution says where it can be checked.
    assert all(r.source for r in resolutions.resolutions)
    assert resolutions.resolved_on >= scenario.horizon


# -- the JSON Schema and the reader agree ----------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = resolutions_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def as_json(value):
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def test_committed_schema_is_the_generated_one():
    assert COMMITTED.is_file(), "python -m forecast.scoring.schema > docs/resolutions.schema.json"
    assert json.loads(COMMITTED.read_text(encoding="utf-8")) == resolutions_schema()


@pytest.mark.parametrize("path", RESOLUTION_FILES, ids=[p.name for p in RESOLUTION_FILES])
def test_committed_files_pass_the_schema_and_point_editors_at_it(path, validator):
    text = path.read_text(encoding="utf-8")
    errors = [e.message for e in validator.iter_errors(as_json(yaml.safe_load(text)))]
    assert errors == []
    first = text.split("\n", 1)[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix)
    assert (path.parent / first.removeprefix(prefix)).resolve() == COMMITTED.resolve()


def test_the_good_file_and_its_short_form_pass_both(validator):
    for text in (
        GOOD,
        GOOD.replace('{value: true, date: 2018-06-12, source: "Singapore"}', "true"),
    ):
        parse(text)
        assert validator.is_valid(as_json(yaml.safe_load(text)))


def schema_objects(schema: dict) -> dict[str, dict]:
    found, pending = {}, [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if "properties" in node and "title" in node:
                found[node["title"]] = node
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


@pytest.mark.parametrize("block", keys.BLOCKS, ids=[b.title for b in keys.BLOCKS])
def test_schema_objects_are_the_blocks_of_the_table(block):
    objects = schema_objects(resolutions_schema())
    title = f"forecast {block.title}, format v1" if block is keys.TOP else block.title
    node = objects[title]
    assert list(node["properties"]) == list(block.names)
    assert node["required"] == list(block.required)
    assert node["additionalProperties"] is False


@pytest.mark.parametrize("block", keys.BLOCKS, ids=[b.title for b in keys.BLOCKS])
def test_the_reader_allows_exactly_the_keys_of_the_table(block):
    text = (
        GOOD + "unheard_of: 1\n"
        if block is keys.TOP
        else GOOD.replace('source: "Singapore"', 'source: "Singapore", unheard_of: 1')
    )
    (message,) = [m for m in problems_of(text) if "'unheard_of'" in m]
    allowed = re.fullmatch(r".*unknown key 'unheard_of'.* \(allowed: (.*)\)", message).group(1)
    assert allowed.split(", ") == list(block.names)


# Mistakes of shape that both the schema and the reader refuse, at the same key path.
SHAPE = {
    "unknown key": (GOOD.replace("resolved_on:", "resolved:"), ()),
    "missing scenario": (GOOD.replace("scenario: talks\n", ""), ()),
    "a number as a value": (
        GOOD.replace("{value: true,", "{value: 3,"),
        ("resolutions", "summit_held"),
    ),
    "a bad date": (
        GOOD.replace("date: 2018-06-12", "date: June 2018"),
        ("resolutions", "summit_held", "date"),
    ),
    "a probability above 1": (
        GOOD.replace("summit_held: 0.625", "summit_held: 1.5"),
        ("benchmarks", "betting_odds", "summit_held"),
    ),
    "a benchmark called prior": (GOOD.replace("betting_odds:", "prior:"), ("benchmarks",)),
    "version 2": (GOOD.replace("version: 1", "version: 2"), ("version",)),
}


@pytest.mark.parametrize("case", list(SHAPE), ids=list(SHAPE))
def test_shape_mistakes_fail_the_schema_and_the_reader(case, validator):
    text, where = SHAPE[case]
    data = as_json(yaml.safe_load(text))
    paths = set()
    pending = list(validator.iter_errors(data))
    while pending:
        error = pending.pop()
        paths.add(tuple(error.absolute_path))
        pending.extend(error.context or ())
    assert where in paths
    with pytest.raises(ScenarioError):
        parse(text)


def test_the_schema_file_is_where_the_docs_say():
    assert Path("docs/resolutions.schema.json").as_posix() in (
        REPO / "docs" / "scoring.md"
    ).read_text(encoding="utf-8")
