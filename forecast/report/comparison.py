"""The comparison of runs as a page: compare.json's numbers into compare.html and compare.pdf.

The numbers come worked out from :mod:`forecast.compare`; here they are worded (one cell per run
and quantity: probability, interval, difference from the first run and whether it is beyond
Monte Carlo noise), drawn (one dot-and-interval row per run, a colour each) and rendered with
the report's stylesheet.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

from markupsafe import Markup

from forecast.report.canvas import FIGURE_WIDTH, OKABE_ITO, POSTERIOR_COLOUR, Series
from forecast.report.figure_data import Interval, IntervalGroup
from forecast.report.html import PAPER_SIZES, describe_time, stylesheet, template_environment
from forecast.report.wording import (
    format_count,
    format_difference,
    format_interval,
    format_probability,
    format_value,
)

# The first run in the posterior's blue, as in a run's report; the others in the rest of the
# palette, most distinct first.
RUN_COLOURS = [
    POSTERIOR_COLOUR,
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["black"],
    OKABE_ITO["yellow"],
]


def run_colour(index: int) -> str:
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def run_series(labels: Sequence[str]) -> dict[str, Series]:
    """How each run is drawn, by role `run<i>`: its colour, and in the legend its label, or
    its number where the labels would not fit on one line."""
    # The legend's own estimate of its width (canvas.draw_legend).
    width = sum(0.36 + len(label) * 0.066 for label in labels) + 0.2 * (len(labels) - 1)
    fits = width <= FIGURE_WIDTH - 0.35
    return {
        f"run{index}": Series(label if fits else str(index + 1), run_colour(index))
        for index, label in enumerate(labels)
    }


def compute_scenario_groups(comparison: Mapping) -> list[IntervalGroup]:
    """One group per named scenario, one row per run that has it."""
    return [_group(item["name"], item["runs"]) for item in comparison["scenarios"]]


def compute_outcome_groups(comparison: Mapping) -> list[IntervalGroup]:
    """One group per binary outcome, then one per category under its outcome's heading."""
    return [
        _group(item["category_label"] or item["label"], item["runs"], section=item["section"])
        for item in ordered_outcomes(comparison)
    ]


def ordered_outcomes(comparison: Mapping) -> list[dict]:
    """The outcome rows, binary outcomes first and then each categorical outcome's categories,
    so that a categorical outcome's heading covers only its own categories."""
    binary = [dict(item, section=None) for item in comparison["outcomes"] if not item["category"]]
    categories = [
        dict(item, section=item["label"]) for item in comparison["outcomes"] if item["category"]
    ]
    return binary + categories


def _group(label: str, runs: Sequence, *, section: str | None = None) -> IntervalGroup:
    rows = tuple(
        (f"run{index}", Interval(run["mean"], tuple(run["hdi90"]), tuple(run["middle50"])))
        for index, run in enumerate(runs)
        if run is not None
    )
    return IntervalGroup(label, rows, section=section)


def draw_comparison_figures(comparison: Mapping) -> dict[str, str | None]:
    """The scenario and outcome charts of a comparison as inline SVG."""
    from forecast.report.canvas import figure_style
    from forecast.report.charts import plot_interval_groups
    from forecast.report.svg import to_svg

    series = run_series([run["label"] for run in comparison["runs"]])
    figures: dict[str, str | None] = {"scenarios": None, "outcomes": None}
    with figure_style():
        for name, groups in (
            ("scenarios", compute_scenario_groups(comparison)),
            ("outcomes", compute_outcome_groups(comparison)),
        ):
            if groups:
                figure = plot_interval_groups(groups, series=series)
                figures[name] = to_svg(figure, prefix=f"compare-{name}")
    return figures


def _cells(runs: Sequence) -> list[dict]:
    """One table cell per run: probability, interval, and against the first run."""
    cells = []
    for run in runs:
        if run is None:
            cells.append(None)
            continue
        cell = {
            "mean": format_probability(run["mean"]),
            "interval": format_interval(run["hdi90"]),
            "difference": None,
        }
        if run["difference"] is not None:
            cell.update(
                difference=format_difference(run["difference"]),
                beyond_noise=run["beyond_noise"],
                noise=format_difference(3 * run["combined_mcse"]).lstrip("+"),
            )
        cells.append(cell)
    return cells


def _describe_inputs(comparison: Mapping) -> list[dict]:
    first = comparison["runs"][0]
    described = []
    for index, (run, inputs) in enumerate(
        zip(comparison["runs"][1:], comparison["inputs"], strict=True), start=1
    ):
        overrides = [(item["path"], format_value(item["value"])) for item in inputs["overrides"]]
        first_overrides = [
            (item["path"], format_value(item["value"])) for item in inputs["first_overrides"]
        ]
        described.append(
            {
                "number": index + 1,
                "label": run["label"],
                "colour": run_colour(index),
                "first": first["label"],
                "same_file": inputs["same_file"],
                "overrides": overrides,
                "first_overrides": first_overrides,
                "diff": "\n".join(inputs["diff"]),
                "settings": [
                    f"{item['setting']} {item['first']} → {item['this']}"
                    for item in inputs["settings"]
                ],
                "nothing": inputs["same_file"]
                and overrides == first_overrides
                and not inputs["settings"],
            }
        )
    return described


def build_comparison_context(
    comparison: Mapping, figures: Mapping[str, str | None], *, paper: str = "a4"
) -> dict:
    """Everything the comparison page shows, already worded."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"unknown paper size {paper!r}; use one of: {', '.join(PAPER_SIZES)}")
    runs = comparison["runs"]
    titles = list(dict.fromkeys(run["title"] for run in runs))
    return {
        "css": stylesheet(),
        "page_size": PAPER_SIZES[paper],
        "title": titles[0] if len(titles) == 1 else f"{len(runs)} runs compared",
        "created": describe_time(comparison["created"]),
        "created_iso": comparison["created"],
        "noise_multiple": comparison["noise_multiple"],
        "warnings": comparison["warnings"],
        "runs": [
            {
                "number": index + 1,
                "label": run["label"],
                "colour": run_colour(index),
                "folder": run["folder"],
                "title": run["title"] if len(titles) > 1 else None,
                "description": (run["variant"] or {}).get("description"),
                "overrides": [
                    (item["path"], format_value(item["value"])) for item in run["overrides"]
                ],
                "seed": run["seed"],
                "draws": f"{run['sampler']['chains']} × {format_count(run['sampler']['draws'])}",
                "ok": run["diagnostics_ok"],
            }
            for index, run in enumerate(runs)
        ],
        "scenarios": [
            {"name": item["name"], "expression": item["expression"], "cells": _cells(item["runs"])}
            for item in comparison["scenarios"]
        ],
        "outcomes": [
            {
                "label": item["category_label"] or item["label"],
                "heading": item["section"],
                "cells": _cells(item["runs"]),
            }
            for item in ordered_outcomes(comparison)
        ],
        "inputs": _describe_inputs(comparison),
        "figures": {
            name: Markup(svg) if svg else None  # drawn by matplotlib, user text escaped
            for name, svg in figures.items()
        },
    }


def render_comparison(comparison: Mapping, *, paper: str = "a4") -> str:
    """The comparison as one self-contained HTML page."""
    context = build_comparison_context(comparison, draw_comparison_figures(comparison), paper=paper)
    return template_environment().get_template("compare.html.j2").render(context)


def write_comparison_reports(
    comparison: Mapping, into: pathlib.Path, *, formats: set[str], paper: str = "a4"
) -> list[pathlib.Path]:
    """Write compare.html and/or compare.pdf of a comparison into `into`; return their paths."""
    page = render_comparison(comparison, paper=paper)
    written = []
    if "html" in formats:
        path = pathlib.Path(into) / "compare.html"
        path.write_text(page, encoding="utf-8")
        written.append(path)
    if "pdf" in formats:
        from forecast.report.pdf import write_pdf

        written.append(write_pdf(page, pathlib.Path(into) / "compare.pdf"))
    return written
