"""The charts of sweep.html: a probability against one varied number (a line with its 90% band),
or against two (a heat map). Each ``plot_*`` function takes numbers already worked out
(:class:`SweepLine`, :class:`SweepGrid`) and returns a matplotlib Figure drawn on the report's
Canvas, in its palette; the page puts two panels side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.colors import LinearSegmentedColormap, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import MaxNLocator

from forecast.report.canvas import INK, MUTED, OKABE_ITO, POSTERIOR_COLOUR, RULE, Canvas

PANEL_WIDTH = 2.75  # inches: two panels across the printed column
PANEL_HEIGHT = 1.85
LEFT, RIGHT, TOP, BOTTOM = 0.42, 0.12, 0.1, 0.3  # inches from the panel's edges to the plot
GRID_HEIGHT = 2.35  # a heat map's panel, taller: its cells carry their numbers
RESAMPLED_COLOUR = OKABE_ITO["vermillion"]
FILE_VALUE_COLOUR = INK
BAND_ALPHA = 0.22
# A heat map from the page's white to the posterior's blue: darker is more probable.
HEAT = LinearSegmentedColormap.from_list("sweep", ["#ffffff", POSTERIOR_COLOUR])
# Above this many columns a heat map's cells are too narrow for their numbers.
MAX_LABELLED_COLUMNS = 12


@dataclass(frozen=True)
class SweepLine:
    """One quantity along one varied number: at each value its mean and 90% interval, and
    whether the point was sampled again (True) or reweighted (False)."""

    values: Sequence[float]
    means: Sequence[float]
    lows: Sequence[float]
    highs: Sequence[float]
    resampled: Sequence[bool]
    file_value: float | None


@dataclass(frozen=True)
class SweepGrid:
    """One quantity over two varied numbers: means[i][j] at (x_values[i], y_values[j])."""

    x_values: Sequence[float]
    y_values: Sequence[float]
    means: Sequence[Sequence[float]]
    resampled: Sequence[Sequence[bool]]
    file_values: tuple[float | None, float | None]


def probability_ticks(highest: float) -> np.ndarray:
    """Ticks from 0 to a round probability at or above `highest`: a chart of a 3% scenario
    is drawn to 4%, not squashed at the bottom of 0-100%."""
    ticks = MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(0, max(highest, 0.01))
    ticks = ticks[(ticks >= 0) & (ticks <= 1 + 1e-9)]
    if ticks[-1] < highest - 1e-12:
        ticks = np.append(ticks, min(1.0, ticks[-1] + (ticks[1] - ticks[0])))
    return ticks


def value_ticks(low: float, high: float) -> np.ndarray:
    ticks = MaxNLocator(nbins=4).tick_values(low, high)
    return ticks[(ticks >= low - 1e-9 * abs(high - low)) & (ticks <= high + 1e-9 * abs(high - low))]


def format_tick(value: float) -> str:
    return f"{value:.4g}".replace("-", "\u2212")


def format_percent(p: float) -> str:
    """A tick of the probability axis: 20%, 2.5%."""
    return f"{round(100 * p, 1):g}%"


def plot_sweep_line(line: SweepLine) -> Figure:
    """The mean as a line through the 90% band, a mark at each grid point (filled where the
    draws were reweighted, a hollow diamond where the point was sampled again), and a dashed
    line at the file's own value."""
    canvas = Canvas(PANEL_WIDTH, PANEL_HEIGHT)
    left, right = LEFT, PANEL_WIDTH - RIGHT
    top, bottom = TOP, PANEL_HEIGHT - BOTTOM
    values = np.asarray(line.values, dtype=float)
    order = np.argsort(values)
    values = values[order]
    means, lows, highs = (
        np.asarray(v, dtype=float)[order] for v in (line.means, line.lows, line.highs)
    )
    resampled = np.asarray(line.resampled, dtype=bool)[order]
    low_x, high_x = float(values[0]), float(values[-1])
    y_ticks = probability_ticks(float(highs.max()))
    y_top = float(y_ticks[-1])

    def x(v):
        return left + (np.asarray(v, dtype=float) - low_x) / (high_x - low_x) * (right - left)

    def y(p):
        return bottom - np.asarray(p, dtype=float) / y_top * (bottom - top)

    canvas.segments(
        [[(left, y(t)), (right, y(t))] for t in y_ticks[1:]], color=RULE, linewidth=0.5, zorder=0
    )
    canvas.line([left, right], [bottom, bottom], color=MUTED, linewidth=0.6, zorder=1)
    canvas.line([left, left], [top, bottom], color=MUTED, linewidth=0.6, zorder=1)
    for t in y_ticks:
        canvas.text(
            left - 0.05, y(t), format_percent(t), ha="right", va="center",
            fontsize=7, color=MUTED,
        )  # fmt: skip
    for t in value_ticks(low_x, high_x):
        canvas.line([x(t)] * 2, [bottom, bottom + 0.04], color=MUTED, linewidth=0.6)
        canvas.text(
            x(t), bottom + 0.06, format_tick(t), ha="center", va="top", fontsize=7, color=MUTED
        )
    if line.file_value is not None and low_x <= line.file_value <= high_x:
        canvas.line(
            [x(line.file_value)] * 2, [top, bottom], color=FILE_VALUE_COLOUR, linewidth=0.8,
            linestyle=(0, (3, 2)), zorder=2,
        )  # fmt: skip
    band = np.concatenate(
        [np.column_stack([x(values), y(highs)]), np.column_stack([x(values), y(lows)])[::-1]]
    )
    canvas.add(
        Polygon(
            band, closed=True, facecolor=POSTERIOR_COLOUR, alpha=BAND_ALPHA, linewidth=0, zorder=2
        )
    )
    canvas.line(x(values), y(means), color=POSTERIOR_COLOUR, linewidth=1.4, zorder=3)
    draw_point_marks(canvas, x(values[~resampled]), y(means[~resampled]), resampled=False)
    draw_point_marks(canvas, x(values[resampled]), y(means[resampled]), resampled=True)
    return canvas.figure


def draw_point_marks(canvas: Canvas, xs, ys, *, resampled: bool) -> None:
    """A grid point's mark: a small filled dot (reweighted) or a hollow diamond (sampled again)."""
    if len(xs) == 0:
        return
    if resampled:
        style = dict(marker="D", markersize=4.2, markerfacecolor="white",
                     markeredgecolor=RESAMPLED_COLOUR, markeredgewidth=1.1)  # fmt: skip
    else:
        style = dict(marker="o", markersize=3.4, markerfacecolor=POSTERIOR_COLOUR,
                     markeredgecolor="white", markeredgewidth=0.5)  # fmt: skip
    canvas.line(list(xs), list(ys), linestyle="none", zorder=4, **style)


def plot_sweep_grid(grid: SweepGrid) -> Figure:
    """A heat map of the mean over the two varied numbers (first across, second up), each cell
    with its mean in percent where the cells are wide enough, the cells sampled again outlined,
    and triangles on the axes at the file's own values."""
    canvas = Canvas(PANEL_WIDTH, GRID_HEIGHT)
    left, right = LEFT + 0.08, PANEL_WIDTH - RIGHT
    top, bottom = TOP, GRID_HEIGHT - BOTTOM
    columns, rows = len(grid.x_values), len(grid.y_values)
    width, height = (right - left) / columns, (bottom - top) / rows
    x_order = np.argsort(np.asarray(grid.x_values, dtype=float))
    y_order = np.argsort(np.asarray(grid.y_values, dtype=float))
    means = np.asarray(grid.means, dtype=float)[np.ix_(x_order, y_order)]
    resampled = np.asarray(grid.resampled, dtype=bool)[np.ix_(x_order, y_order)]
    xs = np.asarray(grid.x_values, dtype=float)[x_order]
    ys = np.asarray(grid.y_values, dtype=float)[y_order]

    cells, colours, outlined = [], [], []
    for i in range(columns):
        for j in range(rows):
            corner = (left + i * width, bottom - (j + 1) * height)
            cells.append(Rectangle(corner, width, height))
            colours.append(HEAT(means[i, j]))
            if resampled[i, j]:
                outlined.append(
                    Rectangle((corner[0] + 0.012, corner[1] + 0.012), width - 0.024, height - 0.024)
                )
    canvas.add(
        PatchCollection(cells, facecolors=colours, edgecolors="white", linewidths=0.4, zorder=1)
    )
    if outlined:
        canvas.add(
            PatchCollection(
                outlined, facecolors="none", edgecolors=RESAMPLED_COLOUR, linewidths=1.0, zorder=3
            )
        )
    if columns <= MAX_LABELLED_COLUMNS and height >= 0.11:
        size = 6.5 if width >= 0.24 else 5.5
        for i in range(columns):
            for j in range(rows):
                mean = means[i, j]
                canvas.text(
                    left + (i + 0.5) * width, bottom - (j + 0.5) * height,
                    f"{100 * mean:.0f}" if mean >= 0.005 else "0",
                    ha="center", va="center", fontsize=size,
                    color="white" if _dark(HEAT(mean)) else INK, zorder=2,
                )  # fmt: skip
    for i in _tick_positions(columns):
        canvas.text(
            left + (i + 0.5) * width, bottom + 0.1, format_tick(xs[i]), ha="center", va="top",
            fontsize=7, color=MUTED,
        )  # fmt: skip
    for j in _tick_positions(rows):
        canvas.text(
            left - 0.1, bottom - (j + 0.5) * height, format_tick(ys[j]), ha="right",
            va="center", fontsize=7, color=MUTED,
        )  # fmt: skip
    # The file's values as triangles on the axes: a line through the cells would strike
    # through their numbers.
    file_x, file_y = grid.file_values
    if file_x is not None and xs[0] <= file_x <= xs[-1]:
        position = left + (np.interp(file_x, xs, np.arange(columns)) + 0.5) * width
        draw_file_marks(canvas, [position], [bottom + 0.035], marker="^")
    if file_y is not None and ys[0] <= file_y <= ys[-1]:
        position = bottom - (np.interp(file_y, ys, np.arange(rows)) + 0.5) * height
        draw_file_marks(canvas, [left - 0.035], [position], marker=">")
    return canvas.figure


def draw_file_marks(canvas: Canvas, xs, ys, *, marker: str) -> None:
    """The file's own value on a heat map's axis: a small black triangle pointing in."""
    canvas.line(
        xs, ys, linestyle="none", marker=marker, markersize=5, markerfacecolor=FILE_VALUE_COLOUR,
        markeredgewidth=0, zorder=4, clip_on=False,
    )  # fmt: skip


def _tick_positions(count: int) -> list[int]:
    """Which cells along an axis get a label: all of a few, every other or fewer of many."""
    step = max(1, int(np.ceil(count / 6)))
    return list(range(0, count, step))


def _dark(colour) -> bool:
    red, green, blue = to_rgb(colour)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.5


def plot_sweep_legend(*, grid: bool, resampled: bool) -> Figure:
    """The key shared by every panel: the band, how a grid point was computed, the file's value;
    for a heat map the colour scale."""
    canvas = Canvas(5.6, 0.34)
    y = 0.19
    x = 0.05

    def label(text: str, start: float) -> float:
        """Write a label; return where the next entry starts."""
        canvas.text(start, y, text, fontsize=7.5, color=INK, va="center")
        # Widths are estimated (about 0.062 inch a character at 7.5 pt): matplotlib measures
        # text only when it draws.
        return start + len(text) * 0.062 + 0.3

    if grid:
        for k, p in enumerate(np.linspace(0, 1, 6)):
            canvas.rectangle(
                x + k * 0.14, y - 0.06, 0.14, 0.12, facecolor=HEAT(p), edgecolor=RULE,
                linewidth=0.3,
            )  # fmt: skip
        canvas.text(x, y + 0.1, "0%", fontsize=6, color=MUTED, va="top")
        canvas.text(x + 0.84, y + 0.1, "100%", fontsize=6, color=MUTED, va="top", ha="right")
        x = label("mean (in each cell, in percent)", x + 0.94)
        if resampled:
            canvas.rectangle(
                x, y - 0.06, 0.16, 0.12, facecolor="white", edgecolor=RESAMPLED_COLOUR,
                linewidth=1.0,
            )  # fmt: skip
            x = label("sampled again", x + 0.24)
    else:
        canvas.rectangle(
            x, y - 0.06, 0.3, 0.12, facecolor=POSTERIOR_COLOUR, alpha=BAND_ALPHA, linewidth=0
        )
        canvas.line([x, x + 0.3], [y, y], color=POSTERIOR_COLOUR, linewidth=1.4)
        x = label("mean and 90% interval", x + 0.38)
        draw_point_marks(canvas, [x + 0.05], [y], resampled=False)
        x = label("reweighted", x + 0.15)
        if resampled:
            draw_point_marks(canvas, [x + 0.05], [y], resampled=True)
            x = label("sampled again", x + 0.15)
    if grid:
        draw_file_marks(canvas, [x + 0.05], [y], marker="^")
    else:
        canvas.line(
            [x + 0.05] * 2, [y - 0.09, y + 0.09], color=FILE_VALUE_COLOUR, linewidth=0.8,
            linestyle=(0, (3, 2)),
        )  # fmt: skip
    label("the file's value", x + 0.15)
    return canvas.figure
