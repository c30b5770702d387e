"""Figures of a run: numbers from summary.json and draws from posterior.nc in, inline SVG out.

Each ``plot_*`` function takes numbers already computed (``compute_*`` or the summary) and returns
a ``matplotlib.figure.Figure``; :func:`to_svg` serialises one for inlining into HTML. Figures are
built from ``Figure`` objects, never through pyplot, so nothing is registered in pyplot's global
figure manager and nothing leaks between reports.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from xml.etree import ElementTree

import matplotlib
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Affine2D

from forecast.report.wording import describe_condition, evidence_targets, outcome_comparisons

# Okabe & Ito (2008): told apart under the common colour-vision deficiencies and in greyscale.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
PRIOR_COLOUR = OKABE_ITO["orange"]
POSTERIOR_COLOUR = OKABE_ITO["blue"]
WITHOUT_COLOUR = "#8a8a8a"
RAW_RATE_COLOUR = OKABE_ITO["vermillion"]
CLASS_MEAN_COLOUR = OKABE_ITO["bluish_green"]
CHAIN_COLOURS = [
    OKABE_ITO[name]
    for name in ("blue", "orange", "bluish_green", "reddish_purple", "sky_blue", "vermillion")
]
INK = "#222222"
MUTED = "#666666"
RULE = "#d9d9d9"
BAND = "#f3f4f6"
BAND_DARK = "#e6e6e6"

STYLE = {
    # Text stays <text>: a few KB per figure instead of glyph outlines, selectable in the browser,
    # and extractable from the PDF (WeasyPrint draws SVG text with the same fonts as the page).
    "svg.fonttype": "none",
    # Ids in the SVG come from hashes salted with this, so a report is byte-for-byte reproducible.
    "svg.hashsalt": "forecast-report",
    # Labels are user text: "$5bn" must stay "$5bn", never become mathtext or a TeX run.
    "text.usetex": False,
    "text.parse_math": False,
    # DejaVu Sans is matplotlib's own font, so layout is measured with it; Verdana has near
    # the same widths where DejaVu is not installed (Windows, macOS, iOS), Arial is narrower.
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Verdana", "Arial", "Helvetica"],
    "font.size": 8.5,
    "axes.titlesize": 8,
    "axes.titleweight": "bold",
    "axes.labelsize": 8.5,
    "axes.labelcolor": INK,
    "axes.edgecolor": MUTED,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 8.5,
    "xtick.color": MUTED,
    "ytick.color": INK,
    "xtick.major.width": 0.6,
    "ytick.major.size": 0,
    "legend.fontsize": 8,
    "figure.facecolor": "none",
    "axes.facecolor": "none",
    "savefig.facecolor": "none",
}

# Narrower than the printed column (6.9 inches) on purpose: a phone shrinks a figure to fit its
# width, and the narrower the figure is drawn, the larger its text stays there.
FIGURE_WIDTH = 5.6  # inches
LABEL_WIDTH = 1.95  # inches kept left of an interval chart for its row labels
FONT_SIZE = 8.5  # points
CHARS_PER_INCH = 14.6  # at 8.5 pt DejaVu Sans, for wrapping labels before drawing them
LINE_HEIGHT = 0.145  # inches per line of 8.5 pt text
ROW_HEIGHT = 0.17  # inches per interval row
GROUP_GAP = 0.12  # inches between groups of rows


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """Apply the report's matplotlib style for the figures created and saved inside."""
    with matplotlib.rc_context(STYLE):
        yield


def wrap_label(
    text: str, width_inches: float, *, max_lines: int = 3, font_size: float = FONT_SIZE
) -> str:
    """Wrap a label to fit a width in inches, ending in an ellipsis past max_lines.

    Lines break at spaces and, for identifiers such as ``full_shutdown_class_mean``, after
    underscores; a piece longer than a whole line is cut.
    """
    width = max(8, int(width_inches * CHARS_PER_INCH * FONT_SIZE / font_size))
    pieces = re.findall(r"[^\s_]*_+|\S+|\s+", " ".join(str(text).split()))
    lines, line = [], ""
    for piece in pieces:
        if piece.isspace():
            line += " " if line else ""
            continue
        while len(piece) > width:  # nowhere to break: cut
            if line.strip():
                lines.append(line.rstrip())
            lines.append(piece[:width])
            piece, line = piece[width:], ""
        if len(line) + len(piece) > width and line.strip():
            lines.append(line.rstrip())
            line = ""
        line += piece
    if line.strip() or not lines:
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return "\n".join(lines)


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
class Series:
    """How one kind of interval (prior, posterior, ...) looks in a chart and its legend."""

    name: str
    colour: str
    marker: str = "o"


PRIOR = Series("prior", PRIOR_COLOUR, "o")
POSTERIOR = Series("posterior", POSTERIOR_COLOUR, "o")
WITHOUT_ITEM = Series("without the item", WITHOUT_COLOUR, "o")
WITH_ITEM = Series("with the item", POSTERIOR_COLOUR, "o")


@dataclass(frozen=True)
class IntervalGroup:
    """A labelled group of rows, one interval per series, drawn one under another."""

    label: str
    rows: tuple[tuple[Series, Interval], ...]
    emphasis: bool = False


@dataclass(frozen=True)
class ShrinkageCase:
    """One case of a reference class: its own rate and its partially pooled estimate."""

    label: str
    raw_rate: float
    pooled: Interval


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


# ----------------------------------------------------------------------------- compute


def compute_outcome_groups(outcome: Mapping, outcomes: Mapping) -> list[IntervalGroup]:
    """Prior and posterior rows of one outcome: overall, then condition rows or categories."""
    return [
        _pair(label, stats, emphasis=emphasis)
        for label, stats, emphasis in outcome_comparisons(outcome, outcomes)
    ]


def _outcome_label(name: str, outcomes: Mapping, *, default: str | None = None) -> str:
    if name in outcomes:
        return str(outcomes[name].get("label") or name)
    return name if default is None else default


def _pair(label: str, stats: Mapping, *, emphasis: bool = False) -> IntervalGroup:
    return IntervalGroup(
        label,
        (
            (PRIOR, Interval.from_stats(stats["prior"])),
            (POSTERIOR, Interval.from_stats(stats["posterior"])),
        ),
        emphasis,
    )


def compute_evidence_groups(evidence: Sequence[Mapping], outcomes: Mapping) -> list[IntervalGroup]:
    """For each evidence item, its outcome's probability without and with the item."""
    groups = []
    for number, item in enumerate(evidence, start=1):
        label = f"{number}. {_outcome_label(item['outcome'], outcomes)}"
        if item.get("when"):
            label += f" — {describe_condition(item['when'], outcomes)}"
        for category, with_item, without in evidence_targets(item):
            groups.append(
                IntervalGroup(
                    f"{label}: {category}" if category else label,
                    (
                        (WITHOUT_ITEM, Interval.from_stats(without)),
                        (WITH_ITEM, Interval.from_stats(with_item)),
                    ),
                )
            )
    return groups


def compute_rank_plots(posterior, outcomes: Mapping, *, max_bins: int = 20) -> list[RankPlot]:
    """Rank histograms per chain for every element of every variable of a posterior Dataset.

    Ranks are taken over all chains pooled; if the chains mix, each chain's ranks are uniform,
    so every chain's histogram should lie flat within the binomial band. Variables with rows or
    categories get a plot each; single-valued variables share one, so the appendix stays short.
    """
    plots, single = [], []
    for variable, values in posterior.data_vars.items():
        extra = [dim for dim in values.dims if dim not in ("chain", "draw")]
        array = values.transpose("chain", "draw", *extra).values
        chains, draws = array.shape[:2]
        if chains * draws == 0 or not np.issubdtype(array.dtype, np.number):
            continue
        bins = int(max(4, min(max_bins, draws // 10)))
        edges = np.linspace(0.5, chains * draws + 0.5, bins + 1)
        coordinates = [values[dim].values for dim in extra]
        flat = array.reshape(chains, draws, -1)
        panels = []
        for index in range(flat.shape[2]):
            element = np.unravel_index(index, array.shape[2:]) if extra else ()
            label = ", ".join(str(c[i]) for c, i in zip(coordinates, element, strict=True))
            ranks = _ranks(flat[:, :, index])
            counts = np.stack([np.histogram(ranks[c], bins=edges)[0] for c in range(chains)])
            panels.append(RankHistogram(label or str(variable), counts, edges, draws))
        if not extra:
            single.extend(panels)
            continue
        title = _outcome_label(str(variable), outcomes, default="")
        title = f"{title} ({variable})" if title else str(variable)
        plots.append(RankPlot(str(variable), title, panels))
    if single:
        names = ", ".join(panel.label for panel in single)
        plots.insert(0, RankPlot(names, "Single-valued parameters", single))
    return plots


def compute_dependency_layout(outcomes: Mapping) -> dict[str, tuple[int, int]]:
    """Column (depth: longest path from an outcome without parents) and row of each outcome."""
    depth: dict[str, int] = {}

    def depth_of(name: str, visiting: frozenset[str]) -> int:
        if name not in depth:
            parents = [p for p in outcomes[name].get("given", []) if p in outcomes]
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
            rows = [layout[p][1] for p in outcomes[name].get("given", []) if p in layout]
            return sum(rows) / len(rows) if rows else order.index(name)

        members.sort(key=lambda name: (barycentre(name), order.index(name)))
        for row, name in enumerate(members):
            layout[name] = (column, row)
    return layout


# ----------------------------------------------------------------------------- draw


class Canvas:
    """A figure drawn in inches from its top-left corner, straight onto the Figure.

    There is no Axes: an Axes builds tick, spine and grid objects when it is created, which
    costs more than everything these charts draw; here a chart is a handful of lines,
    collections and text, and the SVG has only those in it.
    """

    def __init__(self, width: float, height: float) -> None:
        self.width, self.height = width, height
        self.figure = Figure(figsize=(width, height))
        self.figure.patch.set_visible(False)  # transparent: the page is the background
        flip = Affine2D().scale(1, -1).translate(0, height)
        self.transform = flip + self.figure.dpi_scale_trans

    def add(self, artist):
        """Place an artist whose coordinates are inches from the top-left corner."""
        artist.set_transform(self.transform)
        self.figure.add_artist(artist)
        return artist

    def line(self, x, y, **style) -> Line2D:
        """A polyline, or markers only with linestyle="none"."""
        return self.add(Line2D(x, y, **style))

    def segments(self, segments, **style) -> Line2D:
        """Many polylines of one style as one artist, and so as one SVG path.

        A LineCollection writes an element per segment; NaN between polylines makes matplotlib
        start a new subpath instead, which keeps figures small and quick to lay out.
        """
        gap = np.array([[np.nan, np.nan]])
        points = np.concatenate([part for line in segments for part in (np.asarray(line), gap)])
        style.setdefault("solid_capstyle", "butt")
        return self.add(Line2D(points[:, 0], points[:, 1], **style))

    def text(self, x: float, y: float, text: str, **style) -> Text:
        """Text; user text is drawn as given, never as mathtext (see STYLE)."""
        return self.add(Text(x, y, text, **style))

    def rectangle(self, x: float, y: float, width: float, height: float, **style) -> Rectangle:
        """A rectangle from its top-left corner."""
        return self.add(Rectangle((x, y), width, height, **style))


@dataclass(frozen=True)
class ProbabilityScale:
    """Where probabilities 0 to 1 fall across a chart, in inches."""

    left: float
    right: float

    def __call__(self, p) -> np.ndarray:
        return self.left + np.asarray(p, dtype=float) * (self.right - self.left)


@dataclass
class IntervalMarks:
    """Intervals collected by colour, then drawn as a few collections rather than many lines."""

    thin: dict = field(default_factory=dict)
    thick: dict = field(default_factory=dict)
    dots: dict = field(default_factory=dict)

    def add(self, scale: ProbabilityScale, y: float, interval: Interval, series: Series) -> None:
        """Queue one interval: thin line the 90% HDI, thick bar 25–75%, dot the mean."""
        low, high = scale(interval.hdi90)
        self.thin.setdefault(series.colour, []).append([(low, y), (high, y)])
        low, high = scale(interval.middle50)
        self.thick.setdefault(series.colour, []).append([(low, y), (high, y)])
        self.dots.setdefault((series.colour, series.marker), []).append((scale(interval.mean), y))

    def draw(self, canvas: Canvas, *, zorder: float = 3) -> None:
        """Draw everything queued."""
        for colour, segments in self.thin.items():
            canvas.segments(
                segments, color=colour, linewidth=1.1, solid_capstyle="butt", zorder=zorder
            )
        for colour, segments in self.thick.items():
            canvas.segments(
                segments, color=colour, linewidth=3.6, solid_capstyle="butt", zorder=zorder
            )
        for (colour, marker), points in self.dots.items():
            x, y = zip(*points, strict=True)
            canvas.line(
                x,
                y,
                linestyle="none",
                marker=marker,
                markersize=5 if marker == "o" else 4.5,
                markerfacecolor=colour,
                markeredgecolor="white",
                markeredgewidth=0.8,
                zorder=zorder + 0.5,
            )


def hollow_markers(canvas: Canvas, points, colour: str, marker: str, *, zorder: float = 4):
    """Open markers (a prior mean, a raw rate) that read as 'compare with the dot'."""
    if not points:
        return
    x, y = zip(*points, strict=True)
    canvas.line(
        x,
        y,
        linestyle="none",
        marker=marker,
        markersize=5 if marker == "o" else 4.5,
        markerfacecolor="white",
        markeredgecolor=colour,
        markeredgewidth=1.3,
        zorder=zorder,
    )


@dataclass(frozen=True)
class ChartFrame:
    """The geometry shared by every dot-and-interval chart: label column, rows, axis."""

    canvas: Canvas
    scale: ProbabilityScale
    centres: list[float]
    heights: list[float]
    top: float
    bottom: float


LEGEND_TOP = 0.13  # inches from the top to the legend's middle
BODY_TOP = 0.34  # inches from the top to the first row
AXIS_SPACE = 0.42  # inches under the last row for the axis and its label


def interval_frame(
    labels: Sequence[str],
    *,
    legend: Sequence[Series],
    axis_label: str,
    min_row_height: float = ROW_HEIGHT,
    bold: Sequence[bool] | None = None,
) -> ChartFrame:
    """A chart sized to its rows: labels on the left, zebra bands, grid, axis and legend."""
    wrapped = [wrap_label(label, LABEL_WIDTH - 0.15, max_lines=4) for label in labels]
    heights = [max(min_row_height, text.count("\n") * LINE_HEIGHT + ROW_HEIGHT) for text in wrapped]
    body = sum(heights) + GROUP_GAP * (len(heights) + 1)
    canvas = Canvas(FIGURE_WIDTH, BODY_TOP + body + AXIS_SPACE)
    scale = ProbabilityScale(LABEL_WIDTH, FIGURE_WIDTH - 0.25)
    top, bottom = BODY_TOP, BODY_TOP + body

    centres, y = [], top + GROUP_GAP
    for index, height in enumerate(heights):
        centres.append(y + height / 2)
        if index % 2 == 1:  # zebra bands let the eye follow a row from its label to its dots
            canvas.rectangle(
                0,
                y - GROUP_GAP / 2,
                scale.right,
                height + GROUP_GAP,
                facecolor=BAND,
                linewidth=0,
                zorder=0,
            )
        y += height + GROUP_GAP
    for text, centre, strong in zip(wrapped, centres, bold or [False] * len(wrapped), strict=True):
        canvas.text(
            scale.left - 0.1,
            centre,
            text,
            ha="right",
            va="center",
            linespacing=1.15,
            fontweight="bold" if strong else "normal",
            color=INK,
        )

    ticks = np.linspace(0, 1, 11)
    canvas.segments(
        [[(x, top), (x, bottom)] for x in scale(ticks)], color=RULE, linewidth=0.5, zorder=1
    )
    canvas.line(scale([0, 1]), [bottom, bottom], color=MUTED, linewidth=0.6, zorder=1)
    for p in ticks[::2]:
        canvas.text(
            scale(p), bottom + 0.05, f"{p:.0%}", ha="center", va="top", fontsize=8, color=MUTED
        )
    canvas.text(
        (scale.left + scale.right) / 2,
        bottom + 0.22,
        axis_label,
        ha="center",
        va="top",
        color=MUTED,
    )
    draw_legend(canvas, LEGEND_TOP, legend)
    return ChartFrame(canvas, scale, centres, heights, top, bottom)


def draw_legend(canvas: Canvas, y: float, legend: Sequence[Series]) -> None:
    """A one-line key of how each series is drawn, right-aligned above the plot."""
    # Widths are estimated (about 0.066 inch a character at 8 pt): matplotlib measures text
    # only when it draws.
    widths = [0.36 + len(series.name) * 0.066 for series in legend]
    x = max(0.05, canvas.width - 0.25 - sum(widths) - 0.2 * (len(widths) - 1))
    for series, width in zip(legend, widths, strict=True):
        if series.marker in ("o_hollow", "D_hollow"):
            hollow_markers(canvas, [(x + 0.14, y)], series.colour, series.marker[0])
        elif series.marker == "|":
            canvas.line([x + 0.14] * 2, [y - 0.07, y + 0.07], color=series.colour, linewidth=1.2)
        else:
            sample = Interval(0.5, (0.0, 1.0), (0.3, 0.7))
            marks = IntervalMarks()
            marks.add(ProbabilityScale(x, x + 0.28), y, sample, series)
            marks.draw(canvas)
        canvas.text(x + 0.36, y, series.name, va="center", fontsize=8, color=INK)
        x += width + 0.2


def plot_interval_groups(groups: Sequence[IntervalGroup], *, axis_label: str = "Probability"):
    """Dot-and-interval rows on one probability axis, groups labelled on the left."""
    series = list(dict.fromkeys(kind for group in groups for kind, _ in group.rows))
    most_rows = max((len(group.rows) for group in groups), default=1)
    frame = interval_frame(
        [group.label for group in groups],
        legend=series,
        axis_label=axis_label,
        min_row_height=most_rows * ROW_HEIGHT,
        bold=[group.emphasis for group in groups],
    )
    marks = IntervalMarks()
    for group, centre in zip(groups, frame.centres, strict=True):
        offsets = (np.arange(len(group.rows)) - (len(group.rows) - 1) / 2) * ROW_HEIGHT
        for (kind, interval), offset in zip(group.rows, offsets, strict=True):
            marks.add(frame.scale, centre + offset, interval, kind)
    marks.draw(frame.canvas)
    return frame.canvas.figure


def plot_scenarios(names: Sequence[str], posterior: Sequence[Interval], prior_means) -> Figure:
    """Headline chart: each scenario's posterior interval with its prior mean beside it."""
    prior_mean = Series("prior mean", PRIOR_COLOUR, "D_hollow")
    frame = interval_frame(
        names,
        legend=[POSTERIOR, prior_mean],
        axis_label="Probability",
        min_row_height=ROW_HEIGHT * 1.6,
    )
    marks = IntervalMarks()
    for centre, interval in zip(frame.centres, posterior, strict=True):
        marks.add(frame.scale, centre, interval, POSTERIOR)
    marks.draw(frame.canvas)
    # Hollow, and drawn over the interval, so the prior mean shows even where they coincide.
    hollow_markers(
        frame.canvas,
        [(frame.scale(p), centre) for p, centre in zip(prior_means, frame.centres, strict=True)],
        PRIOR_COLOUR,
        "D",
        zorder=5,
    )
    return frame.canvas.figure


def plot_shrinkage(
    cases: Sequence[ShrinkageCase], class_mean: Interval, target: tuple[str, Interval] | None
) -> Figure:
    """Each case's raw rate beside its pooled estimate, against the class mean."""
    labels = [case.label for case in cases] + ([target[0]] if target else [])
    frame = interval_frame(
        labels,
        legend=[
            Series("raw rate", RAW_RATE_COLOUR, "o_hollow"),
            Series("pooled estimate", POSTERIOR_COLOUR, "o"),
            Series("class mean, 90% band", CLASS_MEAN_COLOUR, "|"),
        ],
        axis_label="Rate",
        min_row_height=ROW_HEIGHT * 1.4,
        bold=[False] * len(cases) + ([True] if target else []),
    )
    canvas, scale = frame.canvas, frame.scale
    low, high = scale(class_mean.hdi90)
    canvas.rectangle(
        low,
        frame.top,
        high - low,
        frame.bottom - frame.top,
        facecolor=CLASS_MEAN_COLOUR,
        alpha=0.13,
        linewidth=0,
        zorder=1,
    )
    canvas.line(
        [scale(class_mean.mean)] * 2,
        [frame.top, frame.bottom],
        color=CLASS_MEAN_COLOUR,
        linewidth=1.2,
        zorder=1.5,
    )
    # The dashed connector shows how far pooling pulled each case towards the class.
    canvas.segments(
        [
            [(scale(case.raw_rate), y), (scale(case.pooled.mean), y)]
            for case, y in zip(cases, frame.centres, strict=False)
        ],
        color=RAW_RATE_COLOUR,
        linewidth=0.8,
        linestyle=(0, (2, 1.5)),
        zorder=2,
    )
    marks = IntervalMarks()
    for case, y in zip(cases, frame.centres, strict=False):
        marks.add(scale, y, case.pooled, POSTERIOR)
    if target is not None:
        y = frame.centres[-1]
        rule = y - frame.heights[-1] / 2 - GROUP_GAP / 2
        canvas.line([0, scale.right], [rule, rule], color=MUTED, linewidth=0.6, zorder=2)
        marks.add(scale, y, target[1], Series("target", POSTERIOR_COLOUR, "D"))
    marks.draw(canvas)
    hollow_markers(
        canvas,
        [(scale(case.raw_rate), y) for case, y in zip(cases, frame.centres, strict=False)],
        RAW_RATE_COLOUR,
        "o",
    )
    return canvas.figure


def plot_dependencies(outcomes: Mapping, layout: Mapping[str, tuple[int, int]]) -> Figure:
    """Outcomes as boxes in columns by depth, an arrow from each parent to its child."""
    columns = max((column for column, _ in layout.values()), default=0) + 1
    rows = max((row for _, row in layout.values()), default=0) + 1
    column_width = FIGURE_WIDTH / columns
    box_width = min(2.4, column_width - 0.45)
    texts = {
        name: wrap_label(outcomes[name].get("label") or name, box_width - 0.2, max_lines=4)
        for name in layout
    }
    line_count = max((text.count("\n") + 1 for text in texts.values()), default=1)
    box_height = line_count * LINE_HEIGHT + 0.16
    row_height = box_height + 0.28
    edges = [(p, c) for c in layout for p in outcomes[c].get("given", []) if p in layout]
    # Room above and below for arrows that bow round a column they skip.
    margin = 0.3 if any(layout[c][0] - layout[p][0] > 1 for p, c in edges) else 0.0
    canvas = Canvas(FIGURE_WIDTH, rows * row_height + 0.1 + 2 * margin)

    per_column = {c: sum(1 for col, _ in layout.values() if col == c) for c in range(columns)}
    centres = {}
    for name, (column, row) in layout.items():
        # Each column is centred vertically, so a single child sits level with its parents.
        top = (canvas.height - per_column[column] * row_height) / 2
        centres[name] = (column_width * (column + 0.5), top + (row + 0.5) * row_height)
    for name, (x, y) in centres.items():
        conditional = bool(outcomes[name].get("given"))
        canvas.add(
            FancyBboxPatch(
                (x - box_width / 2, y - box_height / 2),
                box_width,
                box_height,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor="#eaf2f9" if conditional else "#f3f3f3",
                edgecolor=POSTERIOR_COLOUR if conditional else MUTED,
                linewidth=0.8,
                zorder=2,
            )
        )
        canvas.text(x, y, texts[name], ha="center", va="center", linespacing=1.2, zorder=3)
    for child, (cx, cy) in centres.items():
        for parent in outcomes[child].get("given", []):
            if parent not in centres:
                continue
            px, py = centres[parent]
            start, end = (px + box_width / 2, py), (cx - box_width / 2, cy)
            others = [centre for name, centre in centres.items() if name not in (child, parent)]
            bend = arrow_bend(start, end, others, (box_width, box_height), canvas.height)
            canvas.add(
                FancyArrowPatch(
                    start,
                    end,
                    arrowstyle="-|>",
                    mutation_scale=9,
                    color=MUTED,
                    linewidth=0.9,
                    shrinkA=1,
                    shrinkB=1,
                    connectionstyle=f"arc3,rad={bend}",
                    zorder=1,
                )
            )
    return canvas.figure


def arrow_bend(
    start, end, boxes, box_size: tuple[float, float], height: float = float("inf")
) -> float:
    """How far (matplotlib's arc3 rad) to bow an arrow so it passes clear of the other boxes.

    Coordinates are inches down a figure of the given height, boxes given by their centres. The
    least bend that clears every box and stays inside the figure wins, trying above before
    below; a positive rad bows a rightward arrow downwards.
    """
    (x0, y0), (x1, y1) = start, end
    half_width, half_height = box_size[0] / 2 + 0.06, box_size[1] / 2 + 0.06
    t = np.linspace(0.04, 0.96, 25)[:, None]
    near = [(x, y) for x, y in boxes if x0 - half_width < x < x1 + half_width]

    def collisions(rad: float) -> int:
        control = ((x0 + x1) / 2 - rad * (y1 - y0), (y0 + y1) / 2 + rad * (x1 - x0))
        curve = (1 - t) ** 2 * np.array(start) + 2 * (1 - t) * t * control + t**2 * np.array(end)
        outside = int(curve[:, 1].min() < 0.03 or curve[:, 1].max() > height - 0.03)
        return outside + sum(
            bool(np.any((abs(curve[:, 0] - x) < half_width) & (abs(curve[:, 1] - y) < half_height)))
            for x, y in near
        )

    bends = (0.0, -0.15, 0.15, -0.3, 0.3, -0.45, 0.45, -0.6, 0.6, -0.8, 0.8)
    return min(bends, key=lambda rad: (collisions(rad), abs(rad)))


def plot_rank_histograms(plot: RankPlot, *, columns: int = 4) -> Figure:
    """One small panel per element: per-chain rank histograms against the uniform band."""
    count = len(plot.panels)
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    panel_width, panel_height, title_height, gap = FIGURE_WIDTH / 4 - 0.15, 0.55, 0.3, 0.15
    canvas = Canvas(columns * (panel_width + gap), rows * (panel_height + title_height) + 0.05)
    bands, expectations, axes = [], [], []
    stairs: dict[str, list] = {}
    for index, panel in enumerate(plot.panels):
        left = (index % columns) * (panel_width + gap) + gap / 2
        bottom = (index // columns) * (panel_height + title_height) + title_height + panel_height
        chains, bins = panel.counts.shape
        expected = panel.draws_per_chain / bins
        # Binomial spread of a uniform bin's count: about 95% of a well-mixed chain's bins
        # fall inside the band.
        spread = 2 * np.sqrt(panel.draws_per_chain * (1 / bins) * (1 - 1 / bins))
        scale = panel_height / (max(panel.counts.max(), expected + spread) * 1.08)
        bands.append(
            Rectangle((left, bottom - (expected + spread) * scale), panel_width, 2 * spread * scale)
        )
        expectations.append(
            [(left, bottom - expected * scale), (left + panel_width, bottom - expected * scale)]
        )
        axes.append([(left, bottom), (left + panel_width, bottom)])
        x = left + (panel.edges - panel.edges[0]) / (panel.edges[-1] - panel.edges[0]) * panel_width
        for chain in range(chains):
            y = bottom - panel.counts[chain] * scale
            colour = CHAIN_COLOURS[chain % len(CHAIN_COLOURS)]
            stairs.setdefault(colour, []).append(
                np.column_stack([np.repeat(x, 2)[1:-1], np.repeat(y, 2)])
            )
        canvas.text(
            left,
            bottom - panel_height - 0.05,
            wrap_label(panel.label, panel_width, max_lines=2, font_size=7.5),
            ha="left",
            va="bottom",
            fontweight="bold",
            fontsize=7.5,
            linespacing=1.1,
            color=INK,
        )
    canvas.add(PatchCollection(bands, facecolor=BAND_DARK, linewidth=0, zorder=0))
    canvas.segments(expectations, color=MUTED, linewidth=0.6, linestyle=(0, (3, 2)), zorder=1)
    canvas.segments(axes, color=MUTED, linewidth=0.6, zorder=1)
    for colour, lines in stairs.items():
        canvas.segments(lines, color=colour, linewidth=0.9, zorder=2)
    return canvas.figure


# ----------------------------------------------------------------------------- write

SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
SVG_FONT_FAMILY = ", ".join(f"'{name}'" for name in STYLE["font.sans-serif"]) + ", sans-serif"
_LONG_DECIMAL = re.compile(r"(\.\d\d)\d+")
_SPACES = re.compile(r"\s+")


def _compact_numbers(value: str) -> str:
    return _SPACES.sub(" ", _LONG_DECIMAL.sub(r"\1", value)).strip()


XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_REFERENCE = re.compile(r"(?:href=\"#|url\(#)([^\")]+)")


def to_svg(fig: Figure, *, prefix: str) -> str:
    """Serialise a figure as a lean ``<svg>`` element for inlining in HTML.

    Matplotlib's SVG is written for standalone files. Inline, the XML prolog, DOCTYPE and RDF
    metadata are noise, and its ``<style>`` would apply to the whole page; its groups that carry
    only an id double the element count, which is what WeasyPrint's time grows with. They are
    removed, namespaces dropped (the HTML parser puts ``<svg>`` in the SVG namespace itself), and
    the ids still referenced get a per-figure prefix so figures on one page cannot collide.
    ElementTree re-escapes all text, so user text stays text.
    """
    buffer = io.StringIO()
    with warnings.catch_warnings():
        # With fonttype "none" the glyphs are the browser's and the PDF's to draw; matplotlib's
        # complaint that its own font lacks one (an emoji in a label) does not apply.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    referenced = set(_REFERENCE.findall(svg))
    root = ElementTree.fromstring(svg)
    _simplify(root, referenced, prefix)
    for name in ("version", "{http://www.w3.org/XML/1998/namespace}space"):
        root.attrib.pop(name, None)
    root.set("class", "chart")
    root.set("role", "img")
    # Replaces matplotlib's "* {stroke-linejoin: round}" rule, scoped to this figure.
    root.set("stroke-linejoin", "round")
    root.set("font-family", SVG_FONT_FAMILY)
    return ElementTree.tostring(root, encoding="unicode", short_empty_elements=True)


def _simplify(element: ElementTree.Element, referenced: set[str], prefix: str) -> None:
    children = []
    if element.text is not None and not element.text.strip():
        element.text = None
    for child in element:
        child.tag = child.tag.removeprefix(SVG_NAMESPACE)
        child.tail = None  # matplotlib's indentation: bytes, and text nodes for the parser
        if child.get("transform", "").startswith("rotate(-0 "):
            del child.attrib["transform"]
        if child.tag in ("metadata", "style"):
            continue
        _simplify(child, referenced, prefix)
        if XLINK_HREF in child.attrib:
            child.set("href", child.attrib.pop(XLINK_HREF))
        identifier = child.attrib.pop("id", None)
        if identifier in referenced:
            child.set("id", f"{prefix}-{identifier}")
        # Presentation attributes instead of style="...": a style attribute is CSS, which an
        # HTML engine (WeasyPrint's included) parses into the page's cascade, element by element.
        for declaration in child.attrib.pop("style", "").split(";"):
            name, _, value = declaration.partition(":")
            if value.strip():
                child.set(name.strip(), value.strip())
        # Every text has the same family: say it once, on the <svg>.
        if child.get("font-family") == SVG_FONT_FAMILY:
            del child.attrib["font-family"]
        # Hundredths of a point are finer than any printer; shorter numbers parse faster.
        for name in ("d", "x", "y", "transform", "points"):
            if name in child.attrib:
                child.set(name, _compact_numbers(child.get(name)))
        for name, value in list(child.attrib.items()):
            if name == "href" and value.startswith("#"):
                child.set(name, f"#{prefix}-{value[1:]}")
            elif "url(#" in value:
                child.set(name, value.replace("url(#", f"url(#{prefix}-"))
        if child.tag == "g" and not child.attrib:
            children.extend(child)
        elif child.tag == "defs" and len(child) == 0:
            continue
        else:
            children.append(child)
    element[:] = children
    element.tag = element.tag.removeprefix(SVG_NAMESPACE)


@dataclass(frozen=True)
class ReportFigures:
    """Every figure of one report as inline SVG, drawn once for both the HTML and the PDF."""

    scenarios: str | None
    outcomes: dict[str, str]
    evidence: str | None
    reference_classes: list[str | None]
    dependencies: str | None
    rank_plots: list[tuple[str, str]]


def draw_report_figures(summary: Mapping, posterior) -> ReportFigures:
    """Compute what each figure shows, draw it and serialise it, in that order."""
    outcomes = summary.get("outcomes", {})
    with figure_style():
        scenarios = sorted(
            summary.get("scenarios", {}).items(), key=lambda item: -item[1]["posterior"]["mean"]
        )
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
        outcome_svgs = {}
        for index, (name, outcome) in enumerate(outcomes.items()):
            groups = compute_outcome_groups(outcome, outcomes)
            if groups:
                outcome_svgs[name] = to_svg(plot_interval_groups(groups), prefix=f"outcome{index}")
        evidence = summary.get("evidence", [])
        evidence_svg = None
        if evidence:
            evidence_svg = to_svg(
                plot_interval_groups(compute_evidence_groups(evidence, outcomes)),
                prefix="evidence",
            )
        class_svgs = []
        for index, reference_class in enumerate(summary.get("reference_classes", [])):
            cases = [
                ShrinkageCase(
                    f"{case['name']} ({case['successes']}/{case['trials']})",
                    float(case["raw_rate"]),
                    Interval.from_stats(case["pooled"]),
                )
                for case in reference_class.get("cases", [])
            ]
            target = None
            if reference_class.get("target"):
                target = ("Forecast target", Interval.from_stats(reference_class["target"]))
            class_svgs.append(
                to_svg(
                    plot_shrinkage(
                        cases, Interval.from_stats(reference_class["class_mean"]), target
                    ),
                    prefix=f"class{index}",
                )
                if cases
                else None
            )
        dependency_svg = None
        if outcomes:
            dependency_svg = to_svg(
                plot_dependencies(outcomes, compute_dependency_layout(outcomes)),
                prefix="dependencies",
            )
        rank_svgs = [
            (plot.title, to_svg(plot_rank_histograms(plot), prefix=f"rank{index}"))
            for index, plot in enumerate(compute_rank_plots(posterior, outcomes))
            if plot.panels
        ]
    return ReportFigures(
        scenario_svg, outcome_svgs, evidence_svg, class_svgs, dependency_svg, rank_svgs
    )


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of all draws pooled, in the array's shape.

    Draws of a continuous parameter do not tie, so ordinal ranks are enough; NumPy spares the
    report SciPy's second-long import.
    """
    order = np.argsort(values, axis=None, kind="stable")
    ranks = np.empty(values.size)
    ranks[order] = np.arange(1, values.size + 1)
    return ranks.reshape(values.shape)
