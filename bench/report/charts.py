"""The report's charts (matplotlib, Agg): one colour per framework, one line style / hatch per setup."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy.typing as npt

matplotlib.use("Agg")

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from bench.analyse.result import CURVE_PERCENTILES, GroupStats, Latency, Result

FloatArray = npt.NDArray[np.float64]
FRAMEWORK_COLOR = {"fastapi": "#009688", "flask": "#333333"}
_FALLBACK_COLOR = "#9e9e9e"
SETUP_STYLE: dict[str, tuple[Any, str, str]] = {  # line style, marker, bar hatch
    "fastapi-uvicorn": ("-", "o", ""),
    "fastapi-gunicorn": ("--", "s", "//"),
    "flask-gunicorn-sync": ("-", "o", ""),
    "flask-gunicorn-gthread": ("--", "s", "//"),
}
_EXTRA_STYLES: list[tuple[Any, str, str]] = [(":", "^", ".."), ("-.", "D", "xx")]
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
DPI = 100


@dataclass(frozen=True)
class Chart:
    """A rendered chart: file name, title, caption and PNG bytes."""

    name: str
    title: str
    caption: str
    png: bytes

    @property
    def data_uri(self) -> str:
        """The PNG as a data: URI for inlining into HTML."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def colour(framework: str) -> str:
    """The colour used for a framework everywhere."""
    return FRAMEWORK_COLOR.get(framework, _FALLBACK_COLOR)


def style(server: str) -> tuple[Any, str, str]:
    """(line style, marker, hatch) of a setup."""
    if server in SETUP_STYLE:
        return SETUP_STYLE[server]
    return _EXTRA_STYLES[sum(map(ord, server)) % len(_EXTRA_STYLES)]


def _grid(n: int, title: str) -> tuple[Figure, list[Axes]]:
    ncols = min(3, max(n, 1))
    nrows = math.ceil(max(n, 1) / ncols)
    fig = Figure(figsize=(4.4 * ncols, 3.3 * nrows + 0.9), dpi=DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=13, fontweight="bold")
    return fig, axes[:n]


def _legend(fig: Figure, a: Result, *, bars: bool = False) -> None:
    handles: list[Any] = []
    for server in a.servers:
        fw = a.framework_of(server)
        ls, marker, hatch = style(server)
        if bars:
            handles.append(Patch(facecolor=colour(fw), hatch=hatch, edgecolor="white", label=server))
        else:
            handles.append(Line2D([], [], color=colour(fw), linestyle=ls, marker=marker, label=server))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(4, len(handles)), frameon=False)


def _distribution(latency: Latency, edges_ms: FloatArray) -> FloatArray:
    """Share of requests in each latency bin (edges in ms)."""
    counts, _ = np.histogram(latency.values_ms, bins=edges_ms, weights=latency.counts)
    total = float(sum(latency.counts))
    return np.asarray(counts / total if total else counts, dtype=np.float64)


def _plain_log_ticks(ax: Axes, axis: str = "y") -> None:
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(ticker.NullFormatter())


def _to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def throughput(a: Result) -> Figure | None:
    """Median rps vs concurrent users per scenario, with the 95 % CI as a band."""
    if not a.groups:
        return None
    fig, axes = _grid(len(a.scenarios), "Throughput vs concurrency (median, 95 % CI band)")
    for ax, scenario in zip(axes, a.scenarios, strict=True):
        for server in a.servers:
            gs = sorted(
                (g for g in a.groups.values() if g.server == server and g.scenario == scenario), key=lambda g: g.users
            )
            if not gs:
                continue
            ls, marker, _ = style(server)
            c = colour(gs[0].framework)
            x = [g.users for g in gs]
            ax.plot(x, [g.rps_median for g in gs], linestyle=ls, marker=marker, color=c, label=server)
            lo = [g.rps_ci[0] if g.rps_ci else g.rps_median for g in gs]
            hi = [g.rps_ci[1] if g.rps_ci else g.rps_median for g in gs]
            if len(x) > 1:
                ax.fill_between(x, lo, hi, color=c, alpha=0.15, linewidth=0)
            else:
                ax.errorbar(
                    x,
                    [gs[0].rps_median],
                    # A CI from per-second samples need not contain the window's median: clip, never go negative.
                    yerr=[[max(0.0, gs[0].rps_median - lo[0])], [max(0.0, hi[0] - gs[0].rps_median)]],
                    color=c,
                    capsize=4,
                    linestyle="none",
                )
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(ticker.ScalarFormatter())
        ax.set_title(scenario)
        ax.set_xlabel("concurrent users (closed loop)")
        ax.set_ylabel("throughput (requests/s)")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    _legend(fig, a)
    return fig


def _bars(ax: Axes, groups: list[GroupStats], values: Callable[[GroupStats], list[float]], n: int) -> None:
    width = 0.8 / max(len(groups), 1)
    for i, g in enumerate(groups):
        x = np.arange(n) + (i - (len(groups) - 1) / 2) * width
        _, _, hatch = style(g.server)
        ax.bar(x, values(g), width, color=colour(g.framework), hatch=hatch, edgecolor="white", label=g.server)


def latency_percentiles(a: Result) -> Figure | None:
    """p50/p90/p99/p99.9 per setup at each scenario's highest concurrency (grouped bars, log scale)."""
    if not a.groups:
        return None
    fig, axes = _grid(len(a.scenarios), "Latency percentiles at the highest concurrency (median over repeats)")
    for ax, scenario in zip(axes, a.scenarios, strict=True):
        groups = a.top_groups(scenario)
        _bars(ax, groups, lambda g: [g.p50_median, g.p90_median, g.p99_median, g.p999_median], len(PERCENTILES))
        ax.set_xticks(range(len(PERCENTILES)), [f"p{p:g}" for p in PERCENTILES])
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_title(f"{scenario} — {groups[0].users if groups else '?'} users")
        ax.set_ylabel("latency (ms, log scale)")
        ax.grid(alpha=0.3, axis="y", which="both")
    _legend(fig, a, bars=True)
    return fig


def latency_distribution(a: Result) -> Figure | None:
    """Overlay of the HDR latency distributions per setup at each scenario's highest concurrency."""
    shown = {s: [g for g in a.top_groups(s) if g.latency is not None] for s in a.scenarios}
    scenarios = [s for s in a.scenarios if shown[s]]
    if not scenarios:
        return None
    fig, axes = _grid(len(scenarios), "Latency distribution at the highest concurrency (HDR histograms)")
    for ax, scenario in zip(axes, scenarios, strict=True):
        mine = [(g, g.latency) for g in shown[scenario] if g.latency is not None]
        lo = min(max(h.min_ms, 0.001) for _, h in mine)
        hi = max(h.max_ms for _, h in mine)
        edges = np.geomspace(lo * 0.9, hi * 1.1, 60)
        for g, h in mine:
            ls, _, _ = style(g.server)
            share = _distribution(h, edges) * 100
            ax.stairs(share, edges, color=colour(g.framework), linestyle=ls, linewidth=1.6, label=g.server)
        ax.set_xscale("log")
        _plain_log_ticks(ax, "x")
        ax.set_title(f"{scenario} — {mine[0][0].users} users")
        ax.set_xlabel("latency (ms, log scale)")
        ax.set_ylabel("share of requests (%)")
        ax.grid(alpha=0.3)
    _legend(fig, a)
    return fig


def percentile_curves(a: Result) -> Figure | None:
    """HDR percentile curves (latency by percentile, tail stretched) at each scenario's highest concurrency."""
    if not a.groups:
        return None
    fig, axes = _grid(len(a.scenarios), "Latency by percentile at the highest concurrency (HDR)")
    x = [1 / (1 - p / 100) for p in CURVE_PERCENTILES]
    plotted = False
    for ax, scenario in zip(axes, a.scenarios, strict=True):
        for g in a.top_groups(scenario):
            if g.latency is None:
                continue
            y = list(g.latency.curve_ms)
            ls, marker, _ = style(g.server)
            ax.plot(x, y, linestyle=ls, marker=marker, markersize=3, color=colour(g.framework), label=g.server)
            plotted = True
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_xticks(x[::2], [f"p{p:g}" for p in CURVE_PERCENTILES[::2]])
        ax.minorticks_off()
        ax.set_title(scenario)
        ax.set_xlabel("percentile")
        ax.set_ylabel("latency (ms, log scale)")
        ax.grid(alpha=0.3, which="both")
    _legend(fig, a)
    return fig if plotted else None


def _per_scenario_bars(a: Result, title: str, ylabel: str, value: Callable[[GroupStats], float]) -> Figure | None:
    if not a.groups:
        return None
    fig = Figure(figsize=(max(6.0, 1.6 * len(a.scenarios) + 2), 4.2), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    width = 0.8 / max(len(a.servers), 1)
    for i, server in enumerate(a.servers):
        xs, ys = [], []
        for j, scenario in enumerate(a.scenarios):
            g = next((g for g in a.top_groups(scenario) if g.server == server), None)
            if g is not None and math.isfinite(value(g)):
                xs.append(j + (i - (len(a.servers) - 1) / 2) * width)
                ys.append(value(g))
        _, _, hatch = style(server)
        fw = a.framework_of(server)
        ax.bar(xs, ys, width, color=colour(fw), hatch=hatch, edgecolor="white", label=server)
    ax.set_xticks(range(len(a.scenarios)), a.scenarios)
    ax.set_xlabel("scenario (at its highest concurrency)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontweight="bold")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(frameon=False, fontsize=8)
    return fig


def cpu_efficiency(a: Result) -> Figure | None:
    """Requests served per server CPU-second, per scenario and setup."""
    return _per_scenario_bars(
        a, "CPU efficiency (higher is better)", "requests per server CPU-second", lambda g: g.rps_per_cpu_s
    )


def rss_per_worker(a: Result) -> Figure | None:
    """Peak RSS per server process, per scenario and setup."""
    return _per_scenario_bars(
        a, "Memory per worker process (peak RSS)", "RSS per process (MB)", lambda g: g.rss_per_worker_mb
    )


def cold_start(a: Result) -> Figure | None:
    """Cold start time (and import time) per framework, from ergonomics.json."""
    if a.ergonomics is None:
        return None
    cs = a.ergonomics.cold_start
    fig = Figure(figsize=(6.0, 3.6), dpi=DPI, layout="constrained")
    ax = fig.subplots()
    fws = list(FRAMEWORK_COLOR)
    for i, fw in enumerate(fws):
        d = cs.of(fw)
        ax.bar(i - 0.2, d.median_s, 0.38, color=colour(fw), label=f"{fw}: start to first 200")
        ax.bar(
            i + 0.2,
            d.import_s,
            0.38,
            color=colour(fw),
            alpha=0.45,
            hatch="//",
            edgecolor="white",
            label=f"{fw}: import only",
        )
        samples = d.samples
        ax.scatter([i - 0.2] * len(samples), samples, color="#ff7043", s=12, zorder=3)
    ax.set_xticks(range(len(fws)), fws)
    ax.set_ylabel("seconds")
    ax.set_title("Cold start (median; dots = samples)", fontweight="bold")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(frameon=False, fontsize=8)
    return fig


CHARTS: tuple[tuple[str, str, str, Callable[[Result], Figure | None]], ...] = (
    ("throughput", "Throughput vs concurrency", "Median requests/s over repeats; band = 95 % CI.", throughput),
    (
        "latency_percentiles",
        "Latency percentiles",
        "Medians over repeats of each percentile; log scale.",
        latency_percentiles,
    ),
    (
        "latency_distribution",
        "Latency distribution",
        "All repeats' HDR histograms merged per setup.",
        latency_distribution,
    ),
    (
        "percentile_curves",
        "Latency by percentile",
        "From the merged HDR histograms; x stretches the tail.",
        percentile_curves,
    ),
    (
        "cpu_efficiency",
        "CPU efficiency",
        "requests ÷ server CPU-seconds (user+system, whole process tree).",
        cpu_efficiency,
    ),
    (
        "rss_per_worker",
        "Memory per worker",
        "Peak mean RSS of the processes that serve requests (a gunicorn arbiter or uvicorn manager is not counted).",
        rss_per_worker,
    ),
    ("cold_start", "Cold start", "From ergonomics.json: process start until /health answers.", cold_start),
)


def render_charts(a: Result, out_dir: Path | None = None) -> dict[str, Chart]:
    """Render every chart that has data; write charts/<name>.png under out_dir when given."""
    charts: dict[str, Chart] = {}
    for name, title, caption, make in CHARTS:
        fig = make(a)
        if fig is None:
            continue
        chart = Chart(name, title, caption, _to_png(fig))
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / f"{name}.png").write_bytes(chart.png)
        charts[name] = chart
    return charts
