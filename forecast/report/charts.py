"""The report's charts: each ``plot_*`` function takes numbers already computed (by
:mod:`forecast.report.figure_data` or read from the summary) and returns a matplotlib ``Figure``
drawn on a :class:`~forecast.report.canvas.Canvas`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from forecast.report.canvas import (
    BAND_DARK,
    CHAIN_COLOURS,
    CLASS_MEAN_COLOUR,
    FIGURE_WIDTH,
    FONT_SIZE,
    GROUP_GAP,
    INK,
    LINE_HEIGHT,
    MUTED,
    POSTERIOR,
    POSTERIOR_COLOUR,
    PRIOR_COLOUR,
    RAW_RATE_COLOUR,
    ROW_HEIGHT,
    SERIES,
    Canvas,
    IntervalMarks,
    Series,
    hollow_markers,
    interval_frame,
    wrap_label,
)
from forecast.report.figure_data import Interval, IntervalGroup, RankPlot, Shrinkage


def plot_interval_groups(
    groups: Sequence[IntervalGroup],
    *,
    axis_label: str = "Probability",
    series: Mapping[str, Series] = SERIES,
):
    """Dot-and-interval rows on one probability axis, groups labelled on the left; each row's
    role names its look in `series`."""
    legend = [series[role] for role in dict.fromkeys(r for g in groups for r, _ in g.rows)]
    most_rows = max((len(group.rows) for group in groups), default=1)
    frame = interval_frame(
        [group.label for group in groups],
        legend=legend,
        axis_label=axis_label,
        min_row_height=most_rows * ROW_HEIGHT,
        bold=[group.emphasis for group in groups],
        sections=[group.section for group in groups],
    )
    marks = IntervalMarks()
    for group, centre in zip(groups, frame.centres, strict=True):
        offsets = (np.arange(len(group.rows)) - (len(group.rows) - 1) / 2) * ROW_HEIGHT
        for (kind, interval), offset in zip(group.rows, offsets, strict=True):
            marks.add(frame.scale, centre + offset, interval, series[kind])
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


def plot_shrinkage(shrinkage: Shrinkage) -> Figure:
    """Each case's raw rate beside its pooled estimate, against the class mean."""
    cases, class_mean, target = shrinkage.cases, shrinkage.class_mean, shrinkage.target
    labels = [case.label for case in cases] + ["Forecast target"]
    frame = interval_frame(
        labels,
        legend=[
            Series("raw rate", RAW_RATE_COLOUR, "o_hollow"),
            Series("pooled estimate", POSTERIOR_COLOUR, "o"),
            Series("class mean, 90% band", CLASS_MEAN_COLOUR, "|"),
        ],
        axis_label="Rate",
        min_row_height=ROW_HEIGHT * 1.4,
        bold=[False] * len(cases) + [True],
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
    y = frame.centres[-1]
    rule = y - frame.heights[-1] / 2 - GROUP_GAP / 2
    canvas.line([0, scale.right], [rule, rule], color=MUTED, linewidth=0.6, zorder=2)
    marks.add(scale, y, target, Series("target", POSTERIOR_COLOUR, "D"))
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
    box_width = min(2.4, column_width - 0.32)
    # Many columns make narrow boxes: smaller text and more lines keep a label whole.
    font_size = 8.0 if column_width < 1.3 else FONT_SIZE
    texts = {
        name: wrap_label(
            outcomes[name]["label"], box_width - 0.14, max_lines=6, font_size=font_size
        )
        for name in layout
    }
    line_count = max((text.count("\n") + 1 for text in texts.values()), default=1)
    box_height = line_count * LINE_HEIGHT * font_size / FONT_SIZE + 0.16
    row_height = box_height + 0.28
    edges = [(p, c) for c in layout for p in outcomes[c]["given"] if p in layout]
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
        conditional = bool(outcomes[name]["given"])
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
        canvas.text(
            x,
            y,
            texts[name],
            ha="center",
            va="center",
            linespacing=1.2,
            fontsize=font_size,
            zorder=3,
        )
    for child, (cx, cy) in centres.items():
        for parent in outcomes[child]["given"]:
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
    panel_width, panel_height, gap = FIGURE_WIDTH / 4 - 0.15, 0.55, 0.15
    # A panel's title is its row and category, which can be long: up to four lines, all panels
    # of the figure given the room of the longest.
    titles = [
        wrap_label(panel.label, panel_width, max_lines=4, font_size=7.5) for panel in plot.panels
    ]
    title_height = max([2, *(title.count("\n") + 1 for title in titles)]) * 0.125 + 0.06
    canvas = Canvas(columns * (panel_width + gap), rows * (panel_height + title_height) + 0.05)
    bands, expectations, axes = [], [], []
    stairs: dict[str, list] = {}
    for index, (panel, title) in enumerate(zip(plot.panels, titles, strict=True)):
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
            title,
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
