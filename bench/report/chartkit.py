"""What every chart shares: its typed inputs, the framework palette, invalid markers, legends outside the data.

A chart takes small frozen dataclasses (a Series per setup, a Point per measured x), never the analysis itself,
so any analysis result can feed it through an adapter (bench.report.adapt) and a test can draw it from a few
literals. Colour carries the framework (one hue family each), the shade carries the setup.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")

from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

DPI = 100
# One hue family per framework; a framework's setups take its shades in order (darkest first).
HUES: dict[str, tuple[str, ...]] = {
    "fastapi": ("#00695c", "#26a69a", "#004d40", "#80cbc4", "#4db6ac"),
    "flask": ("#bf360c", "#f4511e", "#8d2a0b", "#ff8a65", "#e64a19"),
}
FRAMEWORK_COLOR = {fw: shades[0] for fw, shades in HUES.items()}
# Sides that are not a framework (the driver rows of the decomposition): a third hue, never teal or orange.
SIDE_COLOR = {**FRAMEWORK_COLOR, "async": "#4527a0", "sync": "#9575cd"}
NEUTRAL = "#9e9e9e"
INVALID_COLOR = "#6d4c41"
MARKERS = ("o", "s", "^", "D", "v", "P")
REASON_CHARS = 36


@dataclass(frozen=True)
class Point:
    """One measured value at x; y is NaN and `invalid` holds the reason when the cell did not count."""

    x: float
    y: float = math.nan
    lo: float | None = None
    hi: float | None = None
    invalid: str = ""

    @property
    def ok(self) -> bool:
        """A valid, finite value."""
        return not self.invalid and math.isfinite(self.y)


@dataclass(frozen=True)
class Series:
    """One setup's points in one panel."""

    setup: str
    framework: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Panel:
    """One sub-plot: a title and a series per setup."""

    title: str
    series: tuple[Series, ...]
    note: str = ""


@dataclass(frozen=True)
class Chart:
    """A rendered chart: file name, title, one-line caption (what to read from it) and PNG bytes."""

    name: str
    title: str
    caption: str
    png: bytes

    @property
    def data_uri(self) -> str:
        """The PNG as a data: URI for inlining into HTML."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class Palette:
    """Colour and marker of each setup: framework hue, setup shade, stable across every chart of a report."""

    setups: dict[str, str] = field(default_factory=dict)  # setup → framework, in display order

    def add(self, series: Sequence[Series]) -> Palette:
        """Register setups in the order first seen."""
        for s in series:
            self.setups.setdefault(s.setup, s.framework)
        return self

    def _index(self, setup: str) -> int:
        fw = self.setups.get(setup, "")
        return [name for name, f in self.setups.items() if f == fw].index(setup) if setup in self.setups else 0

    def colour(self, setup: str) -> str:
        """The setup's shade of its framework's hue."""
        shades = HUES.get(self.setups.get(setup, ""), (NEUTRAL,))
        return shades[self._index(setup) % len(shades)]

    def marker(self, setup: str) -> str:
        """The setup's marker (setups of one framework differ in shape too, for grey-scale printing)."""
        return MARKERS[self._index(setup) % len(MARKERS)]

    def handles(self, only: set[str] | None = None) -> list[Line2D]:
        """Legend entries, one per setup (those in `only` when given)."""
        return [
            Line2D([], [], color=self.colour(s), marker=self.marker(s), linestyle="-", label=s)
            for s in self.setups
            if only is None or s in only
        ]


def colour(framework: str) -> str:
    """The main colour of a framework (or of a decomposition side), used for significance by direction."""
    return SIDE_COLOR.get(framework, NEUTRAL)


def short(reason: str) -> str:
    """An invalid reason cut to fit next to a marker."""
    first = reason.split(";")[0].strip()
    return first if len(first) <= REASON_CHARS else first[: REASON_CHARS - 1] + "…"


def figure(width: float, height: float) -> Figure:
    """A figure with constrained layout, so outside legends get their own space."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def panels_grid(n: int, *, per_row: int = 3, width: float = 4.2, height: float = 3.1) -> tuple[Figure, list[Axes]]:
    """A grid of n panels; unused cells are hidden."""
    ncols = min(per_row, max(n, 1))
    nrows = math.ceil(max(n, 1) / ncols)
    fig = figure(width * ncols, height * nrows + 0.8)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def legend_below(fig: Figure, handles: Sequence[Line2D]) -> None:
    """The legend under the panels, never over data."""
    if handles:
        ncol = max(1, min(4, len(handles), int(fig.get_figwidth() / 2.4)))
        fig.legend(handles=list(handles), loc="outside lower center", ncol=ncol, frameon=False)


def mark_invalid(
    ax: Axes, x: float, reason: str, *, row: int = 0, vertical: bool = True, align: str = "center"
) -> None:
    """An 'x' at the data coordinate x on the axis edge, with the reason written next to it.

    align: 'left' for a marker at the left end of the axis (text runs right), 'right' at the right end.
    """
    if vertical:  # x is data, y is the axis bottom
        tr = blended_transform_factory(ax.transData, ax.transAxes)
        y = 0.04 + 0.09 * row
        ax.plot([x], [y], marker="X", color=INVALID_COLOR, transform=tr, clip_on=False, ms=7)
        shift = {"left": 6, "right": -6, "center": 0}[align]
        if reason:
            ax.annotate(short(reason), (x, y), xycoords=tr, xytext=(shift, 6 if align == "center" else 0),
                        textcoords="offset points", fontsize=7, color=INVALID_COLOR, ha=align, va="center")  # fmt: skip
    else:  # x is the row position on the y axis, marker on the left edge
        tr = blended_transform_factory(ax.transAxes, ax.transData)
        ax.plot([0.02], [x], marker="X", color=INVALID_COLOR, transform=tr, clip_on=False, ms=7)
        ax.text(0.05, x, short(reason), transform=tr, fontsize=7, color=INVALID_COLOR, va="center")


def ticks_at(ax: Axes, values: Sequence[float], *, axis: str = "x", log: bool = False) -> None:
    """Major ticks only where there is data, labelled plainly; no minor ticks."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    if log:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    vals = sorted({v for v in values if math.isfinite(v)})
    target.set_major_locator(ticker.FixedLocator(vals))
    target.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.4g}"))
    target.set_minor_locator(ticker.NullLocator())


def plain_log(ax: Axes, axis: str = "y") -> None:
    """A log axis with 1-2-5 ticks written as plain numbers."""
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.4g}"))
    target.set_minor_formatter(ticker.NullFormatter())


def split_outliers(values: Sequence[float], factor: float = 3.0) -> tuple[float, float] | None:
    """(normal top, outlier bottom) when some values exceed `factor` × the median of the rest, else None."""
    finite = sorted(v for v in values if math.isfinite(v) and v > 0)
    if len(finite) < 3:
        return None
    for cut in range(len(finite) - 1, 0, -1):
        rest = finite[:cut]
        if finite[cut] > factor * rest[len(rest) // 2] and finite[cut] > factor * rest[-1] / 1.5:
            return rest[-1], finite[cut]
    return None


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
