"""Every chart of a report, drawn from the analysis through the adapter, written to charts/<name>.png."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bench.report import adapt, charts
from bench.report.adapt import Analysis
from bench.report.chartkit import Chart, Palette, Panel, to_png
from bench.report.charts import Drawn

TITLES = {
    "effects": "FastAPI ÷ Flask, every scenario",
    "decomposition": "Framework effect vs driver effect",
    "baseline_fraction": "Our app ÷ its stack's baseline",
    "latency_vs_throughput": "Latency vs throughput (open loop)",
    "throughput": "Throughput vs concurrency (closed loop)",
    "overload": "Behaviour under overload",
    "cpu_efficiency": "CPU efficiency",
    "memory": "Memory per worker",
    "cold_start": "Cold start",
}


def _makers(a: Analysis, palette: Palette, slo_ms: float) -> dict[str, Callable[[], Drawn | None]]:
    floor = adapt.noise_floor(a)

    def when(ok: object, draw: Callable[[], Drawn]) -> Drawn | None:
        return draw() if ok else None

    thr, ovl, opn = adapt.throughput_panels(a), adapt.overload_panels(a), adapt.open_panels(a)
    eff, dec = adapt.effect_rows(a, floor), adapt.decomposition_rows(a)
    base_cats, base = adapt.baseline_series(a)
    cpu_cats, cpu = adapt.per_setup_series(a, "rps_per_cpu_s")
    mem_cats, mem = adapt.per_setup_series(a, "rss_per_worker_mb")
    starts = adapt.start_times(a)
    for group in (thr, ovl, opn):
        for panel in group:
            palette.add(panel.series)
    palette.add(base + cpu + mem)
    return {
        "effects": lambda: when(any(e.ratio == e.ratio for e in eff), lambda: charts.effects(eff, floor)),
        "decomposition": lambda: when(dec, lambda: charts.decomposition(dec, floor)),
        "baseline_fraction": lambda: when(base, lambda: charts.baseline_fraction(base_cats, base, palette)),
        "latency_vs_throughput": lambda: when(_values(opn), lambda: charts.latency_vs_throughput(opn, palette, slo_ms)),
        "throughput": lambda: when(_values(thr), lambda: charts.throughput(thr, palette)),
        "overload": lambda: when(_values(ovl), lambda: charts.overload(ovl, palette)),
        "cpu_efficiency": lambda: when(a.groups, lambda: charts.cpu_efficiency(cpu_cats, cpu, palette)),
        "memory": lambda: when(a.groups, lambda: charts.memory(mem_cats, mem, palette)),
        "cold_start": lambda: when(starts, lambda: charts.cold_start(starts)),
    }


def _values(panels: list[Panel]) -> bool:
    """At least one valid value to draw (a panel of invalid markers alone says nothing on a log axis)."""
    return any(p.ok for panel in panels for s in panel.series for p in s.points)


def render_charts(a: Analysis, out_dir: Path | None = None, *, slo_ms: float = 100.0) -> dict[str, Chart]:
    """Render every chart that has data; write charts/<name>.png under out_dir when given."""
    out: dict[str, Chart] = {}
    palette = Palette()
    for name, make in _makers(a, palette, slo_ms).items():
        drawn = make()
        if drawn is None:
            continue
        fig, caption = drawn
        chart = Chart(name, TITLES[name], caption, to_png(fig))
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / f"{name}.png").write_bytes(chart.png)
        out[name] = chart
    return out
