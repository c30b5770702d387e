"""Reports of a run: report.html and report.pdf from a run folder, and index.html over runs.

Data flows one way: summary.json and posterior.nc are read, the figures are drawn once, the page
is rendered once, and the same page is written as HTML and laid out as PDF.
"""

from __future__ import annotations

import pathlib

from forecast.report.html import PAPER_SIZES, render_report
from forecast.report.index import write_index
from forecast.report.run_folder import ReportError, load_run

__all__ = ["ReportError", "load_run", "write_index", "write_reports"]

FORMATS = frozenset({"html", "pdf"})


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
