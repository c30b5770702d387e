"""What each figure shows, computed from summary.json and posterior draws: NumPy only, no drawing.

Each ``compute_*`` function returns plain data (the dataclasses below) that a ``plot_*``
function of :mod:`forecast.report.charts` draws. A row of an interval chart names its series by
role ("prior", "posterior", "without", "with"); how a role looks is the charts' business.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from forecast.report.wording import (
    category_label,
    describe_date,
    describe_input_values,
    describe_inputs,
    describe_record,
    describe_when,
    evidence_targets,
    format_probability,
    input_unit,
    outcome_comparisons,
    outcome_label,
    parameter_label,
    rank_scenarios,
)
from forecast.variables import is_sampling_coordinate


@dataclass(frozen=True)
class Interval:
    """One distribution as drawn: dot at the mean, thick bar 25–75%, thin line the 90% HDI."""

    mean: float
    hdi90: tuple[float, float]
    middle50: tuple[float, float]

    @classmethod
    def from_stats(cls, stats: Mapping) -> Interval:
        """Read a STATS object of summary.json."""
        quantiles = stats["quantiles"]
        return cls(
            float(stats["mean"]),
            (float(stats["hdi90"][0]), float(stats["hdi90"][1])),
            (float(quantiles["0.25"]), float(quantiles["0.75"])),
        )


@dataclass(frozen=True)
class IntervalGroup:
    """A labelled group of rows, one interval per role, drawn one under another; groups that
    share a section are drawn under its heading."""

    label: str
    rows: tuple[tuple[str, Interval], ...]
    emphasis: bool = False
    section: str | None = None


@dataclass(frozen=True)
class ShrinkageCase:
    """One case of a reference class: its own rate and its partially pooled estimate."""

    label: str
    raw_rate: float
    pooled: Interval


@dataclass(frozen=True)
class Shrinkage:
    """A reference class as drawn: its cases, the class mean and the forecast's target.

    A class on an event's rate is drawn on a rate axis from 0 to `maximum`, in events per
    `per`; its target is the rate of the row and period it bears on.
    """

    cases: tuple[ShrinkageCase, ...]
    class_mean: Interval
    target: Interval | None
    per: str | None = None  # the unit of a rate class; None for a class of probabilities
    maximum: float | None = None  # the end of a rate class's axis


@dataclass(frozen=True)
class Checkpoint:
    """A date an event outcome reports: the probability it has happened by then."""

    date: dt.date
    prior: float  # prior mean
    posterior: float  # posterior mean


@dataclass(frozen=True)
class EventCurve:
    """An event outcome's probability of having happened by each date from `as_of` to the
    horizon, before and after the evidence, as its figure draws it."""

    label: str
    dates: tuple[dt.date, ...]
    prior: tuple[float, ...]  # prior mean by each date
    posterior: tuple[float, ...]  # posterior mean by each date
    band: tuple[tuple[float, float], ...]  # the posterior's 90% HDI by each date
    checkpoints: tuple[Checkpoint, ...]
    changes: tuple[dt.date, ...]  # dates at which the rate changes
    ticks: tuple[tuple[dt.date, str], ...]  # dates written under the axis
    top: float  # the probability at the top of the axis
    description: str  # what the figure shows, in words, for a reader who cannot see it


# The top of an event curve's axis: the first of these above everything it shows, so that a
# rare event's curve is not drawn flat along the bottom (the axis always starts at 0).
CURVE_TOPS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def compute_event_curve(name: str, outcomes: Mapping) -> EventCurve:
    """An event outcome's curve, checkpoints, rate changes and date ticks from summary.json."""
    outcome = outcomes[name]
    prior, posterior = outcome["curve"]["prior"], outcome["curve"]["posterior"]
    dates = tuple(dt.date.fromisoformat(point["date"]) for point in posterior)
    checkpoints = tuple(
        Checkpoint(
            dt.date.fromisoformat(date),
            float(outcome["by"][date]["prior"]["mean"]),
            float(outcome["by"][date]["posterior"]["mean"]),
        )
        for date in outcome["checkpoints"]
    )
    band = tuple((float(p["hdi90"][0]), float(p["hdi90"][1])) for p in posterior)
    highest = max([0.0, *(high for _, high in band), *(p["mean"] for p in prior)])
    top = next((t for t in CURVE_TOPS if t >= highest * 1.02), 1.0)
    label = outcome_label(name, outcomes)
    shown = "; ".join(
        f"{format_probability(c.posterior)} by {describe_date(c.date.isoformat())}"
        f" (prior {format_probability(c.prior)})"
        for c in checkpoints
    )
    description = (
        f"Probability that {label} has happened, by date from "
        f"{describe_date(dates[0].isoformat())} to {describe_date(dates[-1].isoformat())}: "
        f"{shown}."
    )
    return EventCurve(
        label,
        dates,
        tuple(float(p["mean"]) for p in prior),
        tuple(float(p["mean"]) for p in posterior),
        band,
        checkpoints,
        rate_changes(outcome),
        compute_date_ticks(dates[0], dates[-1]),
        top,
        description,
    )


def rate_changes(outcome: Mapping) -> tuple[dt.date, ...]:
    """The dates at which an event outcome's rate changes (every row has the same periods)."""
    rate = outcome["rate"] or (outcome.get("rows") or [{}])[0].get("rate") or {}
    return tuple(dt.date.fromisoformat(period["from"]) for period in rate.get("periods", [])[1:])


# Months between dated ticks, by the span of the axis in months: at most about ten ticks.
TICK_MONTHS = ((8, 1), (16, 2), (36, 3), (72, 6), (144, 12), (360, 24))


def compute_date_ticks(start: dt.date, end: dt.date) -> tuple[tuple[dt.date, str], ...]:
    """First days of months between two dates, a few months apart, as (date, text): the
    month's abbreviation, with the year under it where the year begins and on the first tick;
    only the year where ticks are a year or more apart."""
    span = (end.year - start.year) * 12 + end.month - start.month
    step = next((months for limit, months in TICK_MONTHS if span <= limit), 60)
    year, month = start.year, start.month
    if start.day > 1:
        month += 1
    ticks = []
    while True:
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        date = dt.date(year, month, 1)
        if date > end:
            break
        if step >= 12:
            if month == 1 and year % (step // 12) == 0:
                ticks.append((date, str(year)))
        elif (month - 1) % step == 0:
            first = not ticks
            ticks.append((date, f"{date:%b}\n{year}" if first or month == 1 else f"{date:%b}"))
        month += 1
    return tuple(ticks)


@dataclass(frozen=True)
class RankHistogram:
    """Rank counts per chain of one scalar parameter (chains x bins), with the bin edges."""

    label: str
    counts: np.ndarray
    edges: np.ndarray
    draws_per_chain: int


@dataclass(frozen=True)
class RankPlot:
    """Rank histograms of every element of one posterior variable."""

    variable: str
    title: str
    panels: list[RankHistogram] = field(default_factory=list)


# The tornado charts: one for each of this many most probable scenarios, with at most this many
# bars each; a reader takes in ten bars at a glance, and the inputs past them move the answer
# least.
HEADLINE_TORNADOES = 3
TORNADO_BARS = 10


@dataclass(frozen=True)
class TornadoBar:
    """One input moved down and up: a scenario's posterior mean at either end."""

    label: str  # the input in the analyst's words
    values: str  # what it was moved between: "mean 0.30, moved 0.20 → 0.40"
    low: float  # the scenario's posterior mean with the input at its low value
    high: float  # ... and at its high value
    sampled_again: bool  # effects from sampling again, the importance weights being unreliable

    @property
    def swing(self) -> float:
        """How far the input moves the answer: |high − low|."""
        return abs(self.high - self.low)


@dataclass(frozen=True)
class Tornado:
    """Which beliefs a scenario's probability rests on, largest swing first."""

    scenario: str
    mean: float  # its posterior mean, on which the bars are centred
    bars: tuple[TornadoBar, ...]
    more: int = 0  # inputs left out, each moving it less than the bars drawn
    more_swing: float = 0.0  # the largest swing among them


def compute_tornadoes(
    summary: Mapping,
    *,
    khat_limit: float | None = None,
    count: int = HEADLINE_TORNADOES,
    max_bars: int = TORNADO_BARS,
) -> list[Tornado]:
    """A tornado for each of the `count` most probable scenarios; none for a summary without
    a sensitivity analysis (written before it existed) or without scenarios. A bar is marked
    as sampled again where its k-hat exceeds `khat_limit` (by default the engine's, as the
    summary records it)."""
    sensitivity = summary.get("sensitivity")
    if not sensitivity:
        return []
    if khat_limit is None:
        khat_limit = sensitivity["settings"]["khat_limit"]
    tornado = sensitivity["tornado"]
    outcomes = summary["outcomes"]
    labels = describe_inputs(tornado, outcomes, summary["evidence"])
    values = [describe_input_values(entry, input_unit(entry, outcomes)) for entry in tornado]
    # A scenario no input has effects for (one the analysis did not cover) gets no tornado,
    # rather than one that says nothing moves it.
    covered = {name for entry in tornado for name in entry["effects"]}
    return [
        compute_tornado(
            name,
            scenario["posterior"]["mean"],
            tornado,
            labels,
            khat_limit=khat_limit,
            max_bars=max_bars,
            values=values,
        )
        for name, scenario in rank_scenarios(summary["scenarios"])[:count]
        if name in covered
    ]


def compute_tornado(
    name: str,
    mean: float,
    tornado: Sequence[Mapping],
    labels: Sequence[str],
    *,
    khat_limit: float,
    max_bars: int = TORNADO_BARS,
    values: Sequence[str] | None = None,
) -> Tornado:
    """One scenario's tornado from the `tornado` entries of summary.json and their labels:
    the `max_bars` inputs that move its posterior mean furthest, largest |high − low| first
    (ties in the file's order). `values` words what each input was moved between (by default
    without the unit of an event's rate)."""
    if values is None:
        values = [describe_input_values(entry) for entry in tornado]
    bars = []
    for entry, label, moved in zip(tornado, labels, values, strict=True):
        effect = entry["effects"].get(name)
        if effect is None:
            continue
        khat = entry["khat"]
        bars.append(
            TornadoBar(
                label,
                moved,
                float(effect["low"]),
                float(effect["high"]),
                # A k-hat past the engine's limit means its means were not reweighted but
                # moment-matched or sampled again; one missing or not a number was never trusted
                # either.
                sampled_again=bool(entry["refit"])
                or ((khat is None or not khat <= khat_limit) and not entry.get("moment_matched")),
            )
        )
    bars.sort(key=lambda bar: -bar.swing)
    shown, rest = bars[:max_bars], bars[max_bars:]
    return Tornado(
        name,
        float(mean),
        tuple(shown),
        len(rest),
        max((bar.swing for bar in rest), default=0.0),
    )


def compute_outcome_groups(name: str, outcomes: Mapping) -> list[IntervalGroup]:
    """Prior and posterior rows of one outcome, as its table has them: overall or categories,
    then condition rows (for a categorical outcome, its categories under each condition)."""
    return [
        IntervalGroup(
            comparison.label,
            (
                ("prior", Interval.from_stats(comparison.stats["prior"])),
                ("posterior", Interval.from_stats(comparison.stats["posterior"])),
            ),
            comparison.emphasis,
            comparison.section,
        )
        for comparison in outcome_comparisons(name, outcomes)
    ]


def compute_evidence_groups(evidence: Sequence[Mapping], outcomes: Mapping) -> list[IntervalGroup]:
    """For each evidence item, its outcome's probability without and with the item."""
    groups = []
    for number, item in enumerate(evidence, start=1):
        label = f"{number}. {outcome_label(item['outcome'], outcomes)}"
        if condition := describe_when(item, outcomes):
            label += f" — {condition}"
        for category, with_item, without in evidence_targets(item, outcomes):
            groups.append(
                IntervalGroup(
                    f"{label}: {category}" if category else label,
                    (
                        ("without", Interval.from_stats(without)),
                        ("with", Interval.from_stats(with_item)),
                    ),
                )
            )
    return groups


def nice_maximum(value: float) -> float:
    """The round number (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 or 10 times a power of ten) at or just
    above `value`: the end of an axis that shows it."""
    if not value > 0:
        return 1.0
    magnitude = 10.0 ** np.floor(np.log10(value))
    return next(
        m * magnitude for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * magnitude >= value
    )


def compute_shrinkage(reference_class: Mapping, outcomes: Mapping | None = None) -> Shrinkage:
    """Each case's raw rate and pooled estimate, the class mean and the forecast's target; for
    a class on an event's rate (`outcomes` tells), rates in events per the outcome's unit."""
    outcome = (outcomes or {}).get(reference_class["outcome"])
    if outcome is None or outcome["kind"] != "event":
        cases = tuple(
            ShrinkageCase(
                f"{case['name']} ({case['successes']}/{case['trials']})",
                float(case["raw_rate"]),
                Interval.from_stats(case["pooled"]),
            )
            for case in reference_class["cases"]
        )
        return Shrinkage(
            cases,
            Interval.from_stats(reference_class["class_mean"]),
            Interval.from_stats(reference_class["target"]),
        )
    cases = tuple(
        ShrinkageCase(
            f"{case['name']} ({describe_record(case['events'], case['years'])})",
            float(case["raw_rate"]),
            Interval.from_stats(case["pooled"]),
        )
        for case in reference_class["cases"]
    )
    rate = outcome["rate"]
    if reference_class["row"] is not None:
        (row,) = (row for row in outcome["rows"] if row["key"] == reference_class["row"])
        rate = row["rate"]
    if rate and "periods" in rate:
        # The period the class describes (an event's reference class bears on one period).
        period = reference_class["period"]
        (rate,) = (p for p in rate["periods"] if p["from"] == period["from"])
    target = Interval.from_stats(rate["posterior"]) if rate else None
    class_mean = Interval.from_stats(reference_class["class_mean"])
    shown = [class_mean, *(case.pooled for case in cases), *([target] if target else [])]
    highest = max([*(interval.hdi90[1] for interval in shown), *(case.raw_rate for case in cases)])
    # A little room past the furthest mark, so that none sits on the end of the axis.
    return Shrinkage(cases, class_mean, target, outcome["per"], nice_maximum(highest * 1.05))


def compute_rank_plots(posterior, outcomes: Mapping, *, max_bins: int = 20) -> list[RankPlot]:
    """Rank histograms per chain for every element of every variable of a posterior Dataset.

    Ranks are taken over all chains pooled; if the chains mix, each chain's ranks are uniform,
    so every chain's histogram should lie flat within the binomial band. Variables with rows or
    categories get a plot each; single-valued variables share one, so the appendix stays short.
    Sampling coordinates (a pooled rate's offset) are not quantities of interest and are left out.
    """
    plots, single = [], []
    for variable, values in posterior.data_vars.items():
        variable = str(variable)
        if is_sampling_coordinate(variable):
            continue
        extra = [dim for dim in values.dims if dim not in ("chain", "draw")]
        array = values.transpose("chain", "draw", *extra).values
        chains, draws = array.shape[:2]
        if chains * draws == 0 or not np.issubdtype(array.dtype, np.number):
            continue
        bins = int(max(4, min(max_bins, draws // 10)))
        edges = np.linspace(0.5, chains * draws + 0.5, bins + 1)
        coordinates = [_coordinate_labels(variable, values, dim, outcomes) for dim in extra]
        flat = array.reshape(chains, draws, -1)
        panels = []
        for index in range(flat.shape[2]):
            element = np.unravel_index(index, array.shape[2:]) if extra else ()
            label = ", ".join(c[i] for c, i in zip(coordinates, element, strict=True))
            ranks = _ranks(flat[:, :, index])
            counts = np.stack([np.histogram(ranks[c], bins=edges)[0] for c in range(chains)])
            panels.append(RankHistogram(label or parameter_label(variable), counts, edges, draws))
        if not extra:
            single.extend(panels)
            continue
        title = parameter_label(variable)
        outcome, _, part = variable.partition(".")
        if variable in outcomes:
            title = f"{outcome_label(variable, outcomes)} ({variable})"
        elif outcome in outcomes and part == "rate":
            # An event's rate, by condition row and by period where it has them.
            title = f"{outcome_label(outcome, outcomes)}: rate ({variable})"
        plots.append(RankPlot(variable, title, panels))
    if single:
        names = ", ".join(panel.label for panel in single)
        plots.insert(0, RankPlot(names, "Single-valued parameters", single))
    return plots


def _coordinate_labels(variable: str, values, dim: str, outcomes: Mapping) -> list[str]:
    """A dimension's coordinates as panel labels: row keys as written, categories by label."""
    coordinates = [str(c) for c in values[dim].values]
    if variable in outcomes and dim == f"{variable}.category":
        return [category_label(variable, c, outcomes) for c in coordinates]
    return coordinates


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of all draws pooled, in the array's shape.

    Draws of a continuous parameter do not tie, so ordinal ranks are enough; NumPy spares the
    report SciPy's second-long import.
    """
    order = np.argsort(values, axis=None, kind="stable")
    ranks = np.empty(values.size)
    ranks[order] = np.arange(1, values.size + 1)
    return ranks.reshape(values.shape)


def compute_dependency_layout(outcomes: Mapping) -> dict[str, tuple[int, int]]:
    """Column (depth: longest path from an outcome without parents) and row of each outcome."""
    depth: dict[str, int] = {}

    def depth_of(name: str, visiting: frozenset[str]) -> int:
        if name not in depth:
            parents = [p for p in outcomes[name]["given"] if p in outcomes]
            # A cycle is a scenario error caught upstream; here it must only not recurse forever.
            parents = [p for p in parents if p not in visiting]
            depth[name] = 1 + max((depth_of(p, visiting | {name}) for p in parents), default=-1)
        return depth[name]

    for name in outcomes:
        depth_of(name, frozenset())
    order = list(outcomes)
    layout: dict[str, tuple[int, int]] = {}
    for column in range(max(depth.values(), default=-1) + 1):
        members = [name for name in order if depth[name] == column]

        # Barycentre ordering: place each outcome near the average row of its parents, which
        # removes most edge crossings in graphs of this size.
        def barycentre(name: str) -> float:
            rows = [layout[p][1] for p in outcomes[name]["given"] if p in layout]
            return sum(rows) / len(rows) if rows else order.index(name)

        members.sort(key=lambda name: (barycentre(name), order.index(name)))
        for row, name in enumerate(members):
            layout[name] = (column, row)
    return layout
