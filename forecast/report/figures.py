"""Figures of a run: numbers from summary.json and draws from posterior.nc in, inline SVG out.

Each figure is computed (:mod:`~forecast.report.figure_data`, NumPy only), then drawn
(:mod:`~forecast.report.charts` on a :mod:`~forecast.report.canvas`), then written
(:mod:`~forecast.report.svg`), in that order; this module runs the three for one report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from forecast.report.canvas import figure_style
from forecast.report.charts import (
    plot_dependencies,
    plot_event_curve,
    plot_interval_groups,
    plot_rank_histograms,
    plot_scenarios,
    plot_shrinkage,
    plot_tornado,
)
from forecast.report.figure_data import (
    Interval,
    compute_dependency_layout,
    compute_event_curve,
    compute_evidence_groups,
    compute_outcome_groups,
    compute_rank_plots,
    compute_shrinkage,
    compute_tornadoes,
)
from forecast.report.svg import to_svg
from forecast.report.wording import rank_scenarios


@dataclass(frozen=True)
class ReportFigures:
    """Every figure of one report as inline SVG, drawn once for both the HTML and the PDF."""

    scenarios: str | None
    outcomes: dict[str, str]
    evidence: str | None
    reference_classes: list[str]
    dependencies: str | None
    rank_plots: list[tuple[str, str]]
    # A tornado per headline scenario, by its name; none for a run without sensitivity.
    tornadoes: dict[str, str] = field(default_factory=dict)
    # The probability-by-date curve of each event outcome, by its name.
    curves: dict[str, str] = field(default_factory=dict)


def draw_report_figures(summary: Mapping, posterior) -> ReportFigures:
    """Compute what each figure shows, draw it and serialise it, in that order."""
    outcomes = summary["outcomes"]
    with figure_style():
        scenarios = rank_scenarios(summary["scenarios"])
        scenario_svg = None
        if scenarios:
            scenario_svg = to_svg(
                plot_scenarios(
                    [name for name, _ in scenarios],
                    [Interval.from_stats(s["posterior"]) for _, s in scenarios],
                    [s["prior"]["mean"] for _, s in scenarios],
                ),
                prefix="scenarios",
            )
        outcome_svgs = {
            name: to_svg(
                plot_interval_groups(compute_outcome_groups(name, outcomes)),
                prefix=f"outcome{index}",
            )
            for index, name in enumerate(outcomes)
        }
        curve_svgs = {}
        for index, name in enumerate(outcomes):
            if outcomes[name]["kind"] == "event":
                curve = compute_event_curve(name, outcomes)
                curve_svgs[name] = to_svg(
                    plot_event_curve(curve), prefix=f"curve{index}", title=curve.description
                )
        evidence_svg = None
        if summary["evidence"]:
            evidence_svg = to_svg(
                plot_interval_groups(compute_evidence_groups(summary["evidence"], outcomes)),
                prefix="evidence",
            )
        class_svgs = [
            to_svg(
                plot_shrinkage(compute_shrinkage(reference_class, outcomes)),
                prefix=f"class{index}",
            )
            for index, reference_class in enumerate(summary["reference_classes"])
        ]
        dependency_svg = None
        if outcomes:
            dependency_svg = to_svg(
                plot_dependencies(outcomes, compute_dependency_layout(outcomes)),
                prefix="dependencies",
            )
        tornado_svgs = {
            tornado.scenario: to_svg(plot_tornado(tornado), prefix=f"tornado{index}")
            for index, tornado in enumerate(compute_tornadoes(summary))
            if tornado.bars
        }
        rank_svgs = [
            (plot.title, to_svg(plot_rank_histograms(plot), prefix=f"rank{index}"))
            for index, plot in enumerate(compute_rank_plots(posterior, outcomes))
            if plot.panels
        ]
    return ReportFigures(
        scenario_svg,
        outcome_svgs,
        evidence_svg,
        class_svgs,
        dependency_svg,
        rank_svgs,
        tornado_svgs,
        curve_svgs,
    )
