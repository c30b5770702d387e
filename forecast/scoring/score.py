"""From run folders and resolutions files to the numbers of score.json.

A run's forecast of an outcome is read from its summary.json: the posterior mean probability, and
the prior mean for "prior". Nothing is sampled again. Each resolved outcome is one item, scored by
every forecaster that has a forecast of it: the run's posterior and prior, and each benchmark of
its resolutions file.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from forecast.errors import ForecastError, Problem, ScenarioError
from forecast.scoring import aggregate, rules
from forecast.scoring.keys import RUN_FORECASTERS
from forecast.scoring.resolutions import ResolutionsFile, check_against_run

SCORE_FORMAT = 1  # the layout of score.json (docs/scoring.md)
SCORES = ("brier", "brier_2", "log", "baseline")
# Category probabilities in summary.json are means of draws that each sum to 1; they may differ
# from 1 by rounding only.
SUMMARY_SUM_TOLERANCE = 1e-6


class ScoringError(ForecastError):
    """Run folders that cannot be scored; one message per problem, each saying how to fix it."""

    exit_status = 1

    def __init__(self, messages: Sequence[str]):
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


@dataclass(frozen=True)
class Run:
    folder: Path
    summary: Mapping


def load_runs(folders: Sequence[str | Path]) -> list[Run]:
    """Each folder's summary.json; raises ScoringError naming every folder that has none."""
    from forecast.report.run_folder import ReportError, load_summary

    runs, problems = [], []
    for folder in folders:
        folder = Path(folder)
        path = folder / "summary.json"
        if not path.is_file():
            problems.append(
                f"{folder}: no summary.json; give a folder that `forecast run` wrote "
                "(such as reports/NAME), or run the scenario first"
            )
            continue
        try:
            runs.append(Run(folder, load_summary(path)))
        except ReportError as error:
            problems.append(str(error))
    seen: dict[str, Path] = {}
    for run in runs:
        stem = run.summary.get("scenario")
        if stem in seen:
            problems.append(
                f"{seen[stem]} and {run.folder} are both runs of '{stem}'; score one of them "
                "at a time"
            )
        seen.setdefault(stem, run.folder)
    if problems:
        raise ScoringError(problems)
    return runs


def pair_runs(
    runs: Sequence[Run], files: Sequence[ResolutionsFile]
) -> list[tuple[Run, ResolutionsFile]]:
    """Each run with the resolutions file of its scenario, matched by the scenario's stem.

    Raises ScenarioError with every located problem (a file for a scenario no run is of, two
    files for one scenario, a file that does not fit its run), and ScoringError for a run that no
    file resolves.
    """
    by_stem = {run.summary["scenario"]: run for run in runs}
    problems: list[Problem] = []
    claimed: dict[str, ResolutionsFile] = {}
    pairs = []
    for file in files:
        run = by_stem.get(file.scenario)
        where = file.document.where(("scenario",))
        if run is None:
            from forecast.spec.readers import suggest

            given = ", ".join(f"'{stem}' ({r.folder})" for stem, r in by_stem.items())
            problems.append(
                Problem(
                    file.file,
                    where.line,
                    where.column,
                    ("scenario",),
                    f"this file resolves '{file.scenario}'{suggest(file.scenario, by_stem)}, but "
                    f"no run given is of that scenario (runs given: {given}); give the run "
                    "folder of its scenario, or correct the name",
                )
            )
            continue
        if file.scenario in claimed:
            problems.append(
                Problem(
                    file.file,
                    where.line,
                    where.column,
                    ("scenario",),
                    f"{claimed[file.scenario].file} resolves '{file.scenario}' too; merge the "
                    "two files into one",
                )
            )
            continue
        claimed[file.scenario] = file
        problems.extend(check_against_run(file, run.summary))
        pairs.append((run, file))
    if problems:
        raise ScenarioError(problems)
    order = {id(run): index for index, run in enumerate(runs)}
    pairs.sort(key=lambda pair: order[id(pair[0])])  # in the order the runs were given
    unresolved = [run for run in runs if run.summary["scenario"] not in claimed]
    if unresolved:
        raise ScoringError(
            [
                f"{run.folder}: no resolutions file for its scenario "
                f"'{run.summary['scenario']}'; pass one with --resolutions (its scenario: key "
                "names the scenario), or leave the run out"
                for run in unresolved
            ]
        )
    return pairs


# -- one item per resolved outcome ----------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One resolved outcome of one run, with every forecaster's probability of each value."""

    run: str
    outcome: str
    label: str
    kind: str  # "binary", "event" (scored as happening by the horizon) or "categorical"
    values: tuple[str, ...]  # ("no", "yes") for a binary outcome; else the categories
    value_labels: tuple[str, ...]
    happened: int  # index into values
    date: dt.date | None
    source: str | None
    probabilities: Mapping[str, tuple[float, ...]]  # forecaster -> one per value

    def probability_of_what_happened(self, forecaster: str) -> float:
        return self.probabilities[forecaster][self.happened]

    def yes_no_forecasts(self, forecaster: str) -> list[tuple[float, bool]]:
        """(probability, happened) pairs: P(yes) for a binary outcome, one per category else."""
        probabilities = self.probabilities[forecaster]
        if self.kind != "categorical":
            return [(probabilities[1], self.happened == 1)]
        return [(p, index == self.happened) for index, p in enumerate(probabilities)]

    def scores(self, forecaster: str) -> dict[str, float]:
        probabilities = self.probabilities[forecaster]
        p = probabilities[self.happened]
        if self.kind != "categorical":
            happened = self.happened == 1
            return {
                "brier": rules.brier_binary(probabilities[1], happened),
                "brier_2": rules.brier_two_category(probabilities[1], happened),
                "log": rules.log_score(p),
                "baseline": rules.baseline_binary(p),
            }
        return {
            "brier": rules.brier_categorical(probabilities, self.happened),
            "brier_2": rules.brier_categorical(probabilities, self.happened),
            "log": rules.log_score(p),
            "baseline": rules.baseline_categorical(p, len(probabilities)),
        }


def _run_probabilities(summary: Mapping, outcome: str, moment: str) -> tuple[float, ...]:
    """A run's mean probability of each value of an outcome, `moment` "prior" or "posterior"."""
    entry = summary["outcomes"][outcome]
    if entry["kind"] != "categorical":
        p = _checked(float(entry[moment]["mean"]), summary)
        return (1.0 - p, p)
    values = [_checked(float(c[moment]["mean"]), summary) for c in entry["categories"].values()]
    total = math.fsum(values)
    if abs(total - 1.0) > SUMMARY_SUM_TOLERANCE:
        raise ScoringError(
            [
                f"summary.json of '{summary['scenario']}': the {moment} probabilities of "
                f"'{outcome}' sum to {total!r}, not 1; run the scenario again"
            ]
        )
    return tuple(v / total for v in values)


def _checked(p: float, summary: Mapping) -> float:
    if not 0.0 <= p <= 1.0:
        raise ScoringError(
            [
                f"summary.json of '{summary['scenario']}' holds the probability {p!r}, outside "
                "0 to 1; run the scenario again"
            ]
        )
    return p


def build_items(run: Run, file: ResolutionsFile) -> list[Item]:
    """One item per outcome the file resolves, in the file's order."""
    summary = run.summary
    items = []
    for resolution in file.resolutions:
        entry = summary["outcomes"][resolution.outcome]
        probabilities = {
            moment: _run_probabilities(summary, resolution.outcome, moment)
            for moment in RUN_FORECASTERS
        }
        if entry["kind"] != "categorical":
            values, labels = ("no", "yes"), ("no", "yes")
            happened = 1 if resolution.value else 0
        else:
            values = tuple(entry["categories"])
            labels = tuple(c.get("label", name) for name, c in entry["categories"].items())
            happened = values.index(resolution.value)
        for benchmark, forecasts in file.benchmarks.items():
            forecast = forecasts.get(resolution.outcome)
            if forecast is None:
                continue
            if entry["kind"] != "categorical":
                probabilities[benchmark] = (1.0 - forecast, forecast)
            else:
                probabilities[benchmark] = tuple(forecast.get(v, 0.0) for v in values)
        items.append(
            Item(
                run=summary["scenario"],
                outcome=resolution.outcome,
                label=entry.get("label") or resolution.outcome,
                kind=entry["kind"],
                values=values,
                value_labels=labels,
                happened=happened,
                date=resolution.date,
                source=resolution.source,
                probabilities=probabilities,
            )
        )
    return items


# -- the document ---------------------------------------------------------------------------------


def compute_scores(pairs: Sequence[tuple[Run, ResolutionsFile]]) -> dict:
    """Every number of score.json, as plain data (-inf as a float; see `to_json`)."""
    items: list[Item] = []
    inputs = []
    for run, file in pairs:
        built = build_items(run, file)
        items.extend(built)
        resolved = {r.outcome for r in file.resolutions}
        inputs.append(
            {
                "scenario": run.summary["scenario"],
                "title": run.summary.get("title"),
                "run_folder": str(run.folder),
                "as_of": run.summary.get("as_of"),
                "horizon": run.summary.get("horizon"),
                "run_created": run.summary.get("created"),
                "input_sha256": run.summary.get("input_sha256"),
                "resolutions_file": file.file,
                "resolved_on": file.resolved_on.isoformat(),
                "resolved": len(built),
                "unresolved": [name for name in run.summary["outcomes"] if name not in resolved],
            }
        )
    # The run's two forecasts, then the benchmarks in the order the files first name them.
    forecasters = list(
        dict.fromkeys([*RUN_FORECASTERS, *(n for i in items for n in i.probabilities)])
    )
    per_item = [{name: item.scores(name) for name in item.probabilities} for item in items]
    return {
        "format": SCORE_FORMAT,
        "runs": [entry["scenario"] for entry in inputs],
        "inputs": inputs,
        "forecasters": forecasters,
        "items": [_item_entry(item, scores) for item, scores in zip(items, per_item, strict=True)],
        "mean": _comparison(per_item, list(RUN_FORECASTERS)),
        "benchmark_means": {
            name: _comparison(per_item, [*RUN_FORECASTERS, name])
            for name in forecasters
            if name not in RUN_FORECASTERS
        },
        "calibration": {
            name: _calibration(items, name) for name in forecasters if _pairs(items, name)
        },
        "decomposition": {
            name: _decomposition(items, name) for name in forecasters if _pairs(items, name)
        },
        "notes": _notes(items),
    }


def _item_entry(item: Item, scores: Mapping[str, Mapping[str, float]]) -> dict:
    entry = {
        "run": item.run,
        "outcome": item.outcome,
        "label": item.label,
        "kind": item.kind,
        "resolved": (item.happened == 1)
        if item.kind != "categorical"
        else item.values[item.happened],
        "resolved_label": item.value_labels[item.happened],
        "date": item.date.isoformat() if item.date else None,
        "source": item.source,
    }
    if item.kind != "categorical":
        entry["probability_of_yes"] = {name: p[1] for name, p in item.probabilities.items()}
    else:
        entry["categories"] = list(item.values)
        entry["probabilities"] = {
            name: dict(zip(item.values, p, strict=True)) for name, p in item.probabilities.items()
        }
    entry["forecast"] = {
        name: item.probability_of_what_happened(name) for name in item.probabilities
    }
    for score in SCORES:
        entry[score] = {name: scores[name][score] for name in item.probabilities}
    return entry


def _comparison(per_item: Sequence[Mapping], forecasters: list[str]) -> dict:
    result: dict = {"forecasters": forecasters}
    for score in SCORES:
        n, means = aggregate.mean_over_shared(
            [{name: scores[score] for name, scores in item.items()} for item in per_item],
            forecasters,
        )
        result["n"] = n
        result[score] = means
    return result


def _pairs(items: Sequence[Item], forecaster: str) -> list[tuple[float, bool]]:
    return [
        pair
        for item in items
        if forecaster in item.probabilities
        for pair in item.yes_no_forecasts(forecaster)
    ]


def _calibration(items: Sequence[Item], forecaster: str) -> dict:
    pairs = _pairs(items, forecaster)
    return {
        "n": len(pairs),
        "level": aggregate.LEVEL,
        "interval_method": "Jeffreys",
        "bins": [
            {
                "from": group.low,
                "to": group.high,
                "n": group.n,
                "happened": group.happened,
                "forecast": group.forecast,
                "observed": group.observed,
                "interval": list(group.interval),
            }
            for group in aggregate.compute_calibration(pairs)
        ],
    }


def _decomposition(items: Sequence[Item], forecaster: str) -> dict:
    parts = aggregate.murphy_decomposition(_pairs(items, forecaster))
    return {
        "n": parts.n,
        "brier": parts.brier,
        "reliability": parts.reliability,
        "resolution": parts.resolution,
        "uncertainty": parts.uncertainty,
        "within_bins": parts.within_bins,
    }


def _notes(items: Sequence[Item]) -> list[str]:
    notes = []
    for item in items:
        for name in item.probabilities:
            if item.probability_of_what_happened(name) == 0.0:
                notes.append(
                    f"{name} gave probability 0 to what happened to '{item.outcome}' "
                    f"({item.run}): its log and baseline scores there are -inf, and so is every "
                    "mean that includes them"
                )
    return notes


def to_json(value):
    """score.json's data with -inf written as the string "-inf", which JSON can hold."""
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, float) and math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return value
