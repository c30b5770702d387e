"""The report page: summary numbers, the scenario file and drawn figures into one HTML string.

The template escapes everything it is given (autoescape on); the only markup passed through
unescaped is the report's own stylesheet and the SVG that :mod:`forecast.report.svg` wrote, in
which matplotlib and ElementTree have escaped every piece of user text.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import jinja2
from markupsafe import Markup

from forecast.report.wording import (
    describe_data,
    describe_date,
    describe_diagnosis,
    describe_per,
    describe_period_heading,
    describe_record,
    describe_row,
    describe_value,
    describe_when,
    evidence_targets,
    format_count,
    format_interval,
    format_number,
    format_probability,
    format_rate,
    format_rate_interval,
    format_shift,
    format_value,
    outcome_comparisons,
    outcome_label,
    parameter_label,
    power_scaling_labels,
    rank_scenarios,
)

if TYPE_CHECKING:
    from forecast.report.figures import ReportFigures

PAPER_SIZES = {"a4": "A4", "letter": "letter"}


@functools.cache
def template_environment() -> jinja2.Environment:
    """The report's Jinja2 environment: autoescape on, undefined names are errors."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("forecast.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.cache
def stylesheet() -> Markup:
    """The report's CSS, inlined so the page needs no other file."""
    css = importlib.resources.files("forecast.report").joinpath("style.css").read_text("utf-8")
    # Our own file, but a "</style" inside it would end the element early: refuse rather than
    # produce a page that silently loses its styles.
    if "</" in css:
        raise ValueError("style.css must not contain '</'")
    return Markup(resolve_custom_properties(css))


def resolve_custom_properties(css: str) -> str:
    """Replace var(--name) by the value :root gives it.

    The stylesheet names its colours and fonts once, in :root; WeasyPrint resolves var() again
    for every property of every element, a tenth of its layout time, so the page carries the
    values themselves.
    """
    values = dict(re.findall(r"(--[\w-]+):\s*([^;]+);", css))
    return re.sub(r"var\((--[\w-]+)\)", lambda m: " ".join(values[m[1]].split()), css)


def render_report(
    summary: Mapping, scenario_text: str, figures: ReportFigures, *, paper: str = "a4"
) -> str:
    """The report as one self-contained HTML page."""
    context = build_report_context(summary, scenario_text, figures, paper=paper)
    return template_environment().get_template("report.html.j2").render(context)


def build_report_context(
    summary: Mapping, scenario_text: str, figures: ReportFigures, *, paper: str = "a4"
) -> dict:
    """Everything the template shows, already worded and formatted."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"unknown paper size {paper!r}; use one of: {', '.join(PAPER_SIZES)}")
    outcomes = summary["outcomes"]
    diagnostics = summary["diagnostics"]
    return {
        "css": stylesheet(),
        "page_size": PAPER_SIZES[paper],
        "title": summary["title"],
        "question": summary["question"] or "",
        "as_of": summary["as_of"] or "",
        "horizon": summary["horizon"] or "",
        "created": describe_time(summary["created"]),
        "created_iso": summary["created"],
        "warnings": compute_warnings(diagnostics),
        "variant": compute_variant(summary),
        "scenarios": compute_scenario_rows(summary["scenarios"]),
        "scenario_note": compute_scenario_note(summary["scenarios"]),
        "outcomes": [
            compute_outcome_section(
                name, outcomes, figures.outcomes[name], curve=figures.curves.get(name)
            )
            for name in outcomes
        ],
        "sensitivity": compute_sensitivity(summary, figures.tornadoes),
        "evidence": compute_evidence_rows(summary["evidence"], outcomes),
        "reference_classes": [
            compute_reference_class(reference_class, outcomes, svg)
            for reference_class, svg in zip(
                summary["reference_classes"], figures.reference_classes, strict=True
            )
        ],
        "worlds": compute_world_table(summary["worlds"], outcomes),
        "diagnostics": compute_diagnostics(diagnostics),
        "provenance": compute_provenance(summary),
        "scenario_text": scenario_text,
        "figures": {
            "scenarios": _svg(figures.scenarios),
            "evidence": _svg(figures.evidence),
            "dependencies": _svg(figures.dependencies),
            "rank_plots": [(title, _svg(svg)) for title, svg in figures.rank_plots],
        },
    }


def _svg(svg: str | None) -> Markup | None:
    # Matplotlib wrote this SVG and escaped the user text in it; it is the one trusted markup.
    return Markup(svg) if svg else None


def describe_time(iso: str | None) -> str:
    """An ISO 8601 time as '29 November 2026, 09:00 UTC'; anything else as given."""
    if not iso:
        return ""
    try:
        moment = dt.datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
        return f"{moment.day} {moment:%B %Y, %H:%M} UTC"
    return f"{moment.day} {moment:%B %Y, %H:%M}"


def compute_warnings(diagnostics: Mapping) -> list[str]:
    """Diagnostics warnings for the top of the report; a failed check without words gets some."""
    warnings = [str(w) for w in diagnostics["warnings"]]
    if not diagnostics["ok"] and not warnings:
        warnings.append("The sampler's convergence checks did not pass.")
    return warnings


def _stats_cells(stats: Mapping) -> dict:
    return {"mean": format_probability(stats["mean"]), "interval": format_interval(stats["hdi90"])}


def _change(prior: Mapping, posterior: Mapping) -> dict:
    difference = posterior["mean"] - prior["mean"]
    direction = "up" if difference >= 0.005 else "down" if difference <= -0.005 else "none"
    return {"text": format_shift(prior["mean"], posterior["mean"]), "direction": direction}


def compute_scenario_rows(scenarios: Mapping) -> list[dict]:
    """The headline table: named scenarios, most probable first."""
    return [
        {
            "name": name,
            "expression": scenario["expression"],
            "posterior": _stats_cells(scenario["posterior"]),
            "prior": _stats_cells(scenario["prior"]),
            "change": _change(scenario["prior"], scenario["posterior"]),
            "method": scenario["method"],
        }
        for name, scenario in rank_scenarios(scenarios)
    ]


def compute_scenario_note(scenarios: Mapping) -> dict:
    """What the headline note says about how scenario probabilities were computed."""
    errors = [s["mcse"] for s in scenarios.values()]
    return {
        "simulated": any(s["method"] != "exact" for s in scenarios.values()),
        "max_mcse": format_probability(max(errors)) if errors else "n/a",
    }


def _table_rows(comparisons) -> list[dict]:
    rows, section = [], None
    for comparison in comparisons:
        stats = comparison.stats
        rows.append(
            {
                "label": comparison.label,
                # A heading row goes above the first row of each section.
                "heading": comparison.section if comparison.section != section else None,
                "prior": _stats_cells(stats["prior"]),
                "posterior": _stats_cells(stats["posterior"]),
                "change": _change(stats["prior"], stats["posterior"]),
                "emphasis": comparison.emphasis,
            }
        )
        section = comparison.section
    return rows


def compute_outcome_section(
    name: str, outcomes: Mapping, svg: str, *, curve: str | None = None
) -> dict:
    """One outcome: overall, per condition row and per category, prior beside posterior; for an
    event also its checkpoints, its rate and its curve (`curve`, the figure)."""
    outcome = outcomes[name]
    return {
        "name": name,
        "label": outcome["label"],
        "description": outcome["description"] or "",
        "kind": outcome["kind"],
        "categories": (
            [category["label"] for category in outcome["categories"].values()]
            if outcome["kind"] == "categorical"
            else []
        ),
        "given": [outcome_label(parent, outcomes) for parent in outcome["given"]],
        "rows": _table_rows(outcome_comparisons(name, outcomes)),
        "figure": _svg(svg),
        "event": compute_event(name, outcomes, curve) if outcome["kind"] == "event" else None,
    }


def _rate_cells(stats: Mapping) -> dict:
    return {"mean": format_rate(stats["mean"]), "interval": format_rate_interval(stats["hdi90"])}


def compute_event(name: str, outcomes: Mapping, curve: str | None) -> dict:
    """What an event outcome shows beyond a binary one: its probability by each checkpoint,
    its rate (per condition row and per period, where it has them) and its curve."""
    outcome = outcomes[name]
    horizon = outcome["curve"]["posterior"][-1]["date"]
    checkpoints = [
        {
            "date": describe_date(date),
            "iso": date,
            "horizon": date == horizon,
            "prior": _stats_cells(outcome["by"][date]["prior"]),
            "posterior": _stats_cells(outcome["by"][date]["posterior"]),
            "change": _change(outcome["by"][date]["prior"], outcome["by"][date]["posterior"]),
        }
        for date in outcome["checkpoints"]
    ]
    stated = outcome["priors_stated"]
    if outcome["given"]:
        places = [
            (describe_row(row, name, outcomes), stated.get(row["key"], ""), row["rate"])
            for row in outcome["rows"]
        ]
    else:
        places = [(None, stated.get("", next(iter(stated.values()), "")), outcome["rate"])]
    rates = []
    for condition, text, rate in places:
        if rate is None:
            continue
        periods = rate.get("periods")
        if periods is None:
            rates.append(
                {
                    "heading": None,
                    "label": condition or "Throughout",
                    "stated": text,
                    "prior": _rate_cells(rate["prior"]),
                    "posterior": _rate_cells(rate["posterior"]),
                }
            )
            continue
        for position, period in enumerate(periods):
            rates.append(
                {
                    # Each condition row's periods under a heading naming the condition.
                    "heading": condition if position == 0 else None,
                    "label": describe_period_heading(period),
                    "stated": text if position == 0 else "",
                    "prior": _rate_cells(period["prior"]),
                    "posterior": _rate_cells(period["posterior"]),
                }
            )
    return {
        "per": describe_per(outcome["per"]),
        "horizon": describe_date(horizon),
        "checkpoints": checkpoints,
        "rates": rates,
        "changes": any("periods" in rate for _, _, rate in places if rate),
        "curve": _svg(curve),
    }


def compute_sensitivity(summary: Mapping, tornado_svgs: Mapping[str, str]) -> dict | None:
    """Which belief drives each answer: a tornado per headline scenario, worded, and the
    power-scaling rows; None for a run written before the analysis existed."""
    sensitivity = summary.get("sensitivity")
    if not sensitivity:
        return None
    from forecast.report.figure_data import compute_tornadoes

    limits = sensitivity["settings"]
    KHAT_LIMIT, POWER_THRESHOLD = limits["khat_limit"], limits["power_threshold"]  # noqa: N806
    REFIT_CHAINS, REFIT_DRAWS = limits["refit"]["chains"], limits["refit"]["draws"]  # noqa: N806

    power_scaling = sensitivity["power_scaling"]
    tornadoes = []
    for tornado in compute_tornadoes(summary, khat_limit=KHAT_LIMIT):
        result = power_scaling.get(tornado.scenario)
        top = tornado.bars[0] if tornado.bars else None
        tornadoes.append(
            {
                "scenario": tornado.scenario,
                "mean": format_probability(tornado.mean),
                "figure": _svg(tornado_svgs.get(tornado.scenario)),
                "top": (
                    {
                        "label": top.label,
                        "moved": top.values,
                        "low": format_probability(top.low),
                        "high": format_probability(top.high),
                    }
                    if top is not None and top.swing > 0
                    else None
                ),
                "more": tornado.more,
                "more_swing": f"{100 * tornado.more_swing:.1f} pp",
                "sampled_again": any(bar.sampled_again for bar in tornado.bars),
                # Repeated above the chart only where it is a warning.
                "diagnosis": (
                    describe_diagnosis(result, POWER_THRESHOLD)
                    if result is not None and result["diagnosis"] is not None
                    else None
                ),
            }
        )
    return {
        "tornadoes": tornadoes,
        "rates": any(entry["kind"] == "rate" for entry in sensitivity["tornado"]),
        "power_scaling": compute_power_scaling_rows(power_scaling, summary, POWER_THRESHOLD),
        "threshold": format_number(POWER_THRESHOLD),
        "khat_limit": format_number(KHAT_LIMIT),
        "refit": f"{REFIT_CHAINS} chains of {format_count(REFIT_DRAWS)} draws",
    }


# Flagged quantities first: a conflict before an answer that rests on its prior.
DIAGNOSIS_ORDER = {"prior-data conflict": 0, "weak likelihood": 1}


def compute_power_scaling_rows(
    power_scaling: Mapping, summary: Mapping, threshold: float
) -> list[dict]:
    """Each outcome's, category's and scenario's prior and likelihood sensitivity with its
    diagnosis in words, the flagged ones first (ties in the summary's order); a number is
    flagged where the diagnosis rests on it."""
    labels = power_scaling_labels(summary)
    ranked = []
    for key, result in power_scaling.items():
        diagnosis = result["diagnosis"]
        label, kind = labels.get(key, (key, ""))
        row = {
            "label": label,
            "kind": kind,
            "prior": f"{result['prior']:.3f}",
            "likelihood": f"{result['likelihood']:.3f}",
            "prior_flag": diagnosis in DIAGNOSIS_ORDER,
            "likelihood_flag": diagnosis == "prior-data conflict",
            "diagnosis": describe_diagnosis(result, threshold),
            "flagged": diagnosis is not None,
        }
        ranked.append((DIAGNOSIS_ORDER.get(diagnosis, 2) if diagnosis else 3, row))
    return [row for _, row in sorted(ranked, key=lambda pair: pair[0])]


def compute_evidence_rows(evidence, outcomes: Mapping) -> list[dict]:
    """Each evidence item, and how far it moved the probability it bears on.

    An item on a categorical outcome takes one row per category; the rows after its first are
    `continued` and leave the source and data to the first.
    """
    rows = []
    for number, item in enumerate(evidence, start=1):
        label = outcome_label(item["outcome"], outcomes)
        for position, (category, with_item, without) in enumerate(evidence_targets(item, outcomes)):
            rows.append(
                {
                    "number": number,
                    "continued": position > 0,
                    "outcome": f"{label}: {category}" if category else label,
                    "condition": describe_when(item, outcomes),
                    "source": item["source"] or "",
                    "weight": format_number(item["weight"]),
                    "data": describe_data(item, outcomes),
                    "without": _stats_cells(without),
                    "with": _stats_cells(with_item),
                    "change": _change(without, with_item),
                    "method": item["method"],
                }
            )
    return rows


def compute_reference_class(reference_class: Mapping, outcomes: Mapping, svg: str) -> dict:
    """A reference class: its cases' raw and pooled rates, class mean and concentration. On
    an event's rate, its rates are events per the outcome's unit and its cases' records events
    in years."""
    concentration = reference_class["concentration"]
    outcome = outcomes[reference_class["outcome"]]
    if outcome["kind"] == "event":
        per = describe_per(outcome["per"])
        cases = [
            {
                "name": case["name"],
                "record": describe_record(case["events"], case["years"]),
                "raw_rate": format_rate(case["raw_rate"]),
                "pooled": _rate_cells(case["pooled"]),
            }
            for case in reference_class["cases"]
        ]
        class_mean = _rate_cells(reference_class["class_mean"])
    else:
        per = None
        cases = [
            {
                "name": case["name"],
                "record": f"{format_count(case['successes'])} of {format_count(case['trials'])}",
                "raw_rate": format_probability(case["raw_rate"]),
                "pooled": _stats_cells(case["pooled"]),
            }
            for case in reference_class["cases"]
        ]
        class_mean = _stats_cells(reference_class["class_mean"])
    return {
        "per": per,
        "horizon": (
            describe_date(outcome["curve"]["posterior"][-1]["date"]) if per is not None else None
        ),
        "outcome": outcome_label(reference_class["outcome"], outcomes),
        "condition": describe_when(reference_class, outcomes),
        "pooling": reference_class["pooling"],
        "source": reference_class["source"] or "",
        "class_mean": class_mean,
        # Concentration is a pseudo-count, not a probability: written as a plain number. Its
        # posterior has a long right tail, which drags the mean far above the 90% interval; the
        # median is the typical value.
        "concentration": (
            {
                "median": format_number(concentration["median"], 2),
                "interval": "–".join(format_number(b, 2) for b in concentration["hdi90"]),
            }
            if concentration is not None
            else None
        ),
        "target": _stats_cells(reference_class["target"]),
        "cases": cases,
        "figure": _svg(svg),
    }


def compute_world_table(worlds, outcomes: Mapping) -> dict:
    """The most probable joint worlds: one column per outcome, in the summary's outcome order,
    each as wide as what is in it."""
    columns = [outcome_label(name, outcomes) for name in outcomes]
    rows = [
        {
            "rank": rank,
            "values": [
                {
                    "text": describe_value(name, world["values"][name], outcomes),
                    "kind": {True: "yes", False: "no"}.get(world["values"][name], "category"),
                }
                for name in outcomes
            ],
            "posterior": format_probability(world["probability"]),
            "prior": format_probability(world["prior_probability"]),
        }
        for rank, world in enumerate(worlds, start=1)
    ]
    values = [[row["values"][index]["text"] for row in rows] for index in range(len(columns))]
    return {
        "columns": columns,
        "rows": rows,
        "widths": world_column_widths(columns, values),
    }


# Percent of the worlds table for its rank, probability and prior columns; the outcomes share
# the rest.
WORLD_FIXED_WIDTHS = (4, 11, 7)


def world_column_widths(columns: list[str], values: list[list[str]]) -> list[str]:
    """Column widths of the worlds table in percent (rank, one per outcome, probability, prior).

    An outcome's column gets room in proportion to what it must show: its heading on at most
    four lines and its longest value, up to about twenty characters on one line (a longer one
    wraps). A column of yes and no stays narrow; a category's label gets the room it needs.
    """
    needs = []
    for heading, texts in zip(columns, values, strict=True):
        longest_word = max((len(word) for word in heading.split()), default=1)
        longest_value = max((len(text) for text in texts), default=1)
        needs.append(max(longest_word, -(-len(heading) // 4), min(longest_value, 20), 3))
    rank, probability, prior = WORLD_FIXED_WIDTHS
    share = 100 - rank - probability - prior
    widths = [rank, *(share * need / sum(needs) for need in needs), probability, prior]
    return [f"{width:.1f}" for width in widths]


def compute_diagnostics(diagnostics: Mapping) -> dict:
    """The appendix's convergence numbers, with parameters past the run's limits flagged."""
    rhat_limit, ess_limit = diagnostics["rhat_limit"], diagnostics["ess_limit"]
    parameters = []
    for parameter in diagnostics["parameters"]:
        rhat, bulk, tail = (parameter[k] for k in ("rhat", "ess_bulk", "ess_tail"))
        parameters.append(
            {
                "name": parameter_label(parameter["name"]),
                "rhat": f"{rhat:.3f}" if rhat is not None else "n/a",
                "rhat_flag": rhat is not None and rhat > rhat_limit,
                "ess_bulk": format_count(bulk),
                "ess_bulk_flag": bulk is not None and bulk < ess_limit,
                "ess_tail": format_count(tail),
                "ess_tail_flag": tail is not None and tail < ess_limit,
            }
        )
    max_rhat = diagnostics["max_rhat"]
    return {
        "ok": diagnostics["ok"],
        "chains": format_count(diagnostics["chains"]),
        "draws": format_count(diagnostics["draws"]),
        "max_rhat": f"{max_rhat:.3f}" if max_rhat is not None else "n/a",
        "min_ess_bulk": format_count(diagnostics["min_ess_bulk"]),
        "min_ess_tail": format_count(diagnostics["min_ess_tail"]),
        "divergences": format_count(diagnostics["divergences"]),
        "divergences_flag": bool(diagnostics["divergences"]),
        "parameters": parameters,
        "rhat_limit": format_number(rhat_limit),
        "ess_limit": format_count(ess_limit),
    }


def compute_variant(summary: Mapping) -> dict | None:
    """The what-if a run is of (None for the file as it is): name, description, where it was
    defined, and each value it sets. Runs written before what-ifs existed have none."""
    variant = summary.get("variant")
    if variant is None:
        return None
    return {
        "name": variant["name"],
        "description": variant["description"] or "",
        "defined_in": (
            "a variant in the scenario file"
            if variant["defined_in"] == "file"
            else "--set on the command line"
        ),
        "overrides": [
            (item["path"], format_value(item["value"])) for item in summary.get("overrides", [])
        ],
    }


def compute_provenance(summary: Mapping) -> dict:
    """Where the numbers came from: input, overrides, seed, command, versions, sampler."""
    return {
        "scenario": summary["scenario"],
        "source_file": summary["source_file"],
        "input_sha256": summary["input_sha256"],
        "variant": compute_variant(summary),
        "seed": summary["seed"],
        "command": summary["command"],
        "created": describe_time(summary["created"]),
        "created_iso": summary["created"],
        "format": summary["format"],
        "versions": [(name, str(version)) for name, version in summary["versions"].items()],
        "sampler": [
            (name.replace("_", " "), str(value))
            for name, value in summary["sampler"].items()
            if not isinstance(value, Mapping | list)
        ],
    }
