"""One run: scenario -> draws -> summary -> files. Only this module decides what is written where.

A run's folder is built complete in a temporary folder beside it and swapped in at the end, so an
interrupted or failed run leaves the previous run's files as they were.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forecast import SUMMARY_FORMAT, __version__
from forecast.errors import RunError
from forecast.folders import Staging, swap_in
from forecast.spec import Scenario
from forecast.spec.overrides import describe_overrides

# How summary.json and the report name each sampler (forecast.compiled chooses one).
SAMPLER_NAMES = {
    "nutpie-cached": "nutpie NUTS over PyTensor's cached density",
    "nutpie": "nutpie NUTS over a numba-compiled density",
    "pymc": "PyMC NUTS",
}
DEFAULT_DRAWS = 1000
DEFAULT_TUNE = 1000
DEFAULT_CHAINS = 4
DEFAULT_SEED = 0
# Above this Pareto k-hat, importance weights cannot stand in for the posterior without an
# evidence item, and the model is sampled again without it.
PSIS_LIMIT = 0.7


@dataclass(frozen=True)
class RunOptions:
    seed: int | None = None
    draws: int | None = None
    tune: int | None = None
    chains: int | None = None
    formats: frozenset[str] = frozenset({"json", "html", "pdf"})
    paper: str = "a4"
    progress: bool = False
    command: str = "forecast run"
    # Asked just before the folder is swapped in: True means the caller has gone (a worker's
    # client pressed Ctrl-C), and the run stops as if interrupted, leaving the old folder.
    cancelled: Callable[[], bool] | None = None
    # Called with the summary as soon as it is computed, before any file is written: a live
    # preview shows the new numbers while the folder is still being written.
    summarised: Callable[[dict], None] | None = None
    # Called with the summary without its `sensitivity` block (a copy), before the sensitivity
    # analysis, the longest step after sampling: a live preview shows the numbers meanwhile.
    numbers_ready: Callable[[dict], None] | None = None


@dataclass
class RunResult:
    run_dir: Path
    written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    diagnostics_ok: bool = True


def settings_for(scenario: Scenario, options: RunOptions):
    from forecast.inference import Settings

    def pick(cli, file, default):
        return cli if cli is not None else file if file is not None else default

    return Settings(
        draws=pick(options.draws, scenario.sampling.draws, DEFAULT_DRAWS),
        tune=pick(options.tune, scenario.sampling.tune, DEFAULT_TUNE),
        chains=pick(options.chains, scenario.sampling.chains, DEFAULT_CHAINS),
        seed=pick(options.seed, scenario.seed, DEFAULT_SEED),
    )


def compute_summary(scenario: Scenario, options: RunOptions) -> tuple[dict, object]:
    """Sample and summarise; returns (summary dict, DataTree of draws).

    `options.numbers_ready`, if given, is called with the summary but its `evidence` and
    `sensitivity` blocks as soon as that is known; those blocks are computed last, so the numbers
    are the same either way.
    """
    import xarray as xr

    from forecast import inference, summarize
    from forecast import model as scenario_model
    from forecast.moment_matching import Matcher
    from forecast.sensitivity import summarize_sensitivity
    from forecast.worlds import Draws, top_worlds

    settings = settings_for(scenario, options)
    sampled = inference.sample(scenario, settings, progress=options.progress)
    tree = sampled.tree
    posterior_dataset = tree["posterior"].to_dataset()
    posterior = Draws(scenario, posterior_dataset)
    prior = Draws(scenario, tree["prior"].to_dataset())
    # One generator, seeded from the run's seed, for every random step after sampling, in a
    # fixed order: the same file and seed give the same numbers to the last digit.
    rng = np.random.default_rng(settings.seed)
    diagnostics = inference.diagnose(tree)
    refit_warnings: list[str] = []
    summary = {
        "format": SUMMARY_FORMAT,
        "scenario": Path(scenario.source_file).stem,
        "title": scenario.title,
        "question": scenario.question,
        "as_of": scenario.as_of.isoformat() if scenario.as_of else None,
        "horizon": scenario.horizon.isoformat() if scenario.horizon else None,
        "source_file": scenario.source_file,
        "input_sha256": scenario.sha256,
        "variant": _variant(scenario),
        "overrides": describe_overrides(scenario.what_if),
        "seed": settings.seed,
        "command": options.command,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "sampler": {
            "name": SAMPLER_NAMES[sampled.sampler],
            "chains": settings.chains,
            "draws": settings.draws,
            "tune": settings.tune,
            "target_accept": sampled.target_accept,
            "prior_draws": inference.PRIOR_DRAWS,
            "seconds": round(sampled.seconds, 2),
            "compile_seconds": round(sampled.compile_seconds, 2),
            "compiled_model_reused": sampled.reused,
        },
        "outcomes": summarize.summarize_outcomes(scenario, posterior, prior),
        "scenarios": summarize.summarize_scenarios(scenario, posterior, prior, rng),
        "evidence": None,  # below: after the numbers, since it may sample again
        "reference_classes": summarize.summarize_reference_classes(
            scenario, posterior_dataset, posterior, rng
        ),
        "worlds": top_worlds(posterior, prior, rng),
        "diagnostics": diagnostics,
    }
    if options.numbers_ready is not None:
        # A copy, without the evidence and sensitivity blocks added below; nothing nested in it
        # changes from here on.
        options.numbers_ready({key: v for key, v in summary.items() if key != "evidence"})
    # Each item's influence (the posterior without it) moves no headline number, and can
    # sample the model again: after them.
    # One matcher for the evidence items and the tornado: the draws on the sampler's scale are
    # computed once, by whichever needs them first.
    matcher = Matcher(scenario, posterior_dataset, scenario_model.model_data(scenario))
    summary["evidence"] = _evidence(scenario, posterior, settings, refit_warnings, matcher)
    if refit_warnings:
        summary["diagnostics"] = {
            **diagnostics,
            "warnings": [*diagnostics["warnings"], *refit_warnings],
            "ok": False,
        }
    # Last, so that the rest of the summary draws from the generator as before.
    summary["sensitivity"], log_groups = summarize_sensitivity(
        scenario, posterior_dataset, posterior, settings, rng, matcher=matcher
    )
    for name, group in log_groups.items():
        tree[name] = xr.DataTree(group)
    return summary, tree


def _variant(scenario: Scenario) -> dict | None:
    """The what-if a run is of: its name, description, and whether the file defines it."""
    what_if = scenario.what_if
    if what_if is None:
        return None
    return {
        "name": what_if.name,
        "description": what_if.description,
        "defined_in": "file" if what_if.in_file else "command line",
    }


def _evidence(scenario, posterior, settings, refit_warnings: list[str], matcher) -> list[dict]:
    """Each evidence item with the posterior of what it bears on, with and without it.

    Without an item: the draws reweighted by the inverse of its likelihood; where those weights
    are unreliable, the draws moved toward the posterior without it and weighted again (moment
    matching); where that fails too, the model sampled again without it. Diagnostics of any
    model sampled again are added to `refit_warnings`.
    """
    from dataclasses import replace

    from forecast import events, inference, summarize
    from forecast import model as scenario_model
    from forecast.worlds import Draws

    result = []
    for index, item in enumerate(scenario.evidence):
        target = summarize.target_draws(scenario, index, posterior)
        with_item = summarize.describe_target(scenario, index, target)
        without, khat, r_eff = summarize.without_by_reweighting(scenario, index, posterior, target)
        method = f"importance reweighting of the posterior draws (PSIS, k-hat {khat:.2f})"
        if not khat <= PSIS_LIMIT and (
            moved := matcher(
                scenario_model.model_data(scenario, leave_out=frozenset({index})), r_eff
            )
        ):
            without = summarize.describe_target_weighted(
                scenario,
                index,
                moved.joined(summarize.target_draws(scenario, index, moved.draws), target),
                moved.weights,
                r_eff,
            )
            method = (
                "importance reweighting of the posterior draws moved toward the posterior "
                f"without this item (moment matching; PSIS k-hat {khat:.2f} before the move)"
            )
        elif not khat <= PSIS_LIMIT:
            refit = inference.sample(
                scenario,
                replace(settings, draws=inference.REFIT_DRAWS, chains=inference.REFIT_CHAINS),
                leave_out=frozenset({index}),
                with_prior=False,
            )
            for warning in inference.diagnose(refit.tree)["warnings"]:
                refit_warnings.append(f"without evidence {index + 1}: {warning}")
            refit_draws = Draws(scenario, refit.tree["posterior"].to_dataset())
            without = summarize.describe_target(
                scenario, index, summarize.target_draws(scenario, index, refit_draws)
            )
            method = (
                f"sampled again without this item ({inference.REFIT_CHAINS} chains of "
                f"{inference.REFIT_DRAWS} "
                f"draws): importance weights were unstable (PSIS k-hat {khat:.2f})"
            )
        outcome = scenario.outcome(item.outcome)
        if item.exposure is not None:
            data = _exposure(item.exposure)
            data["period"] = events.period_entry(outcome, item.exposure.period)
        elif item.counts is None:
            data = {"successes": item.successes, "trials": item.trials}
        else:
            data = {"counts": dict(zip(outcome.categories, item.counts, strict=True))}
        result.append(
            {
                "outcome": item.outcome,
                "when": item.when,
                **summarize.condition_row(outcome, item.row),
                "source": item.source,
                "weight": item.weight,
                "data": data,
                "with": with_item,
                "without": without,
                "method": method,
            }
        )
    return result


def _exposure(exposure) -> dict:
    """Evidence on an event's rate as summary.json gives it: events in years of exposure."""
    data = {"events": exposure.events, "years": exposure.years}
    if exposure.waiting_times:
        data["waiting_times"] = [
            {"years": w.years, "censored": w.censored} for w in exposure.waiting_times
        ]
    return data


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    result = {"forecast": __version__, "python": platform.python_version()}
    for package, key in (
        ("pymc", "pymc"),
        ("pytensor", "pytensor"),
        ("arviz-base", "arviz"),
        ("arviz-stats", "arviz_stats"),
        ("nutpie", "nutpie"),
        ("numba", "numba"),
        ("numpy", "numpy"),
        ("scipy", "scipy"),
    ):
        try:
            result[key] = version(package)
        except PackageNotFoundError:
            result[key] = None
    return result


def run_scenario(scenario: Scenario, out_dir: Path, options: RunOptions) -> RunResult:
    """Sample a scenario and write its folder OUT/<stem>/ (OUT/<stem>@<name>/ for a what-if)
    atomically; returns what was written."""
    summary, tree = compute_summary(scenario, options)
    if options.summarised is not None:
        options.summarised(summary)
    return write_run(scenario, summary, tree, out_dir, options)


def write_run(
    scenario: Scenario, summary: dict, tree, out_dir: Path, options: RunOptions
) -> RunResult:
    """Write a computed run (`compute_summary`'s summary and draws) into its folder
    OUT/<stem>/ (OUT/<stem>@<name>/ for a what-if), atomically; returns what was written.

    Separate from the computing, so that draws computed elsewhere (a cluster's worker) are
    written here exactly as a run of this process would write them.
    """
    name = scenario.run_name
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / name
    with Staging(out_dir, name) as staging:
        _write_json(staging / "summary.json", summary)
        tree.to_netcdf(staging / "posterior.nc", engine="h5netcdf")
        (staging / "scenario.yaml").write_text(scenario.text, encoding="utf-8")
        report_formats = set(options.formats) & {"html", "pdf"}
        if report_formats:
            from forecast.report import write_reports

            write_reports(staging, formats=report_formats, paper=options.paper)
        if options.cancelled is not None and options.cancelled():
            raise KeyboardInterrupt
        swap_in(staging, final)
    written = [final / "summary.json", final / "posterior.nc"]
    written += [final / f"report.{f}" for f in ("html", "pdf") if f in options.formats]
    if "html" in options.formats or (out_dir / "index.html").exists():
        from forecast.report import write_index

        write_index(out_dir)
    diagnostics = summary["diagnostics"]
    return RunResult(final, written, diagnostics["warnings"], diagnostics["ok"])


def redraw_reports(run_dir: Path, *, formats: set[str], paper: str) -> list[Path]:
    """Write the reports of a finished run again from its saved files, without sampling."""
    needed = ["summary.json", "posterior.nc", "scenario.yaml"]
    missing = [name for name in needed if not (run_dir / name).is_file()]
    if missing:
        raise RunError(
            f"{run_dir} is not a run folder (missing {', '.join(missing)}); "
            "make one with `forecast run FILE`"
        )
    from forecast.report import write_index, write_reports

    # The run's own files are read in place; only the new reports go to a staging folder, to be
    # moved in once both are complete.
    with Staging(run_dir.parent, run_dir.name) as staging:
        written = []
        for report in write_reports(run_dir, formats=formats, paper=paper, into=staging):
            os.replace(report, run_dir / report.name)
            written.append(run_dir / report.name)
    if "html" in formats:
        write_index(run_dir.parent)
    return written


def _write_json(path: Path, data: dict) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False, allow_nan=False)
        handle.write("\n")
