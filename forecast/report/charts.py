"""The report's charts: each ``plot_*`` function takes numbers already computed (by
:mod:`forecast.report.figure_data` or read from the summary) and returns a matplotlib ``Figure``
drawn on a :class:`~forecast.report.canvas.Canvas`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon, Rectangle

from forecast.report.canvas import (
    BAND,
    BAND_ALPHA,
    BAND_DARK,
    CHAIN_COLOURS,
    CLASS_MEAN_COLOUR,
    DASHES,
    FIGURE_WIDTH,
    FONT_SIZE,
    GROUP_GAP,
    INK,
    LINE_HEIGHT,
    LOWERED_COLOUR,
    MUTED,
    POSTERIOR,
    POSTERIOR_COLOUR,
    PRIOR_COLOUR,
    RAISED_COLOUR,
    RAW_RATE_COLOUR,
    ROW_HEIGHT,
    RULE,
    SERIES,
    Canvas,
    IntervalMarks,
    Series,
    draw_legend,
    hollow_markers,
    interval_frame,
    wrap_label,
)
from forecast.report.figure_data import (
    EventCurve,
    Interval,
    IntervalGroup,
    RankPlot,
    Shrinkage,
    Tornado,
)
from forecast.report.wording import describe_per, format_probability


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
    labels = [case.label for case in cases] + (["Forecast target"] if target else [])
    frame = interval_frame(
        labels,
        legend=[
            Series("raw rate", RAW_RATE_COLOUR, "o_hollow"),
            Series("pooled estimate", POSTERIOR_COLOUR, "o"),
            Series("class mean, 90% band", CLASS_MEAN_COLOUR, "|"),
        ],
        axis_label=f"Events {describe_per(shrinkage.per)}" if shrinkage.per else "Rate",
        min_row_height=ROW_HEIGHT * 1.4,
        bold=[False] * len(cases) + ([True] if target else []),
        maximum=shrinkage.maximum,
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


# A tornado's labels are long (an input's outcome, category and condition in the analyst's
# words): a wide column and smaller text keep ten of them, and the chart, on one printed page.
TORNADO_LABEL_WIDTH = 3.1  # inches for an input's name and the values it was moved between
TORNADO_FONT_SIZE = 7.5  # points
TORNADO_LINE = 0.12  # inches a line of 7.5 pt text takes at a line spacing of 1.15, as drawn
TORNADO_END_ROOM = 0.38  # inches beyond the longest bar for the probability at its end
TORNADO_BAR_HEIGHT = 0.16  # inches
TORNADO_GAP = 0.07  # inches between rows, less than other charts': each row has its band
TICK_STEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25)


def plot_tornado(tornado: Tornado) -> Figure:
    """A scenario's tornado: one bar per input from the scenario's probability with the input
    moved down (light) to it with the input moved up (dark), centred on its posterior mean (the
    vertical line), the input's name and values on the left, the probabilities at the ends."""
    width = TORNADO_LABEL_WIDTH - 0.15
    labels = [
        (
            # Four lines at most: a name cut short there could still be told from the others.
            wrap_label(bar.label, width, max_lines=4, font_size=TORNADO_FONT_SIZE),
            wrap_label(
                bar.values + (" \u2020" if bar.sampled_again else ""),
                width,
                max_lines=2,
                font_size=TORNADO_FONT_SIZE,
            ),
        )
        for bar in tornado.bars
    ]
    line = TORNADO_LINE
    blocks = [(name.count("\n") + value.count("\n") + 2) * line for name, value in labels]
    heights = [max(2.2 * TORNADO_BAR_HEIGHT, block) for block in blocks]
    top = 0.46  # under the legend and the label of the centre line
    bottom = top + sum(heights) + TORNADO_GAP * (len(heights) + 1)
    canvas = Canvas(FIGURE_WIDTH, bottom + 0.42)
    left, right = TORNADO_LABEL_WIDTH + 0.05, FIGURE_WIDTH - 0.15
    centre = (left + right) / 2
    # Symmetric about the posterior mean, the longest bar reaching to within the room its end
    # label needs; an input that moves nothing still gets an axis a fifth of a point wide.
    reach = max(
        [0.002, *(abs(p - tornado.mean) for bar in tornado.bars for p in (bar.low, bar.high))]
    )
    per_unit = ((right - left) / 2 - TORNADO_END_ROOM) / reach

    def x_of(p: float) -> float:
        return centre + (p - tornado.mean) * per_unit

    seen = (right - left) / 2 / per_unit  # half the range of probability the axis shows
    step = next((s for s in TICK_STEPS if 2 * seen / s <= 7), TICK_STEPS[-1])
    ticks = [
        t
        for t in np.arange(np.ceil((tornado.mean - seen) / step), (tornado.mean + seen) / step + 1)
        * step
        if 0 <= t <= 1 and left <= x_of(t) <= right
    ]
    # Tenths of a point where the bars are short enough that whole points would read the same.
    digits = 1 if reach < 0.05 else 0

    def percent(p: float, digits: int = digits) -> str:
        return f"{100 * p:.{digits}f}%"

    y, centres = top + TORNADO_GAP, []
    for index, height in enumerate(heights):
        centres.append(y + height / 2)
        if index % 2 == 1:  # zebra bands let the eye follow a row from its label to its bar
            canvas.rectangle(
                0, y - TORNADO_GAP / 2, right, height + TORNADO_GAP, facecolor=BAND, linewidth=0
            )
        y += height + TORNADO_GAP
    canvas.segments(
        [[(x_of(t), top), (x_of(t), bottom)] for t in ticks], color=RULE, linewidth=0.5, zorder=1
    )
    canvas.line([left, right], [bottom, bottom], color=MUTED, linewidth=0.6, zorder=1)
    for t in ticks:
        canvas.text(
            x_of(t),
            bottom + 0.05,
            percent(t, 1 if step < 0.01 else 0),
            ha="center",
            va="top",
            fontsize=8,
            color=MUTED,
        )
    canvas.text(
        centre,
        bottom + 0.22,
        f"Probability of {tornado.scenario}",
        ha="center",
        va="top",
        color=MUTED,
    )
    canvas.line([centre, centre], [top - 0.04, bottom], color=INK, linewidth=0.9, zorder=4)
    canvas.text(
        centre,
        top - 0.07,
        f"now {percent(tornado.mean)}",
        ha="center",
        va="bottom",
        fontsize=8,
        fontweight="bold",
        color=INK,
    )
    draw_legend(
        canvas,
        0.13,
        [Series("input moved down", LOWERED_COLOUR, "bar"), Series("up", RAISED_COLOUR, "bar")],
    )

    for bar, (name, value), block, y in zip(tornado.bars, labels, blocks, centres, strict=True):
        for text, offset, colour in (
            (name, 0.0, INK),
            (value, (name.count("\n") + 1) * line, MUTED),
        ):
            canvas.text(
                TORNADO_LABEL_WIDTH - 0.05,
                y - block / 2 + offset,
                text,
                ha="right",
                va="top",
                linespacing=1.15,
                fontsize=TORNADO_FONT_SIZE,
                color=colour,
            )
        # The side further from the centre is drawn first, so a shorter bar on the same side
        # stays in sight over it.
        sides = sorted(
            [(bar.low, LOWERED_COLOUR), (bar.high, RAISED_COLOUR)],
            key=lambda side: -abs(side[0] - tornado.mean),
        )
        for order, (p, colour) in enumerate(sides):
            start, end = sorted((x_of(tornado.mean), x_of(p)))
            canvas.rectangle(
                start,
                y - TORNADO_BAR_HEIGHT / 2,
                end - start,
                TORNADO_BAR_HEIGHT,
                facecolor=colour,
                linewidth=0,
                zorder=2 + order,
            )
        # The probability at each end of the bar, a decimal more where the two would read the
        # same; where both sides lie on one side of the centre, only the further end has room
        # for its number.
        ends = digits if percent(bar.low) != percent(bar.high) else digits + 1
        for p, _ in sides:
            outward = p >= tornado.mean
            further = [q for q, _ in sides if (q >= tornado.mean) == outward]
            if abs(p - tornado.mean) < max(abs(q - tornado.mean) for q in further):
                continue
            canvas.text(
                x_of(p) + (0.04 if outward else -0.04),
                y,
                percent(p, ends),
                ha="left" if outward else "right",
                va="center",
                fontsize=TORNADO_FONT_SIZE,
                color=INK,
            )
    return canvas.figure


# An event curve's plot area, in inches from the figure's top-left corner: room on the left for
# the percentages, above for the legend and below for the dates (two lines: month and year).
CURVE_LEFT = 0.5
CURVE_TOP = 0.56
CURVE_HEIGHT = 1.75
CURVE_BOTTOM_SPACE = 0.42
# Checkpoint labels closer than this (inches) to the one before go below the curve instead.
CHECKPOINT_LABEL_ROOM = 0.55


def plot_event_curve(curve: EventCurve) -> Figure:
    """An event's probability of having happened by each date: the posterior mean as a solid
    line in its 90% band, the prior mean dashed, each checkpoint marked with its posterior
    probability, the dates at which the rate changes ruled, the dates along the axis."""
    left, right = CURVE_LEFT, FIGURE_WIDTH - 0.25
    top, bottom = CURVE_TOP, CURVE_TOP + CURVE_HEIGHT
    canvas = Canvas(FIGURE_WIDTH, bottom + CURVE_BOTTOM_SPACE)
    start, end = curve.dates[0], curve.dates[-1]
    days = max((end - start).days, 1)

    def x_of(date) -> float:
        return left + (date - start).days / days * (right - left)

    def y_of(p) -> np.ndarray:
        return bottom - np.asarray(p, dtype=float) / curve.top * (bottom - top)

    x = np.array([x_of(date) for date in curve.dates])
    step = next(s for s in (0.005, 0.01, 0.02, 0.05, 0.1, 0.2) if curve.top / s <= 6)
    levels = np.arange(0, curve.top + step / 2, step)
    canvas.segments(
        [[(left, y), (right, y)] for y in y_of(levels[1:])], color=RULE, linewidth=0.5, zorder=0
    )
    digits = 1 if step < 0.01 else 0
    for level, y in zip(levels, y_of(levels), strict=True):
        canvas.text(
            left - 0.07,
            y,
            f"{100 * level:.{digits}f}%",
            ha="right",
            va="center",
            fontsize=8,
            color=MUTED,
        )
    canvas.line([left, right], [bottom, bottom], color=MUTED, linewidth=0.6, zorder=1)
    canvas.segments(
        [[(x_of(date), bottom), (x_of(date), bottom + 0.04)] for date, _ in curve.ticks],
        color=MUTED,
        linewidth=0.6,
    )
    for date, text in curve.ticks:
        canvas.text(
            x_of(date),
            bottom + 0.07,
            text,
            ha="center",
            va="top",
            fontsize=7.5,
            linespacing=1.1,
            color=MUTED,
        )
    canvas.text(
        0.05, top - 0.2, "Probability it has happened by the date", va="center", color=MUTED
    )

    for date in curve.changes:
        canvas.line(
            [x_of(date)] * 2, [top, bottom], color=MUTED, linewidth=0.7, dashes=(1, 2), zorder=1
        )
        canvas.text(
            x_of(date) + 0.04, top + 0.02, "rate changes", va="top", fontsize=7, color=MUTED
        )

    low, high = (np.array(side) for side in zip(*curve.band, strict=True))
    outline = np.column_stack(
        [np.concatenate([x, x[::-1]]), y_of(np.concatenate([low, high[::-1]]))]
    )
    canvas.add(
        Polygon(outline, closed=True, facecolor=POSTERIOR_COLOUR, alpha=BAND_ALPHA, linewidth=0)
    ).set_zorder(1)
    # Over the posterior: where the evidence has not moved it, the dashes still show on the line.
    canvas.line(x, y_of(curve.prior), color=PRIOR_COLOUR, linewidth=1.4, dashes=DASHES, zorder=3.5)
    canvas.line(x, y_of(curve.posterior), color=POSTERIOR_COLOUR, linewidth=1.8, zorder=3)

    points = [(x_of(c.date), float(y_of(c.posterior))) for c in curve.checkpoints]
    canvas.segments(
        [[(px, bottom), (px, py)] for px, py in points],
        color=MUTED,
        linewidth=0.6,
        linestyle=(0, (1, 1.5)),
        zorder=1.5,
    )
    hollow_markers(
        canvas,
        [(x_of(c.date), float(y_of(c.prior))) for c in curve.checkpoints],
        PRIOR_COLOUR,
        "D",
    )
    if points:
        px, py = zip(*points, strict=True)
        canvas.line(
            px,
            py,
            linestyle="none",
            marker="o",
            markersize=5.5,
            markerfacecolor=POSTERIOR_COLOUR,
            markeredgecolor="white",
            markeredgewidth=0.8,
            zorder=5,
        )
    previous = None
    for checkpoint, (px, py) in zip(curve.checkpoints, points, strict=True):
        # Above and to the left of its dot and of the prior's diamond, which a rising curve
        # leaves clear; below and to the right where the checkpoint before is too close.
        below = previous is not None and px - previous < CHECKPOINT_LABEL_ROOM
        prior_y = float(y_of(checkpoint.prior))
        canvas.text(
            px + (0.06 if below else -0.06),
            max(py, prior_y) + 0.06 if below else min(py, prior_y) - 0.06,
            format_probability(checkpoint.posterior),
            ha="left" if below else "right",
            va="top" if below else "bottom",
            fontsize=8,
            fontweight="bold",
            color=INK,
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 0.8},
            zorder=6,
        )
        previous = None if below else px

    draw_legend(
        canvas,
        0.13,
        [
            Series("posterior, 90% band", POSTERIOR_COLOUR, "line_band"),
            Series("prior", PRIOR_COLOUR, "dashed"),
            Series("checkpoint", POSTERIOR_COLOUR, "dot"),
        ],
    )
    return canvas.figure
