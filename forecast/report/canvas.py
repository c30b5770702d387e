"""The drawing surface of the report's charts: palette, matplotlib style, Canvas and the marks
every interval chart shares (scale, interval marks, frame with labels, grid and legend).

Figures are built from ``Figure`` objects, never through pyplot, so nothing is registered in
pyplot's global figure manager and nothing leaks between reports.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Affine2D

from forecast.report.figure_data import Interval

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
# A tornado's bars: light for the input moved down, dark for it moved up, told apart in
# greyscale by lightness as well as by hue.
LOWERED_COLOUR = OKABE_ITO["sky_blue"]
RAISED_COLOUR = OKABE_ITO["blue"]
CHAIN_COLOURS = [
    OKABE_ITO[name]
    for name in ("blue", "orange", "bluish_green", "reddish_purple", "sky_blue", "vermillion")
]
# A posterior's 90% band under its line, light enough for the line and the marks on it to stay
# clear in print; the prior is drawn dashed, so the two read apart in greyscale too.
BAND_ALPHA = 0.2
DASHES = (4, 2.5)
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
    underscores; a piece longer than a whole line is cut, unless by a single character (a word
    and its comma), which the estimate of a line's width can spare.
    """
    width = max(8, int(width_inches * CHARS_PER_INCH * FONT_SIZE / font_size))
    pieces = re.findall(r"[^\s_]*_+|\S+|\s+", " ".join(str(text).split()))
    lines, line = [], ""
    for piece in pieces:
        if piece.isspace():
            line += " " if line else ""
            continue
        while len(piece) > width + 1:  # nowhere to break: cut
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
class Series:
    """How one kind of interval (prior, posterior, ...) looks in a chart and its legend."""

    name: str
    colour: str
    marker: str = "o"


PRIOR = Series("prior", PRIOR_COLOUR, "o")
POSTERIOR = Series("posterior", POSTERIOR_COLOUR, "o")
WITHOUT_ITEM = Series("without the item", WITHOUT_COLOUR, "o")
WITH_ITEM = Series("with the item", POSTERIOR_COLOUR, "o")
# How each role of figure_data's interval rows is drawn.
SERIES = {"prior": PRIOR, "posterior": POSTERIOR, "without": WITHOUT_ITEM, "with": WITH_ITEM}


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
    """Where values from 0 to `maximum` (1 for probabilities; an event's rates go higher) fall
    across a chart, in inches."""

    left: float
    right: float
    maximum: float = 1.0

    def __call__(self, p) -> np.ndarray:
        return self.left + np.asarray(p, dtype=float) / self.maximum * (self.right - self.left)


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
HEADING_GAP = 0.1  # inches a section heading adds to its lines of text


def interval_frame(
    labels: Sequence[str],
    *,
    legend: Sequence[Series],
    axis_label: str,
    min_row_height: float = ROW_HEIGHT,
    bold: Sequence[bool] | None = None,
    sections: Sequence[str | None] | None = None,
    maximum: float | None = None,
) -> ChartFrame:
    """A chart sized to its rows: labels on the left, zebra bands, grid, axis and legend.

    Rows may belong to sections: a section's heading is written across the chart above its
    first row, so that the rows under it need only short labels. The axis runs over
    probabilities, 0 to 100%, or with a `maximum` over plain numbers (rates) from 0 to it.
    """
    wrapped = [wrap_label(label, LABEL_WIDTH - 0.15, max_lines=4) for label in labels]
    heights = [max(min_row_height, text.count("\n") * LINE_HEIGHT + ROW_HEIGHT) for text in wrapped]
    sections = list(sections or [None] * len(labels))
    headings = [
        wrap_label(section, FIGURE_WIDTH - 0.35, max_lines=3)
        if section and (index == 0 or section != sections[index - 1])
        else None
        for index, section in enumerate(sections)
    ]
    heading_heights = [
        (heading.count("\n") + 1) * LINE_HEIGHT + HEADING_GAP if heading else 0.0
        for heading in headings
    ]
    body = sum(heights) + sum(heading_heights) + GROUP_GAP * (len(heights) + 1)
    canvas = Canvas(FIGURE_WIDTH, BODY_TOP + body + AXIS_SPACE)
    scale = ProbabilityScale(LABEL_WIDTH, FIGURE_WIDTH - 0.25, maximum or 1.0)
    top, bottom = BODY_TOP, BODY_TOP + body

    # The grid runs through each section's rows, not through the headings between them.
    centres, y, blocks, block_top, position = [], top + GROUP_GAP, [], top, 0
    for index, height in enumerate(heights):
        if headings[index]:
            if index > 0:
                blocks.append((block_top, y - GROUP_GAP / 2))
            canvas.text(
                0.05,
                y - 0.02,
                headings[index],
                ha="left",
                va="top",
                linespacing=1.15,
                fontweight="bold",
                color=INK,
            )
            y += heading_heights[index]
            block_top, position = y - GROUP_GAP / 2, 0
        centres.append(y + height / 2)
        if position % 2 == 1:  # zebra bands let the eye follow a row from its label to its dots
            canvas.rectangle(
                0,
                y - GROUP_GAP / 2,
                scale.right,
                height + GROUP_GAP,
                facecolor=BAND,
                linewidth=0,
                zorder=0,
            )
        position += 1
        y += height + GROUP_GAP
    blocks.append((block_top, bottom))
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

    if maximum is None:
        ticks, labelled = np.linspace(0, 1, 11), [(p, f"{p:.0%}") for p in np.linspace(0, 1, 6)]
    else:
        ticks, labelled = plain_ticks(maximum)
    canvas.segments(
        [[(x, low), (x, high)] for low, high in blocks for x in scale(ticks)],
        color=RULE,
        linewidth=0.5,
        zorder=1,
    )
    canvas.line(scale([0, 1]), [bottom, bottom], color=MUTED, linewidth=0.6, zorder=1)
    for p, text in labelled:
        canvas.text(scale(p), bottom + 0.05, text, ha="center", va="top", fontsize=8, color=MUTED)
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


def plain_ticks(maximum: float) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """Grid lines from 0 to `maximum` at a round step (at most ten), and the ones labelled:
    every one, or every other where there are more than six."""
    magnitude = 10.0 ** np.floor(np.log10(maximum))
    step = next(
        m * magnitude for m in (0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10) if maximum / (m * magnitude) <= 10
    )
    ticks = np.arange(0, maximum + step / 2, step)
    every = 2 if len(ticks) > 6 else 1
    return ticks, [(t, f"{t:.6g}") for t in ticks[::every]]


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
        elif series.marker == "bar":
            canvas.rectangle(x, y - 0.055, 0.28, 0.11, facecolor=series.colour, linewidth=0)
        elif series.marker in ("line", "line_band"):
            if series.marker == "line_band":
                canvas.rectangle(
                    x, y - 0.06, 0.28, 0.12, facecolor=series.colour, alpha=BAND_ALPHA, linewidth=0
                )
            canvas.line([x, x + 0.28], [y, y], color=series.colour, linewidth=1.8)
        elif series.marker == "dashed":
            canvas.line([x, x + 0.28], [y, y], color=series.colour, linewidth=1.4, dashes=DASHES)
        elif series.marker == "dot":
            canvas.line(
                [x + 0.14],
                [y],
                linestyle="none",
                marker="o",
                markersize=5,
                markerfacecolor=series.colour,
                markeredgecolor="white",
                markeredgewidth=0.8,
            )
        else:
            sample = Interval(0.5, (0.0, 1.0), (0.3, 0.7))
            marks = IntervalMarks()
            marks.add(ProbabilityScale(x, x + 0.28), y, sample, series)
            marks.draw(canvas)
        canvas.text(x + 0.36, y, series.name, va="center", fontsize=8, color=INK)
        x += width + 0.2
