"""The report adapter on a run with the newer columns: A/A control, baselines and stacks, open-loop cells."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bench.analyse.analysis import analyse, load_run
from bench.report import adapt, facts
from bench.report.render import build_report
from tests.support import fake_run

# New setup → (copied from, stack, baseline, rps factor)
EXTRA = {
    "fastapi-uvicorn~aa": ("fastapi-uvicorn", "fastapi-async", "baseline-fastapi-async", 1.01),
    "fastapi-uvicorn-sync": ("fastapi-gunicorn", "fastapi-sync", "baseline-fastapi-sync", 0.5),
    "baseline-fastapi-async": ("fastapi-uvicorn", "fastapi-async", None, 1.25),
    "baseline-fastapi-sync": ("fastapi-gunicorn", "fastapi-sync", None, 0.6),
    "baseline-flask-sync": ("flask-gunicorn-sync", "flask-sync", None, 1.5),
}
OPEN_TARGETS = (100.0, 200.0, 400.0)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = fake_run.make_run(tmp_path_factory.mktemp("adapt"), scenarios=("item", "list", "upstream"))
    summary = pd.read_csv(run / "summary.csv", keep_default_na=False)
    summary["mode"], summary["purpose"], summary["control_of"] = "closed", "saturation", ""
    extra = []
    for name, (src, _, _, factor) in EXTRA.items():
        if name.startswith("baseline-") or name == "fastapi-uvicorn-sync":
            rows = summary[(summary["server"] == src) & summary["scenario"].isin(["item", "list"])].copy()
        else:
            rows = summary[summary["server"] == src].copy()
        rows["server"], rows["rps"] = name, rows["rps"] * factor
        rows["cell_id"] = rows["cell_id"].str.replace(src, name, regex=False)
        rows["control_of"] = src if name.endswith("~aa") else ""
        extra.append(rows)
    for server, fw in (("fastapi-uvicorn", "fastapi"), ("flask-gunicorn-sync", "flask")):
        for target in OPEN_TARGETS:
            for repeat in (1, 2, 3):
                over = fw == "flask" and target == 400.0
                extra.append(pd.DataFrame([{
                    **summary.iloc[0].to_dict(), "server": server, "framework": fw, "scenario": "item",
                    "users": 0, "repeat": repeat, "mode": "open", "purpose": "fixed-rate", "target_rps": target,
                    "achieved_rps": target * (0.7 if over else 0.99), "p99_ms": 500.0 if over else target / 20,
                    "valid": not over, "invalid_reason": "missed the target rate by 30%" if over else "",
                    "cell_id": f"{server}__item__open{target:.0f}__r{repeat}",
                }]))  # fmt: skip
    pd.concat([summary, *extra]).to_csv(run / "summary.csv", index=False)
    meta = json.loads((run / "metadata.json").read_text())
    for name, (src, stack, baseline, _) in EXTRA.items():
        meta["servers"][name] = {**meta["servers"][src], "stack": stack, "baseline": baseline}
    for name in ("fastapi-uvicorn", "fastapi-gunicorn", "flask-gunicorn-sync", "flask-gunicorn-gthread"):
        stack = "flask-sync" if name.startswith("flask") else "fastapi-async"
        meta["servers"][name].update(stack=stack, baseline=f"baseline-{stack}")
    (run / "metadata.json").write_text(json.dumps(meta))
    return run


def test_noise_floor_comes_from_the_aa_control(run_dir: Path) -> None:
    floor = adapt.noise_floor(analyse(load_run(run_dir)))
    assert floor == pytest.approx(0.01, abs=0.005)


def test_controls_and_open_cells_stay_out_of_the_closed_loop_charts(run_dir: Path) -> None:
    a = analyse(load_run(run_dir))
    shown = {s.setup for p in adapt.throughput_panels(a) for s in p.series}
    assert "fastapi-uvicorn~aa" not in shown
    assert all(g.users > 0 for g in adapt.closed_groups(a))


def test_open_loop_curves_carry_invalid_rates(run_dir: Path) -> None:
    panels = adapt.open_panels(analyse(load_run(run_dir)))
    assert [p.title for p in panels] == ["item"]
    flask = next(s for s in panels[0].series if s.setup == "flask-gunicorn-sync")
    assert [p.invalid for p in flask.points if not p.ok] == ["missed the target rate by 30%"]
    assert [p.y for p in flask.points if p.ok] == [5.0, 10.0]


def test_decomposition_and_baselines(run_dir: Path) -> None:
    a = analyse(load_run(run_dir))
    rows = {e.label: e for e in adapt.decomposition_rows(a, None)}
    driver = rows["item · driver: async ÷ sync, both FastAPI"]
    assert driver.ratio == pytest.approx(1.2 / 0.5 / 1.15, rel=0.1)  # uvicorn (1.2×) vs the sync stack (0.5 × 1.15)
    assert "item · framework: FastAPI ÷ Flask, both sync driver" in rows
    cats, series = adapt.baseline_series(a)
    assert cats == ["item", "list"]
    fractions = {s.setup: s.points[0].y for s in series}
    assert fractions["fastapi-uvicorn"] == pytest.approx(1 / 1.25, rel=0.05)
    assert fractions["flask-gunicorn-sync"] == pytest.approx(1 / 1.5, rel=0.05)


def test_report_shows_every_new_chart_and_the_floor(run_dir: Path) -> None:
    text = build_report(run_dir).read_text()
    for name in ("latency_vs_throughput", "decomposition", "baseline_fraction", "effects"):
        assert f'data-chart="{name}"' in text, name
    assert "A/A noise floor ±1." in text
    assert (run_dir / "charts" / "latency_vs_throughput.png").stat().st_size > 0
    results = {r.scenario: r for r in facts.scenario_results(analyse(load_run(run_dir)), 1000.0)}
    assert results["item"].capacity["fastapi"].basis.startswith("closed-loop estimate")
