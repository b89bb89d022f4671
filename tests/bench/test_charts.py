"""Every chart draws from its typed inputs with invalid cells present: the reason is written, the legend is outside."""

from __future__ import annotations

import math

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from bench.report import charts
from bench.report.chartkit import HUES, Palette, Panel, Point, Series, short, split_outliers, to_png

REASON = "loadgen saturated (99% > 80% of a core)"


def _series(setup: str, framework: str, xs: tuple[float, ...], ys: tuple[float, ...], bad_x: float) -> Series:
    pts = [Point(x, y, y * 0.95, y * 1.05) for x, y in zip(xs, ys, strict=True)]
    return Series(setup, framework, (*pts, Point(bad_x, invalid=REASON)))


def _panels(xs: tuple[float, ...], bad_x: float) -> list[Panel]:
    return [
        Panel(
            scenario,
            (
                _series("fastapi-uvicorn", "fastapi", xs, tuple(100.0 + 10 * i for i in range(len(xs))), bad_x),
                _series("flask-gunicorn-sync", "flask", xs, tuple(80.0 + 5 * i for i in range(len(xs))), bad_x),
            ),
        )
        for scenario in ("item", "upstream")
    ]


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def _check(drawn: charts.Drawn) -> Figure:
    fig, caption = drawn
    assert caption
    assert "\n" not in caption
    assert to_png(fig).startswith(b"\x89PNG")
    assert fig.legends, "the legend is a figure legend, outside every axis"
    assert all(ax.get_legend() is None for ax in fig.axes)
    return fig


def _palette(panels: list[Panel]) -> Palette:
    palette = Palette()
    for panel in panels:
        palette.add(panel.series)
    return palette


def test_throughput_marks_invalid_cells_and_ticks_only_measured_levels() -> None:
    panels = _panels((32.0, 128.0), 64.0)
    fig = _check(charts.throughput(panels, _palette(panels)))
    # Both setups are invalid there for the same reason: written once per panel, without a setup name.
    assert sum(short(REASON) == t for t in _texts(fig)) == len(panels)
    assert sorted(fig.axes[0].get_xticks()) == [32.0, 64.0, 128.0]  # 64 has an invalid marker, so a tick


def test_latency_vs_throughput_draws_the_slo_line() -> None:
    panels = _panels((200.0, 400.0, 800.0), 1600.0)
    fig = _check(charts.latency_vs_throughput(panels, _palette(panels), 100.0))
    assert any("p99 target 100 ms" in t for t in _texts(fig))
    assert sum(short(REASON) == t for t in _texts(fig)) == len(panels)
    assert fig.axes[0].get_yscale() == "log"


def test_overload_is_dots_on_log_axes_not_bars() -> None:
    panels = _panels((50.0, 90.0, 99.0), 99.9)
    fig = _check(charts.overload(panels, _palette(panels)))
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert not ax.patches  # no bars
    assert [t.get_text() for t in ax.get_xticklabels()] == ["p50", "p90", "p99", "p99.9"]


@pytest.mark.parametrize("draw", ["overload", "latency_vs_throughput", "throughput"])
def test_a_panel_whose_every_cell_is_invalid_still_draws(draw: str) -> None:
    """A smoke run on a stolen host had a scenario with no valid cell: the log axis had no data and raised."""
    panels = _panels((50.0, 90.0, 99.0), 99.9)
    dead = Panel(
        "health", tuple(Series(s.setup, s.framework, (Point(99.9, invalid=REASON),)) for s in panels[0].series)
    )
    panels.append(dead)
    make = {
        "overload": lambda: charts.overload(panels, _palette(panels)),
        "latency_vs_throughput": lambda: charts.latency_vs_throughput(panels, _palette(panels), 100.0),
        "throughput": lambda: charts.throughput(panels, _palette(panels)),
    }[draw]
    fig = _check(make())
    assert sum(short(REASON) == t for t in _texts(fig)) == len(panels)


@pytest.mark.parametrize("draw", [charts.effects, charts.decomposition])
def test_forest_colours_significance_by_direction(draw: object) -> None:
    rows = [
        charts.Effect("upstream", 2.0, 1.8, 2.2, "fastapi"),
        charts.Effect("item", 0.8, 0.75, 0.85, "flask"),
        charts.Effect("list", 1.0, 0.95, 1.05, None),
        charts.Effect("health", math.nan, invalid=REASON),
    ]
    assert callable(draw)
    fig = _check(draw(rows, 0.02))
    ax = fig.axes[0]
    colours = {line.get_color() for line in ax.get_lines() if line.get_marker() == "o"}
    assert {HUES["fastapi"][0], HUES["flask"][0], charts.NEUTRAL} <= colours
    assert any(short(REASON) == t for t in _texts(fig))
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "A/A noise floor ±2.0%" in labels


def _dot_series(values: dict[str, tuple[float, float]]) -> list[Series]:
    return [
        Series("fastapi-uvicorn", "fastapi", (Point(0, values["fa"][0]), Point(1, values["fa"][1]))),
        Series("flask-gunicorn-sync", "flask", (Point(0, values["fl"][0]), Point(1, invalid=REASON))),
    ]


@pytest.mark.parametrize("draw", [charts.cpu_efficiency, charts.memory, charts.baseline_fraction])
def test_dot_charts_mark_invalid_cells(draw: object) -> None:
    series = _dot_series({"fa": (0.8, 0.7), "fl": (0.9, 0.0)})
    assert callable(draw)
    fig = _check(draw(["item", "list"], series, Palette().add(series)))
    assert any(short(f"flask-gunicorn-sync: {REASON}") == t for t in _texts(fig))  # one setup: named
    assert len(fig.axes) == 1  # nothing far out: one panel


def test_an_outlier_moves_to_its_own_panel_so_the_rest_keeps_its_range() -> None:
    series = [
        Series("fastapi-uvicorn", "fastapi", (Point(0, 500), Point(1, 450), Point(2, 520))),
        Series("flask-gunicorn-gthread", "flask", (Point(0, 3143), Point(1, 480), Point(2, invalid=REASON))),
    ]
    fig = _check(charts.cpu_efficiency(["health", "item", "list"], series, Palette().add(series)))
    main, outliers = fig.axes
    assert main.get_ylim()[1] < 1000  # the 3,143 does not flatten the others
    assert any("3,143" in t for t in _texts(fig))
    assert outliers.get_title() == "outliers (own scale)"


def test_split_outliers_needs_a_clear_gap() -> None:
    assert split_outliers([500, 450, 520, 3143]) == (520, 3143)
    assert split_outliers([500, 450, 520, 700]) is None


def test_cold_start_shows_samples_median_and_import_time() -> None:
    rows = [
        charts.StartTimes("fastapi", (0.9, 1.0, 1.1), 1.0, 0.5),
        charts.StartTimes("flask", (0.7, 0.71), 0.705, 0.858),
    ]
    fig = _check(charts.cold_start(rows))
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("import only" in label for label in labels)


def test_setups_of_a_framework_share_its_hue() -> None:
    palette = Palette().add(
        [Series(s, fw, ()) for s, fw in (("a", "fastapi"), ("b", "fastapi"), ("c", "flask"), ("d", "flask"))]
    )
    assert palette.colour("a") in HUES["fastapi"]
    assert palette.colour("b") in HUES["fastapi"]
    assert palette.colour("a") != palette.colour("b")
    assert {palette.colour("c"), palette.colour("d")} <= set(HUES["flask"])
