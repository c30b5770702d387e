"""Reading a resolutions file: YAML in, validated immutable data out, every problem located.

Two stages, each reporting every problem it finds at once, one line each as
FILE:LINE:COL: key -> path: message. `read_resolutions` checks the file on its own (keys, types,
dates in order); `check_against_run` checks it against the run it resolves (outcome and category
names, what each outcome can take, dates inside the scenario's window), locating each problem in
the resolutions file, since that is where it is fixed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from forecast.errors import Problem, ScenarioError
from forecast.scoring import keys
from forecast.spec.readers import NAME, Checker, kind, suggest
from forecast.spec.yamlfile import MAX_BYTES, Document, parse_document

# Category probabilities of a benchmark may be rounded: they must sum to 1 within this, and are
# then rescaled to sum to 1 exactly.
SUM_TOLERANCE = 0.005


@dataclass(frozen=True)
class Resolution:
    """What happened to one outcome: true/false, or the name of the category that happened."""

    outcome: str
    value: bool | str
    date: dt.date | None
    source: str | None


@dataclass(frozen=True)
class ResolutionsFile:
    file: str
    scenario: str
    resolved_on: dt.date
    resolutions: tuple[Resolution, ...]
    # benchmark -> outcome -> P(yes), or for a categorical outcome category -> probability
    benchmarks: Mapping[str, Mapping[str, float | Mapping[str, float]]]
    # The file as read, to locate the problems found when it is checked against its run.
    document: Document = field(compare=False, repr=False)

    def resolution(self, outcome: str) -> Resolution | None:
        return next((r for r in self.resolutions if r.outcome == outcome), None)


def load_resolutions(path: str | Path) -> ResolutionsFile:
    """Read and check a resolutions file on its own; raises ScenarioError listing every problem."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ScenarioError([Problem(name, 1, 1, (), f"cannot read the file: {reason}")]) from None
    return parse_resolutions(raw, name)


def parse_resolutions(raw: bytes, name: str = "<resolutions>") -> ResolutionsFile:
    """Check resolutions YAML given as bytes; raises ScenarioError listing every problem."""
    document = parse_document(raw, name)
    check = Checker(document)
    result = _read(check)
    if check.problems or result is None:
        raise ScenarioError(check.problems)
    return result


def _read(check: Checker) -> ResolutionsFile | None:
    data = check.document.data
    if not isinstance(data, dict):
        check.fail(
            (),
            "the top level must be a mapping with version, scenario, resolved_on and "
            f"resolutions, got {kind(data)}",
        )
        return None
    check.check_keys(data, (), keys.TOP)
    version = data.get("version")
    if "version" in data and (version != 1 or isinstance(version, bool)):
        check.fail(("version",), f"unsupported version {version!r}; the only version is 1")
    scenario = None
    if "scenario" in data:
        scenario = check.text(data["scenario"], ("scenario",))
        if scenario is not None and (scenario.endswith((".yaml", ".yml")) or "/" in scenario):
            check.fail(
                ("scenario",),
                f"write the scenario file's stem only, such as '{Path(scenario).stem}', "
                "not a file name or path",
            )
            scenario = None
    resolved_on = None
    if "resolved_on" in data:
        resolved_on = check.date(data["resolved_on"], ("resolved_on",))
    resolutions = _read_resolutions(check, data.get("resolutions"), resolved_on)
    benchmarks = _read_benchmarks(check, data.get("benchmarks"))
    if check.problems or scenario is None or resolved_on is None:
        return None
    return ResolutionsFile(
        file=check.document.file,
        scenario=scenario,
        resolved_on=resolved_on,
        resolutions=tuple(resolutions),
        benchmarks=benchmarks,
        document=check.document,
    )


def _read_resolutions(check: Checker, block, resolved_on: dt.date | None) -> list[Resolution]:
    if block is None:
        return []
    if check.mapping(block, ("resolutions",), "resolutions") is None:
        return []
    if not block:
        check.fail(("resolutions",), "list at least one resolved outcome")
    found = []
    for outcome, body in block.items():
        path = ("resolutions", outcome)
        if not check.name(outcome, path, "an outcome name", key=True):
            continue
        if not isinstance(body, dict):
            body = {"value": body}  # the short form, `outcome: value`
            value_path = path
        else:
            check.check_keys(body, path, keys.RESOLUTION)
            value_path = (*path, "value")
        if "value" not in body:
            continue
        value = body["value"]
        if not isinstance(value, bool) and not (isinstance(value, str) and NAME.match(value)):
            check.fail(
                value_path,
                "the value must be true or false for a yes/no outcome, or the name of the "
                f"category that happened for a categorical one; got {kind(value)}",
            )
            continue
        date = check.date(body["date"], (*path, "date")) if "date" in body else None
        if date and resolved_on and date > resolved_on:
            check.fail(
                (*path, "date"),
                f"date {date} is after resolved_on {resolved_on}: a file cannot record what "
                "had not happened when it was resolved; correct the date or move resolved_on",
            )
        source = check.text(body["source"], (*path, "source")) if "source" in body else None
        found.append(Resolution(outcome, value, date, source))
    return found


def _read_benchmarks(check: Checker, block) -> dict[str, dict]:
    if block is None:
        return {}
    if check.mapping(block, ("benchmarks",), "benchmarks") is None:
        return {}
    found: dict[str, dict] = {}
    for benchmark, forecasts in block.items():
        path = ("benchmarks", benchmark)
        if not check.name(benchmark, path, "a benchmark name", key=True):
            continue
        if benchmark in keys.RUN_FORECASTERS:
            check.fail(
                path,
                f"'{benchmark}' names the run's own forecast; call the benchmark something else, "
                "such as betting_odds",
                key=True,
            )
            continue
        if check.mapping(forecasts, path, f"benchmark '{benchmark}'") is None:
            continue
        if not forecasts:
            check.fail(path, "give the benchmark's probability for at least one outcome")
        read = {}
        for outcome, value in forecasts.items():
            where = (*path, outcome)
            if not check.name(outcome, where, "an outcome name", key=True):
                continue
            if isinstance(value, dict):
                categories = _read_categories(check, value, where)
                if categories is not None:
                    read[outcome] = categories
            else:
                p = check.probability(value, where, open_interval=False)
                if p is not None:
                    read[outcome] = p
        found[benchmark] = read
    return found


def _read_categories(check: Checker, value: dict, path) -> dict[str, float] | None:
    probabilities = {}
    for category, p in value.items():
        if not check.name(category, (*path, category), "a category name", key=True):
            return None
        read = check.probability(p, (*path, category), open_interval=False)
        if read is None:
            return None
        probabilities[category] = read
    total = sum(probabilities.values())
    if abs(total - 1.0) > SUM_TOLERANCE:
        check.fail(
            path,
            f"the categories' probabilities sum to {total:g}; they must sum to 1 (within "
            f"{SUM_TOLERANCE}); categories left out count 0",
        )
        return None
    return {category: p / total for category, p in probabilities.items()}


# -- against the run ------------------------------------------------------------------------------


def check_against_run(resolutions: ResolutionsFile, summary: Mapping) -> list[Problem]:
    """The problems of a resolutions file that only its run shows, each located in the file.

    `summary` is the run's summary.json. Checks the scenario's name, that every outcome and
    category exists, that each value is one the outcome can take, and that dates fall inside
    the scenario's window (as_of to horizon).
    """
    check = Checker(resolutions.document)
    if summary.get("scenario") != resolutions.scenario:
        check.fail(
            ("scenario",),
            f"this file resolves '{resolutions.scenario}' but the run is of "
            f"'{summary.get('scenario')}'; give the run of '{resolutions.scenario}', or correct "
            "the name",
        )
        return check.problems
    outcomes = summary["outcomes"]
    as_of, horizon = _date(summary.get("as_of")), _date(summary.get("horizon"))
    if as_of and resolutions.resolved_on < as_of:
        check.fail(
            ("resolved_on",),
            f"resolved_on {resolutions.resolved_on} is before the scenario's as_of {as_of}: "
            "nothing had happened yet; correct the date",
        )
    for resolution in resolutions.resolutions:
        _check_resolution(check, resolution, outcomes, as_of, horizon, resolutions.resolved_on)
    for benchmark, forecasts in resolutions.benchmarks.items():
        for outcome, forecast in forecasts.items():
            _check_benchmark(check, ("benchmarks", benchmark, outcome), outcome, forecast, outcomes)
    return check.problems


def _date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _value_path(check: Checker, outcome: str) -> tuple:
    path = ("resolutions", outcome)
    body = check.document.data["resolutions"][outcome]
    return (*path, "value") if isinstance(body, dict) else path


def _unknown_outcome(check: Checker, path, outcome: str, outcomes: Mapping) -> None:
    check.fail(
        path,
        f"the scenario has no outcome '{outcome}'{suggest(outcome, outcomes)} "
        f"(its outcomes: {', '.join(outcomes)})",
        key=True,
    )


def _check_resolution(check, resolution, outcomes, as_of, horizon, resolved_on) -> None:
    path = ("resolutions", resolution.outcome)
    outcome = outcomes.get(resolution.outcome)
    if outcome is None:
        _unknown_outcome(check, path, resolution.outcome, outcomes)
        return
    value = resolution.value
    if outcome["kind"] != "categorical":
        if not isinstance(value, bool):
            check.fail(
                _value_path(check, resolution.outcome),
                f"'{resolution.outcome}' is a yes/no outcome: its value is true or false, "
                f"not {kind(value)}",
            )
            return
    else:
        categories = list(outcome["categories"])
        if isinstance(value, bool):
            check.fail(
                _value_path(check, resolution.outcome),
                f"'{resolution.outcome}' is categorical: its value is the category that "
                f"happened, one of {', '.join(categories)}; got {kind(value)}",
            )
            return
        if value not in categories:
            check.fail(
                _value_path(check, resolution.outcome),
                f"'{value}' is not a category of '{resolution.outcome}'"
                f"{suggest(value, categories)} (its categories: {', '.join(categories)})",
            )
            return
    if resolution.date is not None:
        if as_of and resolution.date < as_of:
            check.fail(
                (*path, "date"),
                f"date {resolution.date} is before the scenario's as_of {as_of}: the forecast "
                "was made after it; what was known then is not a resolution",
            )
        if horizon and resolution.date > horizon:
            check.fail(
                (*path, "date"),
                f"date {resolution.date} is after the scenario's horizon {horizon}: the "
                "outcome is judged at the horizon; resolve it as it stood then",
            )
    # A yes that has happened stays so; a no, or where a categorical outcome stands, can still
    # change until the horizon.
    if horizon and resolved_on < horizon and value is not True:
        check.fail(
            _value_path(check, resolution.outcome),
            f"resolved_on {resolved_on} is before the scenario's horizon {horizon}, when this "
            "outcome is judged; it may still change: leave it out until then",
        )


def _check_benchmark(check, path, outcome_name, forecast, outcomes) -> None:
    outcome = outcomes.get(outcome_name)
    if outcome is None:
        _unknown_outcome(check, path, outcome_name, outcomes)
        return
    if outcome["kind"] != "categorical":
        if isinstance(forecast, Mapping):
            check.fail(
                path,
                f"'{outcome_name}' is a yes/no outcome: give the benchmark's probability of yes "
                "as one number",
            )
        return
    categories = list(outcome["categories"])
    if not isinstance(forecast, Mapping):
        check.fail(
            path,
            f"'{outcome_name}' is categorical: give the benchmark's probability of each "
            f"category, as {{{categories[0]}: p, ...}}",
        )
        return
    for category in forecast:
        if category not in categories:
            check.fail(
                (*path, category),
                f"'{category}' is not a category of '{outcome_name}'"
                f"{suggest(category, categories)} (its categories: {', '.join(categories)})",
                key=True,
            )
