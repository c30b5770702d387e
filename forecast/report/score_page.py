"""score.html and score.pdf: the numbers of score.json, worded and drawn for a reader.

Data flows one way: the document that forecast.scoring.compute_scores returns comes in, the
reliability diagram is drawn once, the page is rendered once and written as HTML and laid out as
PDF.
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Mapping

from markupsafe import Markup

from forecast.report.html import PAPER_SIZES, describe_time, stylesheet, template_environment
from forecast.report.wording import MINUS, format_probability

SCORE_NAMES = {
    "brier": ("Brier score", "lower"),
    "brier_2": ("Two-category Brier (Good Judgment)", "lower"),
    "log": ("Log score, ln P(what happened)", "higher"),
    "baseline": ("Baseline score (Metaculus)", "higher"),
}
# A mean of n items: one item alone can move a mean Brier score by up to 1/n (2/n for a
# categorical item), which the small-sample note says in numbers.
FEW_FORECASTS = 100


def format_score(value: float | None, score: str) -> str:
    """A score as the tables show it: three decimals, one for the baseline's 0-100 scale."""
    if value is None:
        return "n/a"
    if math.isinf(value):
        return f"{MINUS}\u221e" if value < 0 else "\u221e"
    text = f"{value:.1f}" if score == "baseline" else f"{value:.3f}"
    return text.replace("-", MINUS)


def forecaster_label(name: str) -> str:
    return name.replace("_", " ")


def compute_bottom_line(document: Mapping) -> str:
    """One sentence: did the evidence help, by the mean Brier score over every item?"""
    mean = document["mean"]
    n = mean["n"]
    posterior, prior = mean["brier"]["posterior"], mean["brier"]["prior"]
    if n == 0 or posterior is None:
        return "Nothing was resolved, so nothing was scored."
    what = f"{n} resolved outcome{'s' if n != 1 else ''}"
    runs = len(document["runs"])
    if runs > 1:
        what += f" of {runs} scenarios"
    difference = posterior - prior
    if abs(difference) < 0.0005:
        verdict = "the evidence left the score as it was"
    elif difference < 0:
        verdict = "the evidence made the forecasts better"
    else:
        verdict = "the evidence made the forecasts worse"
    return (
        f"Over {what}, the posterior's mean Brier score is {format_score(posterior, 'brier')} "
        f"against {format_score(prior, 'brier')} for the prior (lower is better): {verdict}."
    )


def compute_small_sample_note(document: Mapping) -> dict:
    """How little these few forecasts can show, in this page's own numbers."""
    calibration = document["calibration"].get("posterior")
    n_items = document["mean"]["n"]
    bins = calibration["bins"] if calibration else []
    widths = [100 * (b["interval"][1] - b["interval"][0]) for b in bins]
    counts = [b["n"] for b in bins]
    categorical = sum(1 for item in document["items"] if item["kind"] == "categorical")
    return {
        "few": bool(calibration) and calibration["n"] < FEW_FORECASTS,
        "forecasts": calibration["n"] if calibration else 0,
        "categorical": categorical,
        "bins": len(bins),
        "smallest": min(counts) if counts else 0,
        "largest": max(counts) if counts else 0,
        "narrowest": f"{min(widths):.0f}" if widths else "",
        "widest": f"{max(widths):.0f}" if widths else "",
        "outcomes": n_items,
        "one_item": f"{1 / n_items:.2f}" if n_items else "",
    }


def _comparison_table(comparison: Mapping) -> dict:
    forecasters = comparison["forecasters"]
    return {
        "n": comparison["n"],
        "forecasters": [forecaster_label(name) for name in forecasters],
        "rows": [
            {
                "name": name,
                "better": better,
                "values": [format_score(comparison[score][f], score) for f in forecasters],
                "best": _best(comparison[score], forecasters, better),
            }
            for score, (name, better) in SCORE_NAMES.items()
        ],
    }


def _best(values: Mapping, forecasters, better: str) -> list[bool]:
    """Which forecasters have the best value of a score (ties all marked; none without values)."""
    numbers = [values[f] for f in forecasters]
    if any(v is None for v in numbers):
        return [False] * len(numbers)
    target = min(numbers) if better == "lower" else max(numbers)
    return [v == target for v in numbers]


def compute_item_rows(document: Mapping) -> list[dict]:
    """One row per resolved outcome: what happened, each forecaster's P(it), Brier scores."""
    forecasters = document["forecasters"]
    rows = []
    for item in document["items"]:
        rows.append(
            {
                "run": item["run"],
                "outcome": item["outcome"],
                "label": item["label"],
                "happened": item["resolved_label"],
                "date": item["date"] or "",
                "source": item["source"] or "",
                "forecast": [
                    format_probability(item["forecast"][f]) if f in item["forecast"] else ""
                    for f in forecasters
                ],
                "brier": [
                    format_score(item["brier"][f], "brier") if f in item["brier"] else ""
                    for f in forecasters
                ],
            }
        )
    return rows


def compute_decomposition_rows(document: Mapping) -> list[dict]:
    return [
        {
            "forecaster": forecaster_label(name),
            "n": parts["n"],
            **{
                key: format_score(parts[key], "brier")
                for key in ("brier", "reliability", "resolution", "uncertainty", "within_bins")
            },
        }
        for name, parts in document["decomposition"].items()
    ]


def build_score_context(document: Mapping, figure_svg: str | None, *, paper: str = "a4") -> dict:
    """Everything score.html.j2 shows, already worded and formatted."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"unknown paper size {paper!r}; use one of: {', '.join(PAPER_SIZES)}")
    inputs = document["inputs"]
    titles = [entry["title"] or entry["scenario"] for entry in inputs]
    return {
        "css": stylesheet(),
        "page_size": PAPER_SIZES[paper],
        "title": titles[0] if len(titles) == 1 else f"Scores of {len(titles)} scenarios",
        "scenario_titles": titles if len(titles) > 1 else [],
        "resolved_on": sorted({entry["resolved_on"] for entry in inputs}),
        "items_count": document["mean"]["n"],
        "bottom_line": compute_bottom_line(document),
        "note": compute_small_sample_note(document),
        "forecasters": [forecaster_label(name) for name in document["forecasters"]],
        "mean": _comparison_table(document["mean"]),
        "benchmarks": [
            {"name": forecaster_label(name), **_comparison_table(comparison)}
            for name, comparison in document["benchmark_means"].items()
        ],
        "items": compute_item_rows(document),
        "figure": Markup(figure_svg) if figure_svg else None,
        "decomposition": compute_decomposition_rows(document),
        "notes": list(document["notes"]),
        "inputs": [
            {**entry, "run_created": describe_time(entry["run_created"])} for entry in inputs
        ],
    }


def draw_reliability(document: Mapping) -> str | None:
    """The reliability diagram as inline SVG; None when nothing was scored."""
    from forecast.report.canvas import figure_style
    from forecast.report.reliability import ReliabilitySeries, plot_reliability
    from forecast.report.svg import to_svg

    series = [
        ReliabilitySeries(name, calibration["bins"])
        for name, calibration in document["calibration"].items()
    ]
    if not any(entry.bins for entry in series):
        return None
    with figure_style():
        return to_svg(plot_reliability(series), prefix="reliability")


def render_score_page(document: Mapping, *, paper: str = "a4") -> str:
    """score.html as one self-contained page."""
    context = build_score_context(document, draw_reliability(document), paper=paper)
    return template_environment().get_template("score.html.j2").render(context)


def write_score_reports(
    document: Mapping, into: pathlib.Path, *, formats: set[str], paper: str = "a4"
) -> list[pathlib.Path]:
    """Write score.html and/or score.pdf into `into`; the page is rendered once for both."""
    page = render_score_page(document, paper=paper)
    written = []
    if "html" in formats:
        path = pathlib.Path(into) / "score.html"
        path.write_text(page, encoding="utf-8")
        written.append(path)
    if "pdf" in formats:
        from forecast.report.pdf import write_pdf

        written.append(write_pdf(page, pathlib.Path(into) / "score.pdf"))
    return written
