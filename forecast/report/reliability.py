"""The reliability diagram of score.html: forecast probability against how often it came true.

The numbers are computed beforehand (forecast.scoring.aggregate: each bin's mean forecast,
observed frequency and interval); this module only draws them, on the report's Canvas and in its
palette, and returns the Figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from forecast.report.canvas import (
    FIGURE_WIDTH,
    INK,
    MUTED,
    OKABE_ITO,
    POSTERIOR_COLOUR,
    PRIOR_COLOUR,
    RULE,
    Canvas,
    wrap_label,
)

# The run's two forecasts keep the colours the run's report gives them; benchmarks take the
# rest of the Okabe–Ito palette in turn.
FORECASTER_COLOURS = {"posterior": POSTERIOR_COLOUR, "prior": PRIOR_COLOUR}
BENCHMARK_COLOURS = [
    OKABE_ITO[name] for name in ("bluish_green", "reddish_purple", "vermillion", "sky_blue")
]
MARKERS = {"posterior": "o", "prior": "D"}
BENCHMARK_MARKERS = ["s", "^", "v", "P"]

SIDE = 3.0  # inches: the square of the plot
LEFT, TOP = 0.62, 0.22  # inches from the figure's edges to the plot
DODGE = 0.022  # probability units between the series' marks at one bin, so none hides another


@dataclass(frozen=True)
class ReliabilitySeries:
    """One forecaster's bins: (mean forecast, observed frequency, interval, count) each."""

    name: str
    bins: Sequence[Mapping]


def series_style(names: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(colour, marker) for each forecaster, in the order given."""
    styles, benchmark = {}, 0
    for name in names:
        if name in FORECASTER_COLOURS:
            styles[name] = (FORECASTER_COLOURS[name], MARKERS[name])
        else:
            styles[name] = (
                BENCHMARK_COLOURS[benchmark % len(BENCHMARK_COLOURS)],
                BENCHMARK_MARKERS[benchmark % len(BENCHMARK_MARKERS)],
            )
            benchmark += 1
    return styles


def plot_reliability(series: Sequence[ReliabilitySeries]) -> Figure:
    """Each bin's observed frequency (mark) and its interval (line) at its mean forecast, the
    diagonal where a calibrated forecaster's marks would fall, and the count beside each mark."""
    canvas = Canvas(FIGURE_WIDTH, TOP + SIDE + 0.62)
    left, right, top, bottom = LEFT, LEFT + SIDE, TOP, TOP + SIDE

    def x(p):
        return left + np.asarray(p, dtype=float) * SIDE

    def y(p):
        return bottom - np.asarray(p, dtype=float) * SIDE

    ticks = np.linspace(0, 1, 11)
    canvas.segments(
        [[(x(t), top), (x(t), bottom)] for t in ticks]
        + [[(left, y(t)), (right, y(t))] for t in ticks],
        color=RULE,
        linewidth=0.5,
        zorder=0,
    )
    canvas.line(
        [left, right, right, left, left],
        [bottom, bottom, top, top, bottom],
        color=MUTED,
        linewidth=0.6,
        zorder=1,
    )
    canvas.line(x([0, 1]), y([0, 1]), color=MUTED, linewidth=0.9, linestyle=(0, (4, 3)), zorder=1)
    for t in ticks[::2]:
        canvas.text(
            x(t), bottom + 0.05, f"{t:.0%}", ha="center", va="top", fontsize=7.5, color=MUTED
        )
        canvas.text(
            left - 0.06, y(t), f"{t:.0%}", ha="right", va="center", fontsize=7.5, color=MUTED
        )
    canvas.text(
        (left + right) / 2,
        bottom + 0.24,
        "Forecast probability (mean of the bin)",
        ha="center",
        va="top",
        color=MUTED,
    )
    canvas.text(
        0.08,
        (top + bottom) / 2,
        "How often it happened",
        ha="center",
        va="center",
        rotation=90,
        color=MUTED,
    )

    styles = series_style([s.name for s in series])
    offsets = (np.arange(len(series)) - (len(series) - 1) / 2) * DODGE
    for index, (entry, offset) in enumerate(zip(series, offsets, strict=True)):
        colour, marker = styles[entry.name]
        if not entry.bins:
            continue
        forecasts = np.clip([b["forecast"] + offset for b in entry.bins], 0, 1)
        canvas.segments(
            [
                [(x(f), y(b["interval"][0])), (x(f), y(b["interval"][1]))]
                for f, b in zip(forecasts, entry.bins, strict=True)
            ],
            color=colour,
            linewidth=1.4,
            alpha=0.75,
            zorder=2,
        )
        canvas.line(
            x(forecasts),
            y([b["observed"] for b in entry.bins]),
            linestyle="none",
            marker=marker,
            markersize=5.5,
            markerfacecolor=colour,
            markeredgecolor="white",
            markeredgewidth=0.8,
            zorder=3,
        )
        for f, b in zip(forecasts, entry.bins, strict=True):
            # The count above its mark (below it at the top of the plot), on the right for the
            # first series and the left for the next, so that neighbours' counts stay apart.
            high = b["observed"] > 0.9
            on_right = index % 2 == 0
            canvas.text(
                x(f) + (0.05 if on_right else -0.05),
                y(b["observed"]) + (0.1 if high else -0.1),
                str(b["n"]),
                ha="left" if on_right else "right",
                va="center",
                fontsize=6.5,
                color=colour,
                zorder=4,
            )

    legend_x, legend_y = right + 0.3, top + 0.08
    for entry in series:
        colour, marker = styles[entry.name]
        canvas.line(
            [legend_x + 0.07] * 2,
            [legend_y - 0.09, legend_y + 0.09],
            color=colour,
            linewidth=1.4,
            alpha=0.75,
        )
        canvas.line(
            [legend_x + 0.07],
            [legend_y],
            linestyle="none",
            marker=marker,
            markersize=5.5,
            markerfacecolor=colour,
            markeredgecolor="white",
            markeredgewidth=0.8,
        )
        label = wrap_label(
            entry.name.replace("_", " "), FIGURE_WIDTH - legend_x - 0.35, max_lines=2, font_size=8
        )
        canvas.text(legend_x + 0.22, legend_y, label, va="center", fontsize=8, color=INK)
        legend_y += 0.3 + 0.13 * label.count("\n")
    canvas.line(
        [legend_x, legend_x + 0.15],
        [legend_y, legend_y],
        color=MUTED,
        linewidth=0.9,
        linestyle=(0, (4, 3)),
    )
    canvas.text(legend_x + 0.22, legend_y, "calibrated", va="center", fontsize=8, color=INK)
    legend_y += 0.32
    canvas.text(
        legend_x,
        legend_y,
        "line: 90% interval\nnumber: forecasts\nin the bin",
        va="top",
        fontsize=7,
        color=MUTED,
        linespacing=1.3,
    )
    return canvas.figure
