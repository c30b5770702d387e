"""Sweeps: every named scenario's probability along a grid of values of one or two numbers of a
scenario file (`forecast sweep FILE --vary PATH=FROM:TO:STEPS`).

A sweep samples the file once. Every grid point has the file's structure and other numbers, so
its posterior is the base posterior reweighted by the change in the model's log density at each
draw (Pareto-smoothed importance sampling, as `forecast.sensitivity` does for the tornado); where
the weights cannot be trusted (Pareto k-hat above `KHAT_LIMIT`, or fewer than `MIN_ESS`
effective draws left for the interval) the compiled model is sampled again with the point's
numbers. Either way no model is compiled again.

Every grid point is validated like a file before anything is sampled, so a value outside a
parameter's domain is an error that names the `--vary` option and the value, and nothing runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

import numpy as np

from forecast.errors import OptionError, Problem, RunError, ScenarioError
from forecast.folders import staging_folder, swap_in
from forecast.spec import Override, Scenario, WhatIf
from forecast.spec.overrides import (
    PathError,
    apply_what_if,
    format_path,
    mapping_key,
    parse_path,
)
from forecast.spec.yamlfile import KeyPath, parse_document

SWEEP_FORMAT = 1
# The folder of a sweep: OUT/<stem>@sweep/, beside the file's run folder.
SWEEP_NAME = "sweep"
FILES = {"json": "sweep.json", "html": "sweep.html", "pdf": "sweep.pdf"}
MAX_VARY = 2  # a line or a grid
MAX_STEPS = 100
# A heat map of more cells than this is unreadable, and each cell costs a reweighting or a run.
MAX_POINTS = 400
EXAMPLE = "such as --vary 'outcomes.p.prior.beta[0]=1:5:9'"
# Fewer effective draws than this leave a reweighted 90% interval too noisy to draw, whatever the
# k-hat says of the mean: such a point is sampled again too.
MIN_ESS = 200
# A point sampled again needs its means and intervals: two chains of at most the run's draws.
RESAMPLE_CHAINS = 2
RESAMPLE_DRAWS = 1000
# Grid values are rounded to this many significant digits, so 0.1 * 3 is written 0.3.
DIGITS = 12


# -- the options ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vary:
    """One `--vary PATH=FROM:TO:STEPS` option: STEPS evenly spaced values from FROM to TO."""

    number: int  # 1-based, in the order given
    path: KeyPath
    start: float
    stop: float
    steps: int

    @property
    def label(self) -> str:
        """The option in messages: `--vary #1 (outcomes.p.prior.beta[0])`."""
        return f"--vary #{self.number} ({format_path(self.path)})"

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(
            float(f"{value:.{DIGITS}g}") for value in np.linspace(self.start, self.stop, self.steps)
        )


def read_vary_options(options: Sequence[str]) -> tuple[Vary, ...]:
    """The sweep's axes from `--vary PATH=FROM:TO:STEPS` options, in order.

    Raises
    ------
    OptionError
        If an option is malformed, there are more than MAX_VARY, two vary the same path, or a
        grid has more than MAX_POINTS points.
    """
    if len(options) > MAX_VARY:
        raise OptionError(
            f"--vary is given {len(options)} times; a sweep varies one number (a line) or two "
            "(a grid)"
        )
    varies = tuple(_vary_option(text, number) for number, text in enumerate(options, start=1))
    for later in varies[1:]:
        for earlier in varies[: later.number - 1]:
            if later.path == earlier.path:
                raise OptionError(
                    f"{later.label}: the same path as --vary #{earlier.number}; a grid varies "
                    "two different numbers"
                )
    if len(varies) == MAX_VARY:
        count = varies[0].steps * varies[1].steps
        if count > MAX_POINTS:
            raise OptionError(
                f"--vary: a grid of {varies[0].steps} × {varies[1].steps} = {count} points; at "
                f"most {MAX_POINTS}, such as 20 × 20"
            )
    return varies


def _vary_option(text: str, number: int) -> Vary:
    label = f"--vary #{number} '{text}'"
    # FROM:TO:STEPS holds no '=', so the last one ends the path, whatever the path quotes.
    written_path, equals, written_range = text.rpartition("=")
    if not equals or not written_path.strip():
        raise OptionError(f"{label}: expected PATH=FROM:TO:STEPS, {EXAMPLE}")
    try:
        path = parse_path(written_path.strip())
    except PathError as error:
        raise OptionError(f"{label}: {error}") from None
    if path[0] == "variants":
        raise OptionError(f"{label}: a variant cannot be swept; vary a number of the file")
    where = f"--vary #{number} ({format_path(path)})"
    parts = written_range.split(":")
    if len(parts) != 3:
        raise OptionError(
            f"{where}: expected FROM:TO:STEPS after '=', such as 0.2:0.8:13, got '{written_range}'"
        )
    start, stop = _number(where, "FROM", parts[0]), _number(where, "TO", parts[1])
    steps_text = parts[2].strip()
    if not re.fullmatch(r"\+?\d+", steps_text):
        raise OptionError(
            f"{where}: STEPS '{parts[2]}' is not a whole number; give how many values, such as 9"
        )
    steps = int(steps_text)
    if steps < 2:
        raise OptionError(f"{where}: STEPS is {steps}; a sweep needs at least 2 values")
    if steps > MAX_STEPS:
        raise OptionError(f"{where}: STEPS is {steps}; at most {MAX_STEPS} values per --vary")
    if start == stop:
        raise OptionError(f"{where}: FROM and TO are both {parts[0].strip()}; give two values")
    return Vary(number, path, start, stop, steps)


def _number(where: str, name: str, text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise OptionError(f"{where}: {name} '{text}' is not a number") from None
    if not math.isfinite(value):
        raise OptionError(f"{where}: {name} '{text}' is not a finite number")
    return value


# -- the grid -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One varied number: its option, the values it takes, and the file's own value there:
    where the file leaves the key out, the format's default (None if it has none)."""

    vary: Vary
    values: tuple[float | int, ...]
    file_value: float | None
    in_file: bool = True


@dataclass(frozen=True)
class Point:
    """One grid point: its position on each axis, its values, and the scenario there."""

    index: tuple[int, ...]
    values: tuple[float | int, ...]
    scenario: Scenario


@dataclass(frozen=True)
class SweepPlan:
    """The file, its axes and every grid point, each validated. The first axis varies slowest."""

    base: Scenario
    axes: tuple[Axis, ...]
    points: tuple[Point, ...]


def plan_sweep(base: Scenario, varies: Sequence[Vary]) -> SweepPlan:
    """Validate every grid point of a sweep of `base` before anything is sampled.

    Raises
    ------
    ScenarioError
        If a path does not lead to a number of the file; if a grid point is invalid (the first
        such point's problems, each naming the `--vary` options and values at fault); if a point
        changes the model's structure; or if an axis changes no number of the model.
    """
    from forecast import model as scenario_model

    document = parse_document(base.text.encode("utf-8"), base.source_file)
    axes = tuple(_axis(base, document.data, vary) for vary in varies)
    structure = scenario_model.structure_key(base)
    points = []
    grid = list(itertools.product(*(range(len(axis.values)) for axis in axes)))
    for index in grid:
        values = tuple(axis.values[i] for axis, i in zip(axes, index, strict=True))
        try:
            scenario = _at(document, base, axes, values)
        except ScenarioError as error:
            # A problem that the values do not change (a path that is not in the file) is told
            # as it is; one of these values, with the values.
            other = tuple(axis.values[i] for axis, i in zip(axes, grid[-1], strict=True))
            if other == values or _problems_at(document, base, axes, other) != error.problems:
                raise ScenarioError(
                    [_at_point(problem, axes, values) for problem in error.problems]
                ) from None
            raise ScenarioError([_at_point(p, axes, None) for p in error.problems]) from None
        if scenario_model.structure_key(scenario) != structure:
            raise ScenarioError(
                [
                    _problem(
                        base,
                        axes,
                        values,
                        "the model's structure changes there; a sweep varies numbers within "
                        "one structure (prior parameters, evidence counts and weights)",
                    )
                ]
            )
        points.append(Point(index, values, scenario))
    for position, axis in enumerate(axes):
        # Along this axis, the other axes at their first value.
        line = [p for p in points if all(i == 0 for k, i in enumerate(p.index) if k != position)]
        first = scenario_model.model_data(line[0].scenario)
        if all(_same_data(scenario_model.model_data(p.scenario), first) for p in line[1:]):
            raise ScenarioError(
                [
                    Problem(
                        base.source_file,
                        0,
                        0,
                        (),
                        "changes no number of the model at any of its values; vary a number "
                        "of a prior or of an evidence item, such as evidence[0].weight",
                        axis.vary.path,
                        origin=axis.vary.label,
                    )
                ]
            )
    return SweepPlan(base, axes, tuple(points))


def _at(document, base: Scenario, axes: Sequence[Axis], values: Sequence) -> Scenario:
    """The scenario at a grid point, validated like a file."""
    what_if = WhatIf(
        SWEEP_NAME,
        None,
        tuple(
            Override(axis.vary.path, value, format_path(axis.vary.path), axis.vary.number)
            for axis, value in zip(axes, values, strict=True)
        ),
        in_file=False,
    )
    return apply_what_if(document, base, what_if)


def _problems_at(document, base: Scenario, axes: Sequence[Axis], values: Sequence) -> list:
    try:
        _at(document, base, axes, values)
    except ScenarioError as error:
        return error.problems
    return []


_MISSING = object()


def _axis(base: Scenario, data, vary: Vary) -> Axis:
    """The axis of an option whose path leads to a number of the file, or to a key the format
    allows and the file leaves out (which the validation of each point then checks)."""
    from forecast.spec.readers import kind

    value = _value_at(data, vary.path)
    if value is _MISSING:
        return Axis(vary, vary.values, _default(base, vary.path), in_file=False)
    if not _is_number(value):
        inside = _first_number_path(value, vary.path)
        hint = f"; vary one of its numbers, such as {format_path(inside)}" if inside else ""
        raise ScenarioError(
            [
                Problem(
                    base.source_file,
                    0,
                    0,
                    (),
                    f"the file has {kind(value)} there, not a number{hint}",
                    vary.path,
                    origin=vary.label,
                )
            ]
        )
    values = vary.values
    if isinstance(value, int):
        # A count stays a whole number where the grid gives one.
        values = tuple(int(v) if float(v).is_integer() else v for v in values)
    return Axis(vary, values, value)


def _default(base: Scenario, path: KeyPath) -> float | None:
    """The value the format gives a number the file leaves out: an evidence item's weight."""
    match path:
        case ("evidence", int(index), "weight") if index < len(base.evidence):
            return base.evidence[index].weight
    return None


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value_at(data, path: KeyPath):
    here = data
    for part in path:
        if isinstance(part, int):
            if not isinstance(here, list) or part >= len(here):
                return _MISSING
            here = here[part]
            continue
        if not isinstance(here, dict) or mapping_key(here, part) not in here:
            return _MISSING
        here = here[mapping_key(here, part)]
    return here


def _first_number_path(value, path: KeyPath) -> KeyPath | None:
    """The path of the first number inside a mapping or list, depth first."""
    if _is_number(value):
        return path
    items = value.items() if isinstance(value, dict) else enumerate(value)
    if not isinstance(value, dict | list):
        return None
    for key, item in items:
        found = _first_number_path(item, (*path, key))
        if found is not None:
            return found
    return None


def describe_point(axes: Sequence[Axis], values: Sequence) -> str:
    """A grid point in messages: `at 0.35`, or `at #1 = 0.35, #2 = 2` on a grid."""
    if len(axes) == 1:
        return f"at {values[0]}"
    return "at " + ", ".join(
        f"#{axis.vary.number} = {value}" for axis, value in zip(axes, values, strict=True)
    )


def _at_point(problem: Problem, axes: Sequence[Axis], values: Sequence | None) -> Problem:
    """A problem of a grid point's document, told as one of the `--vary` options behind it and,
    unless `values` is None, of the values there."""
    origin = problem.origin or ""
    origin = origin.replace("--set ", "--vary ", 1) if origin else axes[0].vary.label
    message = problem.message
    if values is not None:
        message = f"{describe_point(axes, values)}: {message}"
    return dataclasses.replace(problem, origin=origin, message=message)


def _problem(base: Scenario, axes: Sequence[Axis], values: Sequence, message: str) -> Problem:
    origin = "--vary " + ", ".join(
        f"#{axis.vary.number} ({format_path(axis.vary.path)})" for axis in axes
    )
    return Problem(
        base.source_file,
        0,
        0,
        (),
        f"{describe_point(axes, values)}: {message}",
        axes[0].vary.path,
        origin=origin,
    )


def _same_data(one: dict, other: dict) -> bool:
    return one.keys() == other.keys() and all(np.array_equal(one[k], other[k]) for k in one)


# -- the numbers ----------------------------------------------------------------------------------


def sweep_quantities(scenario: Scenario, draws, rng: np.random.Generator) -> dict:
    """What a sweep reports, per draw, shaped (chain, draw): each named scenario's probability
    and each outcome's (for a categorical outcome, each category's)."""
    from forecast.worlds import scenario_probability

    outcomes: dict = {}
    for outcome in scenario.outcomes:
        marginal = draws.marginal(outcome)
        if outcome.is_binary:
            outcomes[outcome.name] = marginal[1]
        else:
            outcomes[outcome.name] = {
                category: marginal[k] for k, category in enumerate(outcome.categories)
            }
    scenarios = {
        named.name: scenario_probability(draws, named.expression, rng)[0]
        for named in scenario.scenarios
    }
    return {"scenarios": scenarios, "outcomes": outcomes}


def _map(function: Callable, tree):
    """`function` applied to every array of a quantities tree, keeping its nesting."""
    if isinstance(tree, dict):
        return {name: _map(function, item) for name, item in tree.items()}
    return function(tree)


def _leaves(tree) -> list[np.ndarray]:
    if isinstance(tree, dict):
        return [leaf for item in tree.values() for leaf in _leaves(item)]
    return [tree]


def _cell(stats: dict) -> dict:
    """A quantity at one point, as sweep.json gives it."""
    return {"mean": stats["mean"], "hdi90": stats["hdi90"], "mcse": stats["mcse"]}


def resample_settings(settings):
    """The sampler settings of a point sampled again: fewer chains and draws than the run's."""
    return dataclasses.replace(
        settings,
        chains=min(settings.chains, RESAMPLE_CHAINS),
        draws=min(settings.draws, RESAMPLE_DRAWS),
    )


def resample_point(scenario: Scenario, settings) -> dict:
    """A grid point sampled again, as a job (here or on a cluster's worker): its cells, whether
    its diagnostics passed, and their warnings. The seed is in `settings`, so the numbers are
    the same wherever it runs."""
    from forecast import inference
    from forecast.summarize import describe
    from forecast.worlds import Draws

    resampled = inference.sample(scenario, settings, with_prior=False)
    point_draws = Draws(scenario, resampled.tree["posterior"].to_dataset())
    values = sweep_quantities(scenario, point_draws, np.random.default_rng(settings.seed))
    checks = inference.diagnose(resampled.tree)
    return {
        "cells": _map(lambda v: _cell(describe(v)), values),
        "ok": checks["ok"],
        "warnings": checks["warnings"],
    }


def _error_text(error: BaseException) -> str:
    return str(error) if isinstance(error, RunError) else f"{type(error).__name__}: {error}"


def compute_sweep(
    plan: SweepPlan,
    settings,
    *,
    command: str = "forecast sweep",
    progress: bool = False,
    on_point: Callable[[int], None] | None = None,
    jobs=None,
) -> dict:
    """Sample the file once and compute every grid point: the document sweep.json holds
    (docs/sweep.md). `settings` are the base run's (`forecast.inference.Settings`); `on_point`
    is called with each point's position once it is done. The points sampled again are run
    through `jobs` (`forecast.cluster.Jobs`: here unless it names a cluster), after every
    reweighted point.

    Raises
    ------
    RunError
        If a point sampled again fails: each such point with its error.
    """
    from forecast import compiled as compiled_models
    from forecast import inference
    from forecast import model as scenario_model
    from forecast.cluster import Job, Jobs
    from forecast.sensitivity import KHAT_LIMIT, psis_weights, relative_efficiency
    from forecast.summarize import describe
    from forecast.worlds import Draws

    started = time.perf_counter()
    base = plan.base
    sampled = inference.sample(base, settings, progress=progress, with_prior=False)
    diagnostics = inference.diagnose(sampled.tree)
    posterior = sampled.tree["posterior"].to_dataset()
    draws = Draws(base, posterior)
    quantities = sweep_quantities(base, draws, np.random.default_rng(settings.seed))
    r_eff = relative_efficiency(_leaves(quantities))
    density = inference.log_density(base).at(posterior)
    data = scenario_model.model_data(base)
    log_prior, log_likelihood = density(data)
    reference = log_prior + log_likelihood
    again = resample_settings(settings)
    warnings = [f"the file's own run: {warning}" for warning in diagnostics["warnings"]]
    points, seconds = [], {"reweighting": 0.0, "resampling": 0.0}
    resample: list[int] = []  # positions of the points to sample again
    try:
        for position, point in enumerate(plan.points):
            clock = time.perf_counter()
            log_prior, log_likelihood = density(scenario_model.model_data(point.scenario))
            weights, khat = psis_weights(log_prior + log_likelihood - reference, r_eff)
            ess = float(1 / np.sum(weights**2)) if math.isfinite(khat) else None
            entry = {"values": list(point.values), "khat": _finite(khat), "ess": ess}
            points.append(entry)
            if khat <= KHAT_LIMIT and (ess is None or ess >= MIN_ESS):
                entry.update(method="reweighted", reason=None)
                entry.update(_map(_weighted_cell(weights, r_eff), quantities))
                seconds["reweighting"] += time.perf_counter() - clock
                if on_point is not None:
                    on_point(position)
            else:
                entry.update(method="resampled", reason="khat" if not khat <= KHAT_LIMIT else "ess")
                resample.append(position)
        batch = [
            Job(
                describe_point(plan.axes, plan.points[position].values),
                resample_point,
                (plan.points[position].scenario, again),
            )
            for position in resample
        ]
        where = {id(job): position for job, position in zip(batch, resample, strict=True)}

        def point_done(done) -> None:
            if on_point is not None:
                on_point(where[id(done.job)])

        if jobs is None or jobs.here:
            compiled_models.upgrade_if_worth(len(batch) * again.chains * (again.draws + again.tune))
        if jobs is None:
            with Jobs() as own:
                finished = own.run(batch, on_finished=point_done)
        else:
            finished = jobs.run(batch, on_finished=point_done)
    finally:
        density.set(data)  # the file's numbers back, for whoever uses the model next
    failed = [done for done in finished if not done.ok]
    if failed:
        raise RunError(
            "; ".join(f"the point {done.job.name}: {_error_text(done.error)}" for done in failed)
            + "; nothing was written"
        )
    for position, done in zip(resample, finished, strict=True):
        entry, checks = points[position], done.result
        entry["diagnostics_ok"] = checks["ok"]
        entry.update(checks["cells"])
        if checks["warnings"]:
            # One line per point: its first problem, and how many more sweep.json has.
            more = len(checks["warnings"]) - 1
            warnings.append(
                f"the point {done.job.name}, sampled again: {checks['warnings'][0]}"
                + (f" ({more} more such problem{'s' if more > 1 else ''})" if more else "")
            )
            entry["warnings"] = checks["warnings"]
        seconds["resampling"] += done.seconds
    base_cells = _map(lambda v: _cell(describe(v)), quantities)
    return {
        "format": SWEEP_FORMAT,
        "scenario": PurePath(base.source_file).stem,
        "title": base.title,
        "question": base.question,
        "source_file": base.source_file,
        "input_sha256": base.sha256,
        "command": command,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
        "sampler": {
            "chains": settings.chains,
            "draws": settings.draws,
            "tune": settings.tune,
            "seed": settings.seed,
            "resampled_chains": again.chains,
            "resampled_draws": again.draws,
        },
        "khat_limit": KHAT_LIMIT,
        "min_ess": MIN_ESS,
        "vary": [
            {
                "path": format_path(axis.vary.path),
                "from": axis.vary.start,
                "to": axis.vary.stop,
                "steps": axis.vary.steps,
                "values": list(axis.values),
                "file_value": axis.file_value,
                "in_file": axis.in_file,
            }
            for axis in plan.axes
        ],
        "labels": {
            "scenarios": {named.name: named.text for named in base.scenarios},
            "outcomes": {
                outcome.name: {
                    "label": outcome.label,
                    "categories": dict(
                        zip(outcome.categories, outcome.category_labels, strict=True)
                    ),
                }
                for outcome in base.outcomes
            },
        },
        "base": {"diagnostics_ok": diagnostics["ok"], **base_cells},
        "points": points,
        "warnings": warnings,
        "seconds": {
            "total": round(time.perf_counter() - started, 2),
            "sampling": round(sampled.seconds, 2),
            "reweighting": round(seconds["reweighting"], 2),
            "resampling": round(seconds["resampling"], 2),
        },
    }


def _weighted_cell(weights: np.ndarray, r_eff: float) -> Callable[[np.ndarray], dict]:
    from forecast.summarize import describe_weighted

    return lambda values: _cell(describe_weighted(values.ravel(), weights, r_eff))


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _versions() -> dict:
    from forecast.pipeline import versions

    return versions()


# -- the folder -----------------------------------------------------------------------------------


def sweep_folder(out_dir: Path, base: Scenario) -> Path:
    """OUT/<stem>@sweep/."""
    return Path(out_dir) / f"{PurePath(base.source_file).stem}@{SWEEP_NAME}"


def write_sweep(
    document: dict, folder: Path, *, formats: set[str] | frozenset[str], paper: str = "a4"
) -> list[Path]:
    """Write sweep.json and the pages of `formats` (html, pdf) into `folder`, all or nothing:
    they are built in a temporary folder beside it, which then replaces it."""
    import json

    folder = Path(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = staging_folder(folder.parent, folder.name)
    except OSError as error:
        raise RunError(f"cannot write into {folder.parent}: {error.strerror}") from None
    try:
        text = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
        (staging / FILES["json"]).write_text(text + "\n", encoding="utf-8")
        pages = set(formats) & {"html", "pdf"}
        if pages:
            from forecast.report.sweep_page import write_sweep_pages

            write_sweep_pages(document, staging, formats=pages, paper=paper)
        swap_in(staging, folder)
    except OSError as error:
        raise RunError(f"cannot write {folder}: {error.strerror}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [
        folder / FILES[kind]
        for kind in ("json", "html", "pdf")
        if kind == "json" or kind in formats
    ]
