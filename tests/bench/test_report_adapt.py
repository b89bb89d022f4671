"""The report adapter on a run with the newer columns: A/A control, baselines and stacks, open-loop cells."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pandas as pd
import pytest

from bench.report import adapt, answer, facts
from bench.report.adapt import load
from bench.report.render import build_report
from tests.support import fake_run

OPEN_TARGETS = (100.0, 200.0, 400.0)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every setup (baselines, the sync FastAPI stack), the A/A control, plus open-loop rows for item."""
    run = fake_run.make_run(
        tmp_path_factory.mktemp("adapt"), servers=tuple(fake_run.SERVERS), scenarios=("item", "list", "upstream")
    )
    summary = pd.read_csv(run / "summary.csv", keep_default_na=False)
    extra = []
    for server, fw in (("fastapi-uvicorn", "fastapi"), ("flask-gunicorn-sync", "flask")):
        for target in OPEN_TARGETS:
            for repeat in (1, 2, 3):
                over = fw == "flask" and target == 400.0
                extra.append(pd.DataFrame([{
                    **summary.iloc[0].to_dict(), "server": server, "framework": fw, "scenario": "item",
                    "users": 0, "repeat": repeat, "mode": "open", "purpose": "fixed-rate", "target_rps": target,
                    "achieved_rps": target * (0.7 if over else 0.99), "p99_ms": 500.0 if over else target / 20,
                    "valid": not over, "invalid_reason": "missed the target rate by 30%" if over else "",
                    "cell_id": f"{server}__item__open{target:.0f}__r{repeat}", "control_of": "",
                }]))  # fmt: skip
    pd.concat([summary, *extra]).to_csv(run / "summary.csv", index=False)
    return run


def test_noise_floor_comes_from_the_aa_control(run_dir: Path) -> None:
    floor = adapt.noise_floor(load(run_dir))
    assert floor is not None
    assert 0 < floor < 0.1


def test_controls_and_open_cells_stay_out_of_the_closed_loop_charts(run_dir: Path) -> None:
    a = load(run_dir)
    shown = {s.setup for p in adapt.throughput_panels(a) for s in p.series}
    assert "fastapi-uvicorn~aa" not in shown
    assert "fastapi-uvicorn" in shown
    assert all(g.users > 0 for g in adapt.closed_groups(a))


def test_open_loop_curves_carry_invalid_rates(run_dir: Path) -> None:
    panels = adapt.open_panels(load(run_dir))
    assert [p.title for p in panels] == ["item"]
    flask = next(s for s in panels[0].series if s.setup == "flask-gunicorn-sync")
    assert [p.invalid for p in flask.points if not p.ok] == ["missed the target rate by 30%"]
    assert [p.y for p in flask.points if p.ok] == [5.0, 10.0]


def test_decomposition_and_baselines(run_dir: Path) -> None:
    a = load(run_dir)
    labels = [e.label for e in adapt.decomposition_rows(a)]
    assert any(label.startswith("item · framework") for label in labels)
    assert any(label.startswith("item · driver") for label in labels)
    cats, series = adapt.baseline_series(a)
    assert {"item", "list"} <= set(cats)
    fractions = {s.setup: s.points[0].y for s in series}
    assert 0 < fractions["fastapi-uvicorn"] < 1.5
    assert 0 < fractions["flask-gunicorn-sync"] < 1.5


def test_report_shows_every_new_chart_and_the_floor(run_dir: Path) -> None:
    text = build_report(run_dir).read_text()
    for name in ("latency_vs_throughput", "decomposition", "baseline_fraction", "effects"):
        assert f'data-chart="{name}"' in text, name
    assert "A/A noise floor ±" in text
    assert "its baseline-" not in text  # a baseline is not one of the losing framework's setups
    assert (run_dir / "charts" / "latency_vs_throughput.png").stat().st_size > 0
    results = {r.scenario: r for r in facts.scenario_results(load(run_dir), 1000.0)}
    assert results["item"].capacity["fastapi"].basis.startswith("closed-loop estimate")


def test_a_rate_limited_scenario_still_says_what_a_request_costs_each_framework() -> None:
    limited = answer.ScenarioResult(
        "health",
        "CPU-light API",
        invalid="3 invalid cell(s): loadgen saturated",
        cpu_us={"fastapi": ("fastapi-uvicorn", 100.0, (96.0, 102.0)), "flask": ("flask-gunicorn-gthread", 286.0, None)},
    )
    text = answer.sentence(limited, 0.11, 100.0)
    assert text.startswith("health (CPU-light API): not measured — 3 invalid cell(s): loadgen saturated; ")
    assert "FastAPI 100 µs [96–102] (fastapi-uvicorn), Flask 286 µs (flask-gunicorn-gthread)" in text
    assert "FastAPI ÷ Flask 0.35×" in text
    one_side = answer.ScenarioResult("health", "CPU-light API", invalid="x", cpu_us={"flask": ("f", 1.0, None)})
    assert answer.sentence(one_side, None, 100.0) == "health (CPU-light API): not measured — x."


def test_capacity_is_given_with_its_ci_across_repeats_or_called_rough_without_one() -> None:
    three = answer.Capacity(500.0, "fastapi-uvicorn", "open-loop capacity search", (420.0, 580.0), 3)
    one = answer.Capacity(950.0, "flask-gunicorn-gthread", "open-loop capacity search")
    r = answer.ScenarioResult("item", "DB-bound read", users=50, ratio=1.0, capacity={"fastapi": three, "flask": one})
    text = answer.sentence(r, 0.1, 100.0)
    assert "FastAPI 500 [420–580], Flask 950 req/s per core" in text
    assert "(open-loop capacity search, 1 repeat(s): no CI, a rough figure)" in text
    both = answer.ScenarioResult("item", "DB-bound read", users=50, ratio=1.0, capacity={"fastapi": three})
    assert "(open-loop capacity search, 3 repeats)" in answer.sentence(both, 0.1, 100.0)


def test_capacity_per_repeat_is_the_highest_valid_probe_within_the_p99_target() -> None:
    probes = [  # (repeat, target rps, valid, p99 ms)
        (1, 400.0, True, 50.0), (1, 600.0, True, 150.0), (1, 500.0, False, 20.0),
        (2, 300.0, True, 120.0),
        (3, 700.0, True, 90.0),
    ]  # fmt: skip
    summary = pd.DataFrame(
        [
            {"server": "s", "scenario": "item", "purpose": "capacity", "repeat": r, "target_rps": t, "valid": v,
             "p99_ms": p}
            for r, t, v, p in probes
        ]
        + [{"server": "s", "scenario": "item", "purpose": "fixed-rate", "repeat": 1, "target_rps": 900.0,
            "valid": True, "p99_ms": 5.0}]
    )  # fmt: skip
    analysis = cast(adapt.Analysis, SimpleNamespace(run=SimpleNamespace(summary=summary)))
    # A probe past the target or invalid never counts, however fast; a repeat that met it nowhere counts as 0.
    assert facts._open_capacity(analysis, 100.0) == {("s", "item"): [400.0, 0.0, 700.0]}
    assert facts._open_capacity(analysis, 200.0) == {("s", "item"): [600.0, 300.0, 700.0]}
