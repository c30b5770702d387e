"""Reports of a run: report.html and report.pdf from a run folder, and index.html over runs.

Data flows one way: summary.json and posterior.nc are read, the figures are drawn once, the page
is rendered once, and the same page is written as HTML and laid out as PDF.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping

from forecast.errors import RunError
from forecast.report.html import PAPER_SIZES, render_report
from forecast.report.index import write_index

__all__ = ["ReportError", "load_run", "write_index", "write_reports"]

FORMATS = frozenset({"html", "pdf"})
SUMMARY_FORMAT = 1


class ReportError(RunError):
    """A run folder the report cannot be made from; the message says which file and why."""


def load_summary(path: pathlib.Path) -> dict:
    """Read a summary.json of the format this version understands."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file; is this a run folder?") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportError(f"{path}: cannot be read: {error}") from None
    if not isinstance(summary, Mapping):
        raise ReportError(f"{path}: expected a JSON object")
    if summary.get("format") != SUMMARY_FORMAT:
        raise ReportError(
            f"{path}: summary format {summary.get('format')!r}; this version of forecast reads "
            f"format {SUMMARY_FORMAT}. Run the scenario again to write it afresh."
        )
    return summary


def load_posterior(path: pathlib.Path):
    """The posterior group of posterior.nc as an in-memory xarray Dataset."""
    # Imported here, like matplotlib and WeasyPrint below: `import forecast.report` stays cheap
    # for commands that only list runs.
    import xarray

    if not path.is_file():
        raise ReportError(f"{path}: no such file; is this a run folder?")
    try:
        # Only the posterior group: opening the whole DataTree costs twice as long.
        with xarray.open_dataset(path, group="posterior", engine="h5netcdf") as posterior:
            return posterior.load()
    except (OSError, ValueError, KeyError) as error:
        raise ReportError(f"{path}: cannot read its posterior group: {error}") from None


def load_run(run_dir: pathlib.Path) -> tuple[dict, object, str]:
    """The summary, posterior draws and scenario file text of a run folder."""
    run_dir = pathlib.Path(run_dir)
    summary = load_summary(run_dir / "summary.json")
    posterior = load_posterior(run_dir / "posterior.nc")
    try:
        scenario_text = (run_dir / "scenario.yaml").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{run_dir / 'scenario.yaml'}: no such file") from None
    return summary, posterior, scenario_text


def write_reports(
    run_dir: pathlib.Path,
    *,
    formats: set[str],
    paper: str = "a4",
    into: pathlib.Path | None = None,
) -> list[pathlib.Path]:
    """Read run_dir/summary.json, run_dir/posterior.nc, run_dir/scenario.yaml; write report.html
    and/or report.pdf into `into` (default run_dir; formats ⊆ {"html","pdf"}); return the paths
    written. Figures are drawn once and reused by both outputs.

    Raises
    ------
    ReportError
        If a file of the run folder is missing or unreadable.
    ValueError
        If formats names something other than html and pdf, or paper is not a4 or letter.
    """
    from forecast.report.figures import draw_report_figures

    unknown = set(formats) - FORMATS
    if unknown:
        raise ValueError(
            f"unknown report format(s) {', '.join(sorted(unknown))}; use html and/or pdf"
        )
    if paper not in PAPER_SIZES:
        raise ValueError(f"unknown paper size {paper!r}; use one of: {', '.join(PAPER_SIZES)}")
    run_dir = pathlib.Path(run_dir)
    into = run_dir if into is None else pathlib.Path(into)
    summary, posterior, scenario_text = load_run(run_dir)

    figures = draw_report_figures(summary, posterior)
    page = render_report(summary, scenario_text, figures, paper=paper)

    written = []
    if "html" in formats:
        path = into / "report.html"
        path.write_text(page, encoding="utf-8")
        written.append(path)
    if "pdf" in formats:
        from forecast.report.pdf import write_pdf

        written.append(write_pdf(page, into / "report.pdf"))
    return written
