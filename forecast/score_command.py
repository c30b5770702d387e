"""`forecast score`: forecasts checked against what happened. Registered in forecast/cli.py.

Like the other commands it only parses options, calls the library (forecast.scoring for the
numbers, forecast.report.score_page for the pages) and prints; the library's errors become one
line each. Imports nothing heavy until it runs, so that `forecast validate` stays quick.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import click

from forecast.command_options import ALL_FORMATS, format_option

SCORE_FILES = {"json": "score.json", "html": "score.html", "pdf": "score.pdf"}


@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option(
    "--resolutions",
    "resolution_files",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False),
    help="A resolutions file (what happened); repeat for several. Each is matched to the run of "
    "the scenario its `scenario:` key names.",
)
@click.option(
    "--out",
    "out_dir",
    default=None,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Folder for score.json, score.html and score.pdf.  [default: the folder the run "
    "folders are in]",
)
@format_option(show_default=True, help="Outputs to write, separated by commas.")
@click.option(
    "--paper",
    type=click.Choice(["a4", "letter"]),
    default="a4",
    show_default=True,
    help="Page size of score.pdf.",
)
def score(run_dirs, resolution_files, out_dir, formats, paper):
    """Score finished runs against what happened: Brier, log and baseline scores, calibration.

    Each run's forecasts are read from its summary.json (posterior and prior means), never
    sampled again. Writes score.json, score.html and score.pdf together, or nothing, and prints
    the scores. Only binary and categorical outcomes are scored.

    \b
    Example:
      forecast score reports/singapore-summit-2018 \\
          --resolutions scenarios/singapore-summit-2018.resolutions.yaml
    """
    from forecast.errors import ScenarioError
    from forecast.scoring import compute_scores, load_resolutions, load_runs, pair_runs

    target = Path(out_dir) if out_dir is not None else _beside(run_dirs)
    runs = load_runs(run_dirs)
    files, problems = [], []
    for path in resolution_files:
        try:
            files.append(load_resolutions(path))
        except ScenarioError as error:
            problems.extend(error.problems)  # and go on: every file's problems at once
    if problems:
        raise ScenarioError(problems)
    document = compute_scores(pair_runs(runs, files))
    written = _write_atomically(document, target, formats, paper)
    click.echo(format_score_table(document))
    for note in document["notes"]:
        click.echo(f"note: {note}", err=True)
    for path in written:
        click.echo(str(path))


def _beside(run_dirs) -> Path:
    """The folder the run folders are in, as the command line wrote it where it can."""
    if len({Path(run_dir).resolve().parent for run_dir in run_dirs}) != 1:
        raise click.UsageError(
            "the run folders are in different folders; say where to write the scores with --out"
        )
    first = Path(os.path.normpath(run_dirs[0]))
    return first.resolve().parent if first.name in ("", ".", "..") else first.parent


def _write_atomically(document: dict, target: Path, formats: set[str], paper: str) -> list[Path]:
    """Build every file in a temporary folder inside `target`, then move them in by rename.

    An error on the way leaves `target` as it was: no file of this run of the command is
    half-written, and the previous score files stay whole.
    """
    from forecast.errors import RunError
    from forecast.report.score_page import write_score_reports
    from forecast.scoring import to_json

    try:
        target.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".score-", dir=target))
    except OSError as error:
        raise RunError(f"cannot write into {target}: {error.strerror}") from None
    try:
        if "json" in formats:
            text = json.dumps(to_json(document), indent=2, ensure_ascii=False, allow_nan=False)
            (building / SCORE_FILES["json"]).write_text(text + "\n", encoding="utf-8")
        reports = {f for f in formats if f != "json"}
        if reports:
            write_score_reports(document, building, formats=reports, paper=paper)
        written = []
        for kind in ALL_FORMATS:
            if kind in formats:
                os.chmod(building / SCORE_FILES[kind], 0o644)
                os.replace(building / SCORE_FILES[kind], target / SCORE_FILES[kind])
                written.append(target / SCORE_FILES[kind])
        return written
    except OSError as error:
        raise RunError(f"cannot write the scores into {target}: {error.strerror}") from None
    finally:
        shutil.rmtree(building, ignore_errors=True)


# -- the table printed ---------------------------------------------------------------------------

SCORE_LABELS = {
    "brier": "Brier (lower is better)",
    "brier_2": "two-category Brier (lower)",
    "log": "log score (higher)",
    "baseline": "baseline score (higher)",
}


def _number(value, score: str) -> str:
    if value is None:
        return "n/a"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:.1f}" if score == "baseline" else f"{value:.3f}"


def _columns(rows: list[list[str]], right_from: int) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(width) if i >= right_from else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def format_score_table(document: dict) -> str:
    """The scores as plain text: each outcome's forecasts of what happened, then the means."""
    forecasters = document["forecasters"]
    several = len(document["runs"]) > 1
    head = ["run"] if several else []
    rows = [[*head, "outcome", "happened", *(f"P {name}" for name in forecasters)]]
    for item in document["items"]:
        rows.append(
            [
                *([item["run"]] if several else []),
                item["outcome"],
                item["resolved_label"] if item["kind"] != "categorical" else item["resolved"],
                *(
                    f"{item['forecast'][name]:.3f}" if name in item["forecast"] else ""
                    for name in forecasters
                ),
            ]
        )
    lines = _columns(rows, right_from=len(head) + 2)
    lines.append("(P: each forecaster's probability of what happened)")
    comparisons = [(None, document["mean"]), *document["benchmark_means"].items()]
    for benchmark, comparison in comparisons:
        names = comparison["forecasters"]
        n = comparison["n"]
        lines.append("")
        over = f"mean over {n} outcome{'s' if n != 1 else ''}"
        table = [[over + (f" {benchmark} forecast" if benchmark else ""), *names]]
        for score, label in SCORE_LABELS.items():
            table.append([f"  {label}", *(_number(comparison[score][f], score) for f in names)])
        lines.extend(_columns(table, right_from=1))
    return "\n".join(lines)
