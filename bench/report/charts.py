"""The report's charts: each a function over small typed inputs (bench.report.chartkit) returning (figure, caption).

Rules every chart follows: colour = framework (setups as shades), significance drawn by direction, invalid cells
drawn as labelled markers with their reason, legend outside the data, only the range that matters on the axis
(outliers in a separate panel), ticks only where there is data, and a caption that says what to read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from bench.report.chartkit import (
    INVALID_COLOR,
    NEUTRAL,
    Palette,
    Panel,
    Series,
    colour,
    figure,
    legend_below,
    mark_invalid,
    panels_grid,
    plain_log,
    split_outliers,
    ticks_at,
)

Drawn = tuple[Figure, str]
OVERLOAD_PERCENTILES = (50.0, 90.0, 99.0, 99.9)
SIDE_LABEL = {
    "fastapi": "significant, favours FastAPI",
    "flask": "significant, favours Flask",
    "async": "significant, async driver faster",
    "sync": "significant, sync driver faster",
}


def _plot_series(ax: Axes, s: Series, palette: Palette, *, xs_of: dict[float, float] | None = None) -> None:
    """Valid points as markers joined by a line, CIs as error bars, invalid ones as labelled markers."""
    c, m = palette.colour(s.setup), palette.marker(s.setup)
    ok = [p for p in s.points if p.ok]
    xs = [xs_of[p.x] if xs_of else p.x for p in ok]
    ax.plot(xs, [p.y for p in ok], color=c, marker=m, linestyle="-", linewidth=1.4, ms=5)
    for x, p in zip(xs, ok, strict=True):
        if p.lo is not None and p.hi is not None:
            low, high = max(0.0, p.y - p.lo), max(0.0, p.hi - p.y)
            ax.errorbar([x], [p.y], yerr=[[low], [high]], color=c, capsize=3, linestyle="none")


def _invalid_row(panel: Panel) -> dict[tuple[str, float], int]:
    """A stacking row per invalid marker so markers at the same x do not overlap."""
    rows: dict[tuple[str, float], int] = {}
    taken: dict[float, int] = {}
    for s in panel.series:
        for p in s.points:
            if not p.ok:
                rows[(s.setup, p.x)] = taken.get(p.x, 0)
                taken[p.x] = taken.get(p.x, 0) + 1
    return rows


def _mark_all_invalid(ax: Axes, panel: Panel, xs_of: dict[float, float] | None = None) -> int:
    rows = _invalid_row(panel)
    xs = [p.x for s in panel.series for p in s.points] + list(xs_of or ())
    written: set[str] = set()
    setups_by_reason: dict[str, set[str]] = {}
    for s in panel.series:
        for p in s.points:
            if not p.ok:
                setups_by_reason.setdefault(p.invalid or "no value", set()).add(s.setup)
    for s in panel.series:
        for p in s.points:
            if not p.ok:
                x = xs_of[p.x] if xs_of else p.x
                align = "left" if p.x <= min(xs) else "right" if p.x >= max(xs) else "center"
                reason = p.invalid or "no value"
                # A reason several setups share is written once, without a setup name (the labels would overlap).
                text = reason if len(setups_by_reason[reason]) > 1 else f"{s.setup}: {reason}"
                # The same setup and reason at several levels: say it once, mark every level.
                mark_invalid(ax, x, "" if text in written else text, row=rows[(s.setup, p.x)], align=align)
                written.add(text)
    return len(rows)


def _invalid_handle(n: int) -> list[Line2D]:
    return [Line2D([], [], color=INVALID_COLOR, marker="X", linestyle="none", label="invalid cell (reason shown)")] * (
        n > 0
    )


def _empty_log_limits(ax: Axes) -> None:
    """A panel of invalid markers alone has no y data (they sit in axes coordinates); give a log y a range."""
    if ax.get_yscale() == "log":
        ax.set_ylim(1, 100)


def _panels(
    panels: Sequence[Panel],
    palette: Palette,
    title: str,
    decorate: Callable[[Axes], None],
    xs_of: dict[float, float] | None = None,
) -> Figure:
    """A grid with one axis per panel: series, invalid markers, the chart's own axis set-up, legend below."""
    fig, axes = panels_grid(len(panels))
    invalid = 0
    for ax, panel in zip(axes, panels, strict=True):
        for s in panel.series:
            _plot_series(ax, s, palette, xs_of=xs_of)
        invalid += _mark_all_invalid(ax, panel, xs_of)
        decorate(ax)
        if not any(pt.ok for s in panel.series for pt in s.points):
            _empty_log_limits(ax)
        ax.set_title(panel.title)
        ax.grid(alpha=0.3, which="both")
    fig.suptitle(title, fontweight="bold")
    shown = {s.setup for panel in panels for s in panel.series}
    legend_below(fig, palette.handles(shown) + _invalid_handle(invalid))
    return fig


def throughput(panels: Sequence[Panel], palette: Palette) -> Drawn:
    """Closed-loop throughput vs concurrent users per scenario; bars = 95 % CI across repeats."""
    levels = [p.x for panel in panels for s in panel.series for p in s.points]

    def axes(ax: Axes) -> None:
        ticks_at(ax, levels, log=True)
        ax.set_ylim(bottom=0)
        ax.set(xlabel="concurrent users (closed loop)", ylabel="requests/s")

    fig = _panels(panels, palette, "Throughput vs concurrency", axes)
    return fig, "Higher is better; where the two hue families separate by more than their error bars, it is real."


def latency_vs_throughput(panels: Sequence[Panel], palette: Palette, slo_ms: float) -> Drawn:
    """Open loop: p99 latency (from intended send time) vs achieved rate, with the SLO line."""

    def axes(ax: Axes) -> None:
        ax.axhline(slo_ms, color="#c62828", linestyle="--", linewidth=1)
        ax.text(0.99, slo_ms, f" p99 target {slo_ms:g} ms", color="#c62828", fontsize=7, ha="right", va="bottom",
                transform=ax.get_yaxis_transform())  # fmt: skip
        plain_log(ax, "y")
        ax.set(xlabel="achieved requests/s (open loop, fixed rate)", ylabel="p99 latency (ms, log)")

    fig = _panels(panels, palette, "Latency vs throughput (open loop)", axes)
    return fig, (
        f"Read each setup's capacity where its curve crosses the {slo_ms:g} ms line: the further right, the more "
        "traffic it takes within the target."
    )


def overload(panels: Sequence[Panel], palette: Palette) -> Drawn:
    """Closed-loop saturation: latency by percentile (x = p50 … p99.9), dots and lines on log axes."""
    pos = {p: 1 / (1 - p / 100) for p in OVERLOAD_PERCENTILES}

    def axes(ax: Axes) -> None:
        ax.set_xscale("log")
        ticks_at(ax, list(pos.values()))
        ax.set_xticks(list(pos.values()), [f"p{p:g}" for p in OVERLOAD_PERCENTILES])
        plain_log(ax, "y")
        ax.set(xlabel="percentile", ylabel="latency (ms, log)")

    fig = _panels(panels, palette, "Behaviour under overload (closed loop, highest concurrency)", axes, pos)
    return fig, (
        "Saturated servers queue requests: lower lines queue less; the gap at p99.9 shows which stack's tail "
        "degrades first. Not a latency at a given traffic level (see the open-loop chart for that)."
    )


@dataclass(frozen=True)
class Effect:
    """One ratio with its CI; `favours` names the framework (or key of HUES) it favours when significant."""

    label: str
    ratio: float
    lo: float | None = None
    hi: float | None = None
    favours: str | None = None
    invalid: str = ""


def forest(effects: Sequence[Effect], *, title: str, left: str, right: str, noise_floor: float | None) -> Figure:
    """Ratios with CIs on a log axis around 1; coloured by the side they favour, hollow grey when not significant."""
    lines = max([e.label.count("\n") + 1 for e in effects] + [1])  # wrapped labels need taller rows
    fig = figure(8.6, (0.26 * lines + 0.16) * max(len(effects), 2) + 1.5)
    ax = fig.subplots()
    ys = list(range(len(effects)))[::-1]
    finite = [v for e in effects for v in (e.ratio, e.lo, e.hi) if v is not None and math.isfinite(v) and v > 0]
    span = max([abs(math.log(v)) for v in finite] + [math.log(1.25)])
    if noise_floor:
        ax.axvspan(1 - noise_floor, 1 + noise_floor, color="#eeeeee", zorder=0)
    ax.axvline(1.0, color="#424242", linewidth=1)
    for y, e in zip(ys, effects, strict=True):
        if e.invalid or not (math.isfinite(e.ratio) and e.ratio > 0):
            mark_invalid(ax, y, e.invalid or "no value", vertical=False)
            continue
        c = colour(e.favours) if e.favours else NEUTRAL
        if e.lo is not None and e.hi is not None:
            ax.plot([e.lo, e.hi], [y, y], color=c, linewidth=2.2, solid_capstyle="butt")
        ax.plot([e.ratio], [y], marker="o", ms=8, color=c, markerfacecolor=c if e.favours else "white")
        ax.text(e.ratio, y + 0.22, f"{e.ratio:.2f}×", fontsize=7, ha="center", color=c)
    ax.set_xscale("log")
    lim = math.exp(span * 1.15)
    ax.set_xlim(1 / lim, lim)
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 1.5, 2.0, 3.0, 5.0)))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.3g}×"))
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_yticks(ys, [e.label for e in effects])
    ax.set_ylim(-0.7, len(effects) - 0.3)
    ax.set_title(title, fontweight="bold")
    ax.set_xlabel(f"← {left}          ratio (log scale)          {right} →")
    ax.grid(alpha=0.3, axis="x")
    shown = [k for k in SIDE_LABEL if any(e.favours == k for e in effects)]
    handles = [Line2D([], [], color=colour(k), marker="o", linestyle="-", label=SIDE_LABEL[k]) for k in shown]
    handles.append(Line2D([], [], color=NEUTRAL, marker="o", markerfacecolor="white", linestyle="-",
                          label="not significant"))  # fmt: skip
    if noise_floor:
        handles.append(Line2D([], [], color="#dddddd", linewidth=8, label=f"A/A noise floor ±{noise_floor:.1%}"))
    legend_below(fig, handles)
    return fig


def effects(rows: Sequence[Effect], noise_floor: float | None) -> Drawn:
    """FastAPI ÷ Flask throughput per scenario, best setup vs best setup."""
    fig = forest(rows, title="FastAPI ÷ Flask throughput, best setup of each", left="Flask faster",
                 right="FastAPI faster", noise_floor=noise_floor)  # fmt: skip
    return fig, "Filled dots are significant and sit on the side of the faster framework; hollow grey ones are ties."


def decomposition(rows: Sequence[Effect], noise_floor: float | None) -> Drawn:
    """Framework effect (same driver) vs driver effect (same framework) per scenario."""
    fig = forest(rows, title="Where the difference comes from", left="second term faster",
                 right="first term faster", noise_floor=noise_floor)  # fmt: skip
    return fig, (
        "Each row holds one thing fixed: a framework row compares the frameworks on the same kind of driver, a "
        "driver row compares drivers inside one framework; the larger |log ratio| is the bigger lever."
    )


def dots(categories: Sequence[str], series: Sequence[Series], palette: Palette, *, ylabel: str,
         title: str, ref: float | None = None) -> Figure:  # fmt: skip
    """Values per category (x = category index) as dots with CIs; outliers go to a separate panel on the right."""
    values = [p.y for s in series for p in s.points if p.ok]
    split = split_outliers(values)
    fig = figure(max(6.5, 1.3 * len(categories) + 3), 4.0)
    if split:
        ax, out_ax = fig.subplots(1, 2, sharey=False, gridspec_kw={"width_ratios": [4, 1]})
    else:
        ax, out_ax = fig.subplots(), None
    width = 0.7 / max(len(series), 1)
    invalid = 0
    for i, s in enumerate(series):
        c, m = palette.colour(s.setup), palette.marker(s.setup)
        for p in s.points:
            x = p.x + (i - (len(series) - 1) / 2) * width
            if not p.ok:
                align = "left" if p.x == 0 else "right" if p.x == len(categories) - 1 else "center"
                mark_invalid(ax, x, f"{s.setup}: {p.invalid}", row=invalid % 4, align=align)
                invalid += 1
                continue
            target = out_ax if (split and out_ax is not None and p.y >= split[1]) else ax
            tx = 0.0 + i * 0.1 if target is out_ax else x
            target.plot([tx], [p.y], marker=m, color=c, ms=7, linestyle="none")
            if p.lo is not None and p.hi is not None:
                target.errorbar([tx], [p.y], yerr=[[max(0.0, p.y - p.lo)], [max(0.0, p.hi - p.y)]], color=c,
                                capsize=3, linestyle="none")  # fmt: skip
            if target is out_ax:
                out_ax.annotate(f"{s.setup}\n{categories[int(p.x)]}: {p.y:,.0f}", (tx, p.y), fontsize=7,
                                xytext=(6, 0), textcoords="offset points", va="center")  # fmt: skip
    if ref is not None:
        ax.axhline(ref, color="#424242", linewidth=1, linestyle=":")
    ax.set_xticks(range(len(categories)), list(categories))
    ax.set_xlim(-0.6, len(categories) - 0.4)
    ax.set_ylim(0, (split[0] if split else max([*values, ref or 0, 1e-9])) * 1.15)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    if out_ax is not None and split:
        out_ax.set_xticks([])
        out_ax.set_xlim(-0.2, 1.2)
        out_ax.set_title("outliers (own scale)", fontsize=8)
        out_ax.grid(alpha=0.3, axis="y")
    fig.suptitle(title, fontweight="bold")
    legend_below(fig, palette.handles({s.setup for s in series}) + _invalid_handle(invalid))
    return fig


def baseline_fraction(categories: Sequence[str], series: Sequence[Series], palette: Palette) -> Drawn:
    """Each app's throughput as a fraction of its stack's bare baseline (1 = as fast as the stack allows)."""
    fig = dots(categories, series, palette, ylabel="app rps ÷ baseline rps", ref=1.0,
               title="Our app as a fraction of its stack's baseline")  # fmt: skip
    return fig, (
        "Close to 1: the stack's floor sets the speed and the app adds little; a low dot means our app code, not "
        "the framework, costs the throughput."
    )


def cpu_efficiency(categories: Sequence[str], series: Sequence[Series], palette: Palette) -> Drawn:
    """Requests per server CPU-second per scenario and setup."""
    fig = dots(categories, series, palette, ylabel="requests per server CPU-second",
               title="CPU efficiency (higher is better)")  # fmt: skip
    return fig, "Higher dots serve more requests per CPU-second: the cost per request on your hardware."


def memory(categories: Sequence[str], series: Sequence[Series], palette: Palette) -> Drawn:
    """Peak RSS per serving process per scenario and setup."""
    fig = dots(categories, series, palette, ylabel="RSS per worker process (MB)",
               title="Memory per worker process (peak RSS)")  # fmt: skip
    return fig, "Lower is better: multiply by your worker count to size a host."


@dataclass(frozen=True)
class StartTimes:
    """One framework's cold-start samples (s), their median, and the import-only time with how it was taken."""

    framework: str
    samples: tuple[float, ...]
    median_s: float
    import_s: float | None


def cold_start(rows: Sequence[StartTimes]) -> Drawn:
    """Each start as a dot, the median as a bar-less tick, the import-only time as a hollow diamond."""
    fig = figure(6.4, 3.2)
    ax = fig.subplots()
    for y, r in enumerate(rows):
        c = colour(r.framework)
        ax.plot(r.samples, [y] * len(r.samples), "o", color=c, alpha=0.6, ms=6)
        ax.plot([r.median_s], [y], "|", color=c, ms=22, mew=3)
        if r.import_s is not None and math.isfinite(r.import_s):
            ax.plot([r.import_s], [y], "D", color=c, markerfacecolor="white", ms=7)
    ax.set_yticks(range(len(rows)), [r.framework for r in rows])
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(left=0)
    ax.set_xlabel("seconds")
    ax.grid(alpha=0.3, axis="x")
    ax.set_title("Cold start", fontweight="bold")
    legend_below(fig, [
        Line2D([], [], color="#555", marker="o", linestyle="none", label="one start: process start → first 200"),
        Line2D([], [], color="#555", marker="|", ms=12, mew=3, linestyle="none", label="median start"),
        Line2D([], [], color="#555", marker="D", markerfacecolor="white", linestyle="none",
               label="import only (separate `python -c` runs, minus interpreter start)"),
    ])  # fmt: skip
    return fig, (
        "Further left starts sooner. Import-only is timed in separate interpreter runs, so it can exceed a full "
        "start whose imports were already in the page cache."
    )
