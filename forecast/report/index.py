"""index.html: one page listing every run in an output folder."""

from __future__ import annotations

import os
import pathlib
import tempfile
from collections.abc import Mapping

from forecast.report.html import describe_time, stylesheet, template_environment
from forecast.report.run_folder import ReportError, load_summary
from forecast.report.wording import format_interval, format_probability, rank_scenarios

HEADLINE_SCENARIOS = 3


def compute_index_entries(out_dir: pathlib.Path) -> list[dict]:
    """One entry per out_dir/*/summary.json, in folder-name order."""
    entries = []
    for summary_path in sorted(pathlib.Path(out_dir).glob("*/summary.json")):
        run_dir = summary_path.parent
        entry = {"folder": run_dir.name, "href": None, "error": None, "what_if": None}
        # A run compared with its variants links to the comparison.
        has_comparison = (run_dir / "compare.html").is_file()
        entry["comparison"] = f"{run_dir.name}/compare.html" if has_comparison else None
        for name in ("report.html", "report.pdf"):
            if (run_dir / name).is_file():
                # Relative, so the index works wherever the folder is moved or served from.
                entry["href"] = f"{run_dir.name}/{name}"
                break
        try:
            entry.update(_describe_run(load_summary(summary_path)))
        except ReportError as error:
            # One unreadable run should not hide the others; say so in its row instead.
            entry.update(
                title=run_dir.name,
                error=str(error),
                question="",
                as_of="",
                created="",
                created_iso="",
                scenarios=[],
                more=0,
                ok=None,
            )
        entries.append(entry)
    return entries


def _describe_run(summary: Mapping) -> dict:
    scenarios = rank_scenarios(summary["scenarios"])
    variant = summary.get("variant")  # absent from runs written before what-ifs existed
    return {
        "title": summary["title"],
        "what_if": (
            f"{variant['name']}: {variant['description']}"
            if variant and variant["description"]
            else variant and variant["name"]
        ),
        "question": summary["question"] or "",
        "as_of": summary["as_of"] or "",
        "created": describe_time(summary["created"]),
        "created_iso": summary["created"],
        "scenarios": [
            {
                "name": name,
                "mean": format_probability(scenario["posterior"]["mean"]),
                "interval": format_interval(scenario["posterior"]["hdi90"]),
            }
            for name, scenario in scenarios[:HEADLINE_SCENARIOS]
        ],
        "more": max(0, len(scenarios) - HEADLINE_SCENARIOS),
        "ok": summary["diagnostics"]["ok"],
    }


def write_index(out_dir: pathlib.Path) -> pathlib.Path:
    """Write out_dir/index.html listing every out_dir/*/summary.json: title (linked to its
    report.html), as-of date, date of the run, and headline scenario probabilities."""
    out_dir = pathlib.Path(out_dir)
    page = (
        template_environment()
        .get_template("index.html.j2")
        .render(entries=compute_index_entries(out_dir), css=stylesheet(), folder=out_dir.name)
    )
    target = out_dir / "index.html"
    # Written beside the target and renamed over it, so a reader never sees half a page.
    handle, temporary = tempfile.mkstemp(prefix=".index-", suffix=".html", dir=out_dir)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(page)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
    return target
