"""Comparing finished runs: the numbers of compare.json, and the files of a comparison.

For every named scenario and every outcome (each category of a categorical one), each run's
posterior mean and 90% interval, the difference from the first run, and whether that difference
is more than Monte Carlo noise: |difference| > 3 × sqrt(mcse₁² + mcse₂²), with each run's own
Monte Carlo standard error of the mean from its summary.json. Also what differs between the
runs' inputs (the overrides, or a line diff of the scenario files as read, and the sampler
settings), and warnings where runs are not comparable.

Reads only summary.json and scenario.yaml: NumPy-free, so that a comparison costs no sampling
library's import.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from forecast import SUMMARY_FORMAT
from forecast.errors import RunFolderError

COMPARE_FORMAT = 1
# A difference is beyond Monte Carlo noise when it exceeds this many combined standard errors.
NOISE_MULTIPLE = 3
# Settings whose difference between runs is worth a line under "what differs".
SETTINGS = (
    ("seed", ("seed",)),
    ("chains", ("sampler", "chains")),
    ("draws", ("sampler", "draws")),
    ("tuning steps", ("sampler", "tune")),
)


@dataclass(frozen=True)
class Run:
    """One finished run, as its folder holds it."""

    folder: Path
    summary: dict
    scenario_text: str

    @property
    def name(self) -> str:
        """The folder's name, also for a folder given as `.`."""
        return self.folder.resolve().name


def load_runs(run_dirs: Sequence[str | Path]) -> list[Run]:
    """The runs in these folders, each checked to be a finished run of this summary format.

    Raises
    ------
    RunFolderError
        If a folder does not exist, lacks summary.json or scenario.yaml, or cannot be read.
    """
    return [_load_run(Path(folder)) for folder in run_dirs]


def _load_run(folder: Path) -> Run:
    hint = "give folders that `forecast run` wrote, such as reports/NAME"
    if not folder.is_dir():
        raise RunFolderError(f"{folder}: no such folder; {hint}")
    missing = [n for n in ("summary.json", "scenario.yaml") if not (folder / n).is_file()]
    if missing:
        raise RunFolderError(f"{folder} is not a run folder (no {' or '.join(missing)}); {hint}")
    path = folder / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        text = (folder / "scenario.yaml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise RunFolderError(f"{path}: cannot be read ({error}); run the scenario again") from None
    if not isinstance(summary, dict) or summary.get("format") != SUMMARY_FORMAT:
        found = summary.get("format") if isinstance(summary, dict) else None
        raise RunFolderError(
            f"{path}: summary format {found!r}; this version of forecast compares format "
            f"{SUMMARY_FORMAT}. Run the scenario again to write it afresh."
        )
    return Run(folder, summary, text)


def compute_comparison(runs: Sequence[Run]) -> dict:
    """What compare.json holds (docs/run-output.md): the runs, the scenarios and outcomes side
    by side, what differs between the inputs, and warnings."""
    if len(runs) < 2:
        raise ValueError("a comparison needs at least two runs")
    summaries = [run.summary for run in runs]
    labels = run_labels(runs)
    return {
        "format": COMPARE_FORMAT,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "noise_multiple": NOISE_MULTIPLE,
        "runs": [_describe_run(run, label) for run, label in zip(runs, labels, strict=True)],
        "scenarios": _scenarios(summaries),
        "outcomes": _outcomes(summaries),
        "inputs": [
            _input_differences(runs[0], run, label)
            for run, label in zip(runs[1:], labels[1:], strict=True)
        ],
        "warnings": _warnings(summaries, labels),
    }


def run_labels(runs: Sequence[Run]) -> list[str]:
    """Short names for the runs: `base` and each variant's name when all are of one file,
    the folders' names otherwise."""
    stems = {run.summary.get("scenario") for run in runs}
    labels = [run.name for run in runs]
    if len(stems) == 1:
        labels = [(run.summary.get("variant") or {}).get("name") or "base" for run in runs]
    if len(set(labels)) < len(labels):
        labels = [run.name for run in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{number}: {label}" for number, label in enumerate(labels, start=1)]
    return labels


def _describe_run(run: Run, label: str) -> dict:
    summary = run.summary
    sampler = summary["sampler"]
    return {
        "label": label,
        "folder": str(run.folder),
        "scenario": summary["scenario"],
        "title": summary["title"],
        "source_file": summary["source_file"],
        "input_sha256": summary["input_sha256"],
        "variant": summary.get("variant"),
        "overrides": summary.get("overrides", []),
        "seed": summary["seed"],
        "sampler": {key: sampler[key] for key in ("name", "chains", "draws", "tune")},
        "created": summary["created"],
        "diagnostics_ok": summary["diagnostics"]["ok"],
    }


def compare_stats(stats: Sequence[Mapping | None]) -> list[dict | None]:
    """Each run's numbers for one quantity, and its difference from the first run's.

    `stats` holds a STATS object of summary.json per run (None where the run lacks the
    quantity). The difference is beyond noise when it is larger than NOISE_MULTIPLE times the
    combined Monte Carlo standard error of the two means.
    """
    first = stats[0]
    result: list[dict | None] = []
    for index, item in enumerate(stats):
        if item is None:
            result.append(None)
            continue
        entry = {
            "mean": item["mean"],
            "hdi90": list(item["hdi90"]),
            "middle50": [item["quantiles"]["0.25"], item["quantiles"]["0.75"]],
            "mcse": item["mcse"],
            "difference": None,
            "combined_mcse": None,
            "beyond_noise": None,
        }
        if index > 0 and first is not None:
            difference = item["mean"] - first["mean"]
            combined = math.sqrt(first["mcse"] ** 2 + item["mcse"] ** 2)
            entry.update(
                difference=difference,
                combined_mcse=combined,
                beyond_noise=abs(difference) > NOISE_MULTIPLE * combined,
            )
        result.append(entry)
    return result


def _in_order(mappings: Sequence[Mapping]) -> list[str]:
    """Every key of these mappings, in the order they first appear."""
    return list(dict.fromkeys(key for mapping in mappings for key in mapping))


def _scenarios(summaries: Sequence[Mapping]) -> list[dict]:
    result = []
    for name in _in_order([s["scenarios"] for s in summaries]):
        found = [s["scenarios"].get(name) for s in summaries]
        expression = next(item["expression"] for item in found if item is not None)
        result.append(
            {
                "name": name,
                "expression": expression,
                "runs": compare_stats([item and item["posterior"] for item in found]),
            }
        )
    return result


def _outcomes(summaries: Sequence[Mapping]) -> list[dict]:
    result = []
    for name in _in_order([s["outcomes"] for s in summaries]):
        found = [s["outcomes"].get(name) for s in summaries]
        first = next(item for item in found if item is not None)
        if first["kind"] != "categorical":
            result.append(
                {
                    "outcome": name,
                    "category": None,
                    "label": first["label"],
                    "category_label": None,
                    "runs": compare_stats([_binary(item) for item in found]),
                }
            )
            continue
        for category in _in_order([item.get("categories", {}) for item in found if item]):
            labelled = next(
                item["categories"][category]
                for item in found
                if item and category in item.get("categories", {})
            )
            result.append(
                {
                    "outcome": name,
                    "category": category,
                    "label": first["label"],
                    "category_label": labelled["label"],
                    "runs": compare_stats([_category(item, category) for item in found]),
                }
            )
    return result


def _binary(outcome: Mapping | None) -> Mapping | None:
    if outcome is None or outcome["kind"] == "categorical":
        return None
    return outcome["posterior"]


def _category(outcome: Mapping | None, category: str) -> Mapping | None:
    if outcome is None or outcome["kind"] != "categorical":
        return None
    found = outcome["categories"].get(category)
    return found["posterior"] if found else None


def _input_differences(first: Run, other: Run, label: str) -> dict:
    """What differs between the first run's inputs and another's."""
    same_file = first.summary["input_sha256"] == other.summary["input_sha256"]
    diff = []
    if not same_file:
        diff = list(
            difflib.unified_diff(
                first.scenario_text.splitlines(),
                other.scenario_text.splitlines(),
                fromfile=f"{first.name}/scenario.yaml",
                tofile=f"{other.name}/scenario.yaml",
                lineterm="",
                n=2,
            )
        )
    settings = []
    for name, path in SETTINGS:
        before, after = _get(first.summary, path), _get(other.summary, path)
        if before != after:
            settings.append({"setting": name, "first": before, "this": after})
    return {
        "label": label,
        "same_file": same_file,
        "first_overrides": first.summary.get("overrides", []),
        "overrides": other.summary.get("overrides", []),
        "diff": diff,
        "settings": settings,
    }


def _get(mapping: Mapping, path: tuple[str, ...]):
    for key in path:
        mapping = mapping.get(key) if isinstance(mapping, Mapping) else None
    return mapping


def _warnings(summaries: Sequence[Mapping], labels: Sequence[str]) -> list[str]:
    """Why some numbers of the comparison may not be comparable."""
    warnings = []
    for summary, label in zip(summaries, labels, strict=True):
        diagnostics = summary["diagnostics"]
        if not diagnostics["ok"]:
            # The first warning's first clause ("3 transitions diverged"); the run's report
            # has the rest.
            why = diagnostics["warnings"][0].split(":")[0] if diagnostics["warnings"] else ""
            why = why or "see its report"
            warnings.append(
                f"{label}: the sampler's convergence checks failed ({why}); its numbers, and "
                "the noise test against them, may not be trusted"
            )

    def missing(kind: str, name: str, where: list[str]) -> str:
        return f"{kind} '{name}' is not in {', '.join(where)}; those runs are of another model"

    for name in _in_order([s["outcomes"] for s in summaries]):
        absent = [
            label for s, label in zip(summaries, labels, strict=True) if name not in s["outcomes"]
        ]
        if absent:
            warnings.append(missing("outcome", name, absent))
            continue
        shapes = {_shape(s["outcomes"][name]) for s in summaries}
        if len(shapes) > 1:
            warnings.append(
                f"outcome '{name}' has other categories in some runs; only the categories "
                "a run has are compared"
            )
    for name in _in_order([s["scenarios"] for s in summaries]):
        absent = [
            label for s, label in zip(summaries, labels, strict=True) if name not in s["scenarios"]
        ]
        if absent:
            warnings.append(missing("scenario", name, absent))
            continue
        expressions = {s["scenarios"][name]["expression"] for s in summaries}
        if len(expressions) > 1:
            warnings.append(
                f"scenario '{name}' is defined differently in some runs "
                f"({'; '.join(sorted(expressions))}); its probabilities answer different questions"
            )
    return warnings


def _shape(outcome: Mapping) -> tuple:
    # A binary outcome and an event both report the probability that it happens (by the
    # horizon), so one turned into the other is compared as it is.
    if outcome["kind"] != "categorical":
        return ("probability",)
    return (outcome["kind"], tuple(outcome.get("categories", {})))


# -- the files of a comparison ---------------------------------------------------------------------


def write_comparison(
    run_dirs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    formats: set[str] | frozenset[str] = frozenset({"json", "html", "pdf"}),
    paper: str = "a4",
) -> list[Path]:
    """Compare the runs in `run_dirs` and write compare.json (always), compare.html and
    compare.pdf (as `formats` asks) into `out_dir`; returns the paths written.

    Every file is made in a temporary folder first and renamed into place only when all are
    complete, so a failed comparison leaves the previous one as it was.

    Raises
    ------
    RunFolderError
        If a folder is not a finished run; nothing is written then.
    """
    runs = load_runs(run_dirs)
    comparison = compute_comparison(runs)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".compare.", dir=out_dir))
    try:
        names = ["compare.json"]
        with open(staging / "compare.json", "w", encoding="utf-8") as handle:
            json.dump(comparison, handle, indent=2, ensure_ascii=False, allow_nan=False)
            handle.write("\n")
        pages = {"html", "pdf"} & set(formats)
        if pages:
            from forecast.report.comparison import write_comparison_reports

            written = write_comparison_reports(comparison, staging, formats=pages, paper=paper)
            names += [path.name for path in written]
        umask = os.umask(0)
        os.umask(umask)
        for name in names:
            (staging / name).chmod(0o666 & ~umask)
            os.replace(staging / name, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / name for name in names]
