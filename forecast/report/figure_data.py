"""What each figure shows, computed from summary.json and posterior draws: NumPy only, no drawing.

Each ``compute_*`` function returns plain data (the dataclasses below) that a ``plot_*``
function of :mod:`forecast.report.charts` draws. A row of an interval chart names its series by
role ("prior", "posterior", "without", "with"); how a role looks is the charts' business.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from forecast.report.wording import (
    category_label,
    describe_input_values,
    describe_inputs,
    describe_when,
    evidence_targets,
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
    """A reference class as drawn: its cases, the class mean and the forecast's target."""

    cases: tuple[ShrinkageCase, ...]
    class_mean: Interval
    target: Interval


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
    labels = describe_inputs(tornado, summary["outcomes"], summary["evidence"])
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
) -> Tornado:
    """One scenario's tornado from the `tornado` entries of summary.json and their labels:
    the `max_bars` inputs that move its posterior mean furthest, largest |high − low| first
    (ties in the file's order)."""
    bars = []
    for entry, label in zip(tornado, labels, strict=True):
        effect = entry["effects"].get(name)
        if effect is None:
            continue
        khat = entry["khat"]
        bars.append(
            TornadoBar(
                label,
                describe_input_values(entry),
                float(effect["low"]),
                float(effect["high"]),
                # A k-hat past the engine's limit means its means were not reweighted but
                # sampled again; one missing or not a number was never trusted either.
                sampled_again=bool(entry["refit"]) or khat is None or not khat <= khat_limit,
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


def compute_shrinkage(reference_class: Mapping) -> Shrinkage:
    """Each case's raw rate and pooled estimate, the class mean and the forecast's target."""
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
        if variable in outcomes:
            title = f"{outcome_label(variable, outcomes)} ({variable})"
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
