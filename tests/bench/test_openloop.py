"""Open loop without Locust: the send schedule on a fake clock, the rate rule, fixed rates and the capacity search."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bench.cli import build_parser
from bench.config import ConfigError, resolve_settings
from bench.drive.openloop import (
    CapacitySearch,
    OpenCell,
    OpenLoopPhase,
    OpenLoopSettings,
    Probe,
    capacity_at_slo,
    closed_peaks,
    fixed_rates,
    rate_shortfall_reason,
    users_for_rate,
)

T0 = 1_000.0


@pytest.mark.parametrize(
    ("rate", "bound_s", "processes", "max_users", "expected"),
    [(250, 1.0, 1, 10_000, 250), (251, 1.0, 2, 10_000, 252), (0.5, 1.0, 1, 10_000, 1), (9000, 1.0, 2, 5001, 5000)],
)
def test_users_are_sized_so_each_sends_no_more_often_than_the_latency_bound(
    rate: float, bound_s: float, processes: int, max_users: int, expected: int
) -> None:
    assert users_for_rate(rate, bound_s, processes=processes, max_users=max_users) == expected


def test_a_cell_more_than_2_percent_below_its_target_rate_is_invalid() -> None:
    assert rate_shortfall_reason(100.0, 98.0, 100, 0.02) == ""
    reason = rate_shortfall_reason(100.0, 97.0, 100, 0.02)
    assert "3.0% below the target 100.0 rps" in reason
    # One request of the window is counting slack: 97.9 of 100 over 2 s is 1 request short of 98 %.
    assert rate_shortfall_reason(100.0, 97.9, 2, 0.02) == ""


def _row(
    server: str, scenario: str, rps: float, *, repeat: int = 1, valid: bool = True, **extra: Any
) -> dict[str, Any]:
    return {
        "server": server,
        "scenario": scenario,
        "rps": rps,
        "repeat": repeat,
        "valid": valid,
        "requests": 1,
        **extra,
    }


FRAMEWORK_OF = {"fast-a": "fastapi", "fast-b": "fastapi", "flask-a": "flask", "baseline-flask": "flask"}


def test_fixed_rates_are_fractions_of_the_slower_frameworks_best_setup() -> None:
    rows = [
        _row("fast-a", "item", 800),
        _row("fast-a", "item", 900),  # a second concurrency level: the peak counts
        _row("fast-b", "item", 700),
        _row("flask-a", "item", 600),
        _row("flask-a", "item", 5000, valid=False),  # invalid cells never count
        _row("baseline-flask", "item", 2000),  # baselines are not a framework's capacity
        _row("flask-a", "item", 3000, control_of="flask-a"),  # nor are A/A duplicates
        _row("fast-a", "list", 300),  # list has no Flask cell: no fixed rates
    ]
    rates = fixed_rates(OpenLoopSettings(fractions=[0.5, 0.25]), rows, FRAMEWORK_OF)
    assert rates == {"item": [150.0, 300.0]}
    assert fixed_rates(OpenLoopSettings(rates=[40, 20]), rows, FRAMEWORK_OF) == {"item": [20, 40], "list": [20, 40]}


def test_the_closed_loop_peak_is_the_median_over_repeats_of_each_repeats_best() -> None:
    rows = [_row("fast-a", "item", rps, repeat=r) for r, rps in [(1, 100), (1, 120), (2, 90), (3, 200)]]
    rows.append(_row("fast-a", "item", 999, mode="open"))
    assert closed_peaks(rows) == {("fast-a", "item"): 120}


def _curve(rate: float) -> float:
    """A monotone p99 curve (ms) of a server whose p99 reaches 100 ms at exactly 900 rps."""
    return math.inf if rate >= 1000 else 10 / (1 - rate / 1000)


@pytest.mark.parametrize("start", [1000.0, 300.0, 2500.0])
def test_the_capacity_search_finds_the_highest_rate_under_the_target(start: float) -> None:
    probed: list[float] = []

    def probe(rate: float) -> Probe:
        probed.append(rate)
        return Probe(rate, valid=True, p99_ms=_curve(rate))

    search = CapacitySearch(slo_p99_ms=100, steps=10, tolerance=0.02)
    capacity = search.run(start, probe)
    assert 900 * 0.97 <= capacity <= 900  # never above the true answer, within the tolerance below it
    assert len(probed) <= 10
    assert probed[0] == start


def test_an_invalid_probe_fails_and_no_passing_probe_means_capacity_zero() -> None:
    search = CapacitySearch(slo_p99_ms=100, steps=4)
    assert search.run(800, lambda rate: Probe(rate, valid=False, p99_ms=5)) == 0.0
    assert [p.rate for p in search.probes] == [800, 400, 200, 100]


def test_the_phase_runs_fixed_rates_then_the_search_and_the_rows_give_the_capacity_back() -> None:
    closed = [_row("fast-a", "item", 1000), _row("flask-a", "item", 500), _row("flask-a", "order", 50)]
    settings = OpenLoopSettings(fractions=[0.5], capacity_steps=6, capacity_tolerance=0.02, scenarios=["item"])
    phase = OpenLoopPhase(settings, closed, FRAMEWORK_OF)
    measured: list[OpenCell] = []

    def measure(cell: OpenCell) -> dict[str, Any]:
        measured.append(cell)
        row = _row(cell.server, cell.scenario, cell.target_rps, p99_ms=_curve(cell.target_rps))
        return row | cell.row_fields(cell.target_rps)

    rows = phase.run_setup("fast-a", ["item", "order"], 1, measure)
    assert [c.purpose for c in measured][:1] == ["fixed-rate"]
    assert measured[0].target_rps == 250  # half of Flask's 500, the slower framework
    assert measured[0].users == 250
    assert measured[0].duration_s == settings.duration_s
    assert {c.scenario for c in measured} == {"item"}  # order is not an open-loop scenario here
    probes = [c for c in measured if c.purpose == "capacity"]
    assert probes[0].target_rps == 750  # capacity_start: 0.75 of its closed-loop peak, below the overload
    assert probes[0].duration_s == settings.probe_duration_s
    found = phase.capacity[("fast-a", "item", 1)]
    assert 900 * 0.97 <= found <= 900
    assert capacity_at_slo(rows, settings.slo_p99_ms) == {("fast-a", "item", 1): found}
    assert len({c.id for c in measured}) == len(measured)  # every cell has its own raw/ directory


def test_the_slo_flag_reaches_the_settings_and_bad_values_name_it() -> None:
    settings = resolve_settings("quick", {"open_loop": {"slo_p99_ms": 50.0, "rates": None}})
    assert settings.open_loop.slo_p99_ms == 50.0
    assert settings.open_loop.scenarios == ["item"]  # the profile's other open-loop values are kept
    with pytest.raises(ConfigError, match="--slo-p99-ms"):
        resolve_settings("quick", {"open_loop": {"slo_p99_ms": -1.0}})
    with pytest.raises(ConfigError, match=r"--open-scenarios.*nope"):
        resolve_settings("quick", {"open_loop": {"scenarios": ["nope"]}})


def test_open_scenarios_none_turns_the_open_loop_phase_off_and_an_empty_value_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = build_parser().parse_args(["run", "--open-scenarios", "none"])
    assert args.open_scenarios == []
    assert resolve_settings("quick", {"open_loop": {"scenarios": args.open_scenarios}}).open_loop.scenarios == []
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--open-scenarios", ""])
    assert "argument --open-scenarios: expected a comma-separated list" in capsys.readouterr().err
