"""The report page: summary numbers, the scenario file and drawn figures into one HTML string.

The template escapes everything it is given (autoescape on); the only markup passed through
unescaped is the report's own stylesheet and the SVG that :mod:`forecast.report.figures` wrote,
in which matplotlib has escaped every piece of user text.
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
    describe_condition,
    describe_value,
    evidence_targets,
    format_count,
    format_interval,
    format_number,
    format_probability,
    format_shift,
    outcome_comparisons,
)

if TYPE_CHECKING:
    from forecast.report.figures import ReportFigures

PAPER_SIZES = {"a4": "A4", "letter": "letter"}

# Conventional thresholds (Vehtari et al. 2021): flag, in the appendix table, the parameters a
# reader should look at first. Whether the run passed is the sampler's verdict (diagnostics.ok).
# Used only for summaries written without their limits.
RHAT_LIMIT = 1.01
ESS_LIMIT = 400


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
    outcomes = summary.get("outcomes", {})
    diagnostics = summary.get("diagnostics", {})
    return {
        "css": stylesheet(),
        "page_size": PAPER_SIZES[paper],
        "title": summary.get("title") or summary.get("scenario", "Scenario forecast"),
        "question": summary.get("question", ""),
        "as_of": summary.get("as_of") or "",
        "horizon": summary.get("horizon") or "",
        "created": describe_time(summary.get("created")),
        "created_iso": summary.get("created", ""),
        "warnings": compute_warnings(diagnostics),
        "scenarios": compute_scenario_rows(summary.get("scenarios", {})),
        "scenario_note": compute_scenario_note(summary.get("scenarios", {})),
        "outcomes": [
            compute_outcome_section(name, outcome, outcomes, figures.outcomes.get(name))
            for name, outcome in outcomes.items()
        ],
        "evidence": compute_evidence_rows(summary.get("evidence", []), outcomes),
        "reference_classes": [
            compute_reference_class(reference_class, outcomes, svg)
            for reference_class, svg in zip(
                summary.get("reference_classes", []), figures.reference_classes, strict=True
            )
        ],
        "worlds": compute_world_table(summary.get("worlds", []), outcomes),
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
    warnings = [str(w) for w in diagnostics.get("warnings", []) or []]
    if diagnostics.get("ok") is False and not warnings:
        warnings.append("The sampler's convergence checks did not pass.")
    return warnings


def _stats_cells(stats: Mapping | None) -> dict:
    if not stats:
        return {"mean": "n/a", "interval": "n/a"}
    return {"mean": format_probability(stats["mean"]), "interval": format_interval(stats["hdi90"])}


def _change(prior: Mapping | None, posterior: Mapping | None) -> dict:
    if not prior or not posterior:
        return {"text": "", "direction": "none"}
    difference = posterior["mean"] - prior["mean"]
    direction = "up" if difference >= 0.005 else "down" if difference <= -0.005 else "none"
    return {"text": format_shift(prior["mean"], posterior["mean"]), "direction": direction}


def compute_scenario_rows(scenarios: Mapping) -> list[dict]:
    """The headline table: named scenarios, most probable first."""
    ranked = sorted(scenarios.items(), key=lambda item: -item[1]["posterior"]["mean"])
    return [
        {
            "name": name,
            "expression": scenario.get("expression", ""),
            "posterior": _stats_cells(scenario["posterior"]),
            "prior": _stats_cells(scenario.get("prior")),
            "change": _change(scenario.get("prior"), scenario["posterior"]),
            "mcse": format_probability(scenario["mcse"]) if "mcse" in scenario else "",
            "method": scenario.get("method", ""),
        }
        for name, scenario in ranked
    ]


def compute_scenario_note(scenarios: Mapping) -> dict:
    """What the headline note says about how scenario probabilities were computed."""
    errors = [s["mcse"] for s in scenarios.values() if s.get("mcse") is not None]
    return {
        "simulated": any(s.get("method", "exact") != "exact" for s in scenarios.values()),
        "max_mcse": format_probability(max(errors)) if errors else "n/a",
    }


def _table_row(label: str, stats: Mapping, *, emphasis: bool = False) -> dict:
    return {
        "label": label,
        "prior": _stats_cells(stats.get("prior")),
        "posterior": _stats_cells(stats.get("posterior")),
        "change": _change(stats.get("prior"), stats.get("posterior")),
        "emphasis": emphasis,
    }


def compute_outcome_section(name: str, outcome: Mapping, outcomes: Mapping, svg) -> dict:
    """One outcome: overall, per condition row and per category, prior beside posterior."""
    rows = [
        _table_row(label, stats, emphasis=emphasis)
        for label, stats, emphasis in outcome_comparisons(outcome, outcomes)
    ]
    given = [outcomes[p].get("label", p) if p in outcomes else p for p in outcome.get("given", [])]
    kind = outcome.get("kind", "binary")
    return {
        "name": name,
        "label": outcome.get("label") or name,
        "kind": kind,
        "categories": len(outcome.get("categories", {})),
        "given": given,
        "rows": rows,
        "figure": _svg(svg),
    }


def describe_data(data) -> str:
    """An evidence item's data in words: '0 of 2' for counts, else its fields."""
    if isinstance(data, Mapping):
        if set(data) == {"successes", "trials"}:
            return f"{format_count(data['successes'])} of {format_count(data['trials'])}"
        if set(data) == {"counts"}:
            return ", ".join(f"{name} {format_count(n)}" for name, n in data["counts"].items())
        return ", ".join(f"{key}: {value}" for key, value in data.items())
    return "" if data is None else str(data)


def compute_evidence_rows(evidence, outcomes: Mapping) -> list[dict]:
    """Each evidence item, and how far it moved the probability it bears on.

    An item on a categorical outcome takes one row per category; the rows after its first are
    `continued` and leave the source and data to the first.
    """
    rows = []
    for number, item in enumerate(evidence, start=1):
        outcome = item.get("outcome", "")
        label = outcomes.get(outcome, {}).get("label") or outcome
        for position, (category, with_item, without) in enumerate(evidence_targets(item)):
            rows.append(
                {
                    "number": number,
                    "continued": position > 0,
                    "outcome": f"{label}: {category}" if category else label,
                    "condition": (
                        describe_condition(item["when"], outcomes) if item.get("when") else ""
                    ),
                    "source": item.get("source") or "",
                    "weight": format_number(item["weight"]) if "weight" in item else "",
                    "data": describe_data(item.get("data")),
                    "without": _stats_cells(without),
                    "with": _stats_cells(with_item),
                    "change": _change(without, with_item),
                    "method": item.get("method", ""),
                }
            )
    return rows


def compute_reference_class(reference_class: Mapping, outcomes: Mapping, svg) -> dict:
    """A reference class: its cases' raw and pooled rates, class mean and concentration."""
    outcome = reference_class.get("outcome", "")
    concentration = reference_class.get("concentration")
    return {
        "outcome": outcomes.get(outcome, {}).get("label") or outcome,
        "condition": (
            describe_condition(reference_class["when"], outcomes)
            if reference_class.get("when")
            else ""
        ),
        "pooling": reference_class.get("pooling", ""),
        "class_mean": _stats_cells(reference_class.get("class_mean")),
        # Concentration is a pseudo-count, not a probability: written as a plain number.
        "concentration": (
            {
                "mean": format_number(concentration["mean"], 2),
                "interval": "–".join(format_number(b, 2) for b in concentration["hdi90"]),
            }
            if concentration
            else None
        ),
        "target": _stats_cells(reference_class["target"])
        if reference_class.get("target")
        else None,
        "cases": [
            {
                "name": case.get("name", ""),
                "record": f"{format_count(case['successes'])} of {format_count(case['trials'])}",
                "raw_rate": format_probability(case["raw_rate"]),
                "pooled": _stats_cells(case.get("pooled")),
            }
            for case in reference_class.get("cases", [])
        ],
        "figure": _svg(svg),
    }


def compute_world_table(worlds, outcomes: Mapping) -> dict:
    """The most probable joint worlds: one column per outcome, in the summary's outcome order."""
    names = list(outcomes)
    for world in worlds:
        names.extend(n for n in world.get("values", {}) if n not in names)
    return {
        "columns": [outcomes.get(n, {}).get("label") or n for n in names],
        "rows": [
            {
                "rank": rank,
                "values": [
                    {
                        "text": describe_value(world["values"].get(n, "")),
                        "kind": {True: "yes", False: "no"}.get(world["values"].get(n), "category"),
                    }
                    for n in names
                ],
                "posterior": format_probability(world["probability"]),
                "prior": format_probability(world["prior_probability"])
                if "prior_probability" in world
                else "n/a",
            }
            for rank, world in enumerate(worlds, start=1)
        ],
    }


def compute_diagnostics(diagnostics: Mapping) -> dict:
    """The appendix's convergence numbers, with parameters past the usual limits flagged."""
    rhat_limit = diagnostics.get("rhat_limit", RHAT_LIMIT)
    ess_limit = diagnostics.get("ess_limit", ESS_LIMIT)
    parameters = []
    for parameter in diagnostics.get("parameters", []):
        rhat, bulk, tail = (parameter.get(k) for k in ("rhat", "ess_bulk", "ess_tail"))
        parameters.append(
            {
                "name": parameter.get("name", ""),
                "rhat": f"{rhat:.3f}" if rhat is not None else "n/a",
                "rhat_flag": rhat is not None and rhat > rhat_limit,
                "ess_bulk": format_count(bulk),
                "ess_bulk_flag": bulk is not None and bulk < ess_limit,
                "ess_tail": format_count(tail),
                "ess_tail_flag": tail is not None and tail < ess_limit,
            }
        )
    return {
        "ok": diagnostics.get("ok"),
        "chains": format_count(diagnostics.get("chains")),
        "draws": format_count(diagnostics.get("draws")),
        "max_rhat": f"{diagnostics['max_rhat']:.3f}"
        if diagnostics.get("max_rhat") is not None
        else "n/a",
        "min_ess_bulk": format_count(diagnostics.get("min_ess_bulk")),
        "min_ess_tail": format_count(diagnostics.get("min_ess_tail")),
        "divergences": format_count(diagnostics.get("divergences")),
        "divergences_flag": bool(diagnostics.get("divergences")),
        "parameters": parameters,
        "rhat_limit": rhat_limit,
        "ess_limit": format_count(ess_limit),
    }


def compute_provenance(summary: Mapping) -> dict:
    """Where the numbers came from: input, seed, command, versions, sampler settings."""
    sampler = summary.get("sampler", {})
    return {
        "scenario": summary.get("scenario", ""),
        "source_file": summary.get("source_file", ""),
        "input_sha256": summary.get("input_sha256", ""),
        "seed": summary.get("seed", ""),
        "command": summary.get("command", ""),
        "created": describe_time(summary.get("created")),
        "created_iso": summary.get("created", ""),
        "format": summary.get("format", ""),
        "versions": [(name, str(version)) for name, version in summary.get("versions", {}).items()],
        "sampler": [
            (name.replace("_", " "), str(value))
            for name, value in sampler.items()
            if not isinstance(value, Mapping | list)
        ],
    }
