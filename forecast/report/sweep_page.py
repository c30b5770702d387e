"""sweep.html and sweep.pdf: the numbers of sweep.json, worded and drawn for a reader.

Data flows one way: the document that forecast.sweep.compute_sweep returns comes in; each
quantity's panel is worked out (:class:`~forecast.report.sweep_charts.SweepLine` for one varied
number, :class:`~forecast.report.sweep_charts.SweepGrid` for two), drawn once, and the page is
rendered once and written as HTML and laid out as PDF.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

from markupsafe import Markup, escape

from forecast.report.html import PAPER_SIZES, describe_time, stylesheet, template_environment
from forecast.report.sweep_charts import SweepGrid, SweepLine
from forecast.report.wording import format_count, format_interval, format_probability

RESAMPLED = "resampled"


def quantity_entries(document: Mapping, group: str) -> list[dict]:
    """The quantities of a group ("scenarios" or "outcomes") in file order: a name, a label, a
    detail (a scenario's expression) and how to read each point's cell."""
    labels = document["labels"]
    if group == "scenarios":
        return [
            {"key": (name,), "name": name, "label": name, "detail": expression}
            for name, expression in labels["scenarios"].items()
        ]
    entries = []
    for name, outcome in labels["outcomes"].items():
        if not outcome["categories"]:
            entries.append(
                {"key": (name,), "name": name, "label": outcome["label"], "detail": None}
            )
            continue
        for category, category_label in outcome["categories"].items():
            entries.append(
                {
                    "key": (name, category),
                    "name": f"{name}={category}",
                    "label": f"{outcome['label']}: {category_label}",
                    "detail": None,
                }
            )
    return entries


def _cell(point: Mapping, group: str, key: tuple) -> Mapping:
    cell = point[group]
    for part in key:
        cell = cell[part]
    return cell


def compute_line(document: Mapping, group: str, key: tuple) -> SweepLine:
    """One quantity against the one varied number."""
    points = document["points"]
    cells = [_cell(point, group, key) for point in points]
    return SweepLine(
        values=[point["values"][0] for point in points],
        means=[cell["mean"] for cell in cells],
        lows=[cell["hdi90"][0] for cell in cells],
        highs=[cell["hdi90"][1] for cell in cells],
        resampled=[point["method"] == RESAMPLED for point in points],
        file_value=document["vary"][0]["file_value"],
    )


def compute_grid(document: Mapping, group: str, key: tuple) -> SweepGrid:
    """One quantity over the two varied numbers; the points come first axis slowest."""
    first, second = document["vary"]
    columns, rows = len(first["values"]), len(second["values"])
    points = document["points"]
    means = [[0.0] * rows for _ in range(columns)]
    resampled = [[False] * rows for _ in range(columns)]
    for position, point in enumerate(points):
        i, j = divmod(position, rows)
        means[i][j] = _cell(point, group, key)["mean"]
        resampled[i][j] = point["method"] == RESAMPLED
    return SweepGrid(
        x_values=first["values"],
        y_values=second["values"],
        means=means,
        resampled=resampled,
        file_values=(first["file_value"], second["file_value"]),
    )


def draw_sweep_figures(document: Mapping) -> dict:
    """Every panel as inline SVG, by group and quantity name, and the key shared by them."""
    from forecast.report.canvas import figure_style
    from forecast.report.svg import to_svg
    from forecast.report.sweep_charts import plot_sweep_grid, plot_sweep_legend, plot_sweep_line

    grid = len(document["vary"]) == 2
    resampled = any(point["method"] == RESAMPLED for point in document["points"])
    figures: dict = {"scenarios": {}, "outcomes": {}}
    with figure_style():
        for group in ("scenarios", "outcomes"):
            for number, entry in enumerate(quantity_entries(document, group)):
                if grid:
                    figure = plot_sweep_grid(compute_grid(document, group, entry["key"]))
                else:
                    figure = plot_sweep_line(compute_line(document, group, entry["key"]))
                figures[group][entry["name"]] = to_svg(figure, prefix=f"sweep-{group}-{number}")
        figures["legend"] = to_svg(
            plot_sweep_legend(grid=grid, resampled=resampled), prefix="sweep-legend"
        )
    return figures


def format_value(value) -> str:
    """A grid value as the table writes it."""
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}".replace("-", "\u2212")


def describe_method(point: Mapping, document: Mapping) -> dict:
    """How a point was computed, in words, and its k-hat."""
    khat = point["khat"]
    shown = "n/a" if khat is None else f"{khat:.2f}"
    if point["method"] == RESAMPLED:
        if khat is None:
            why = "weights unusable"
        elif point["reason"] == "ess":
            why = f"ESS {format_count(point['ess'])} < {format_count(document['min_ess'])}"
        else:
            why = f"k\u0302 {shown} > {document['khat_limit']:g}"
        return {"method": "sampled again", "why": why, "khat": shown, "resampled": True}
    why = "the file's own draws" if khat is None else f"ESS {format_count(point['ess'])}"
    return {"method": "reweighted", "why": why, "khat": shown, "resampled": False}


def describe_axes(varies: list[dict]) -> Markup:
    """What the panels are drawn against: `PATH`, or `PATH (across) and PATH (up)`."""
    paths = [Markup("<code>{}</code>").format(vary["path"]) for vary in varies]
    if len(paths) == 1:
        return paths[0]
    return Markup("{} (across) and {} (up)").format(*paths)


def _with_breaks(name: str) -> Markup:
    """A name that may break after its underscores in a narrow table heading."""
    return Markup("_<wbr>").join(escape(part) for part in name.split("_"))


def build_sweep_context(document: Mapping, figures: Mapping, *, paper: str = "a4") -> dict:
    """Everything sweep.html.j2 shows, already worded and formatted."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"unknown paper size {paper!r}; use one of: {', '.join(PAPER_SIZES)}")
    points = document["points"]
    sampler = document["sampler"]
    resampled = sum(point["method"] == RESAMPLED for point in points)
    scenarios = quantity_entries(document, "scenarios")
    outcomes = quantity_entries(document, "outcomes")
    # The table's columns: the named scenarios, or the outcomes of a file that names none.
    table_group, columns = ("scenarios", scenarios) if scenarios else ("outcomes", outcomes)
    varies = [
        {
            "number": number,
            "path": vary["path"],
            "from": format_value(vary["from"]),
            "to": format_value(vary["to"]),
            "steps": vary["steps"],
            "file_value": None if vary["file_value"] is None else format_value(vary["file_value"]),
            "in_file": vary["in_file"],
        }
        for number, vary in enumerate(document["vary"], start=1)
    ]
    rows = []
    for point in points:
        cells = [_cell(point, table_group, entry["key"]) for entry in columns]
        rows.append(
            {
                "values": [format_value(v) for v in point["values"]],
                **describe_method(point, document),
                "cells": [
                    {"mean": format_probability(c["mean"]), "interval": format_interval(c["hdi90"])}
                    for c in cells
                ],
            }
        )

    def panels(group: str, entries: list[dict]) -> list[dict]:
        return [
            {
                "label": entry["label"],
                "detail": entry["detail"],
                "svg": Markup(figures[group][entry["name"]]),  # matplotlib's, user text escaped
            }
            for entry in entries
        ]

    return {
        "css": stylesheet(),
        "page_size": PAPER_SIZES[paper],
        "title": document["title"],
        "question": document["question"],
        "created": describe_time(document["created"]),
        "created_iso": document["created"],
        "grid": len(varies) == 2,
        "varies": varies,
        "against": describe_axes(varies),
        "point_count": len(points),
        "reweighted": len(points) - resampled,
        "resampled": resampled,
        "khat_limit": f"{document['khat_limit']:g}",
        "min_ess": format_count(document["min_ess"]),
        "draws": f"{sampler['chains']} chains of {format_count(sampler['draws'])} draws",
        "resampled_draws": (
            f"{sampler['resampled_chains']} chains of {format_count(sampler['resampled_draws'])}"
            " draws"
        ),
        "seed": sampler["seed"],
        "seconds": f"{document['seconds']['total']:.1f}",
        "warnings": document["warnings"],
        "legend": Markup(figures["legend"]),
        "scenarios": panels("scenarios", scenarios),
        "outcomes": panels("outcomes", outcomes),
        "table_group": table_group,
        "columns": [_with_breaks(entry["name"]) for entry in columns],
        "rows": rows,
        "provenance": {
            "source_file": document["source_file"],
            "input_sha256": document["input_sha256"],
            "command": document["command"],
            "versions": ", ".join(
                f"{name} {version}" for name, version in document["versions"].items() if version
            ),
        },
    }


def render_sweep_page(document: Mapping, *, paper: str = "a4") -> str:
    """sweep.html as one self-contained page."""
    context = build_sweep_context(document, draw_sweep_figures(document), paper=paper)
    return template_environment().get_template("sweep.html.j2").render(context)


def write_sweep_pages(
    document: Mapping, into: pathlib.Path, *, formats: set[str], paper: str = "a4"
) -> list[pathlib.Path]:
    """Write sweep.html and/or sweep.pdf into `into`; the page is rendered once for both."""
    page = render_sweep_page(document, paper=paper)
    written = []
    if "html" in formats:
        path = pathlib.Path(into) / "sweep.html"
        path.write_text(page, encoding="utf-8")
        written.append(path)
    if "pdf" in formats:
        from forecast.report.pdf import write_pdf

        written.append(write_pdf(page, pathlib.Path(into) / "sweep.pdf"))
    return written
