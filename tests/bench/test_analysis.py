"""The analysis against fake runs with known answers: groups, CIs across repeats, ratios, invalid cells, latency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.analyse.analysis import analyse, analyse_dir
from bench.analyse.result import Result
from bench.analyse.rundata import load_run
from tests.support import fake_run

INVALID = {"flask-gunicorn-sync__list__u16__r2": "loadgen saturated (92% > 80% of a core)"}
NOT_RUN = ["flask-gunicorn-sync__order__u16__r3"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path: Path = fake_run.make_run(tmp_path_factory.mktemp("runs"), invalid=INVALID, not_run=NOT_RUN)
    return path


@pytest.fixture(scope="module")
def result(run_dir: Path) -> Result:
    return analyse_dir(run_dir)


def test_invalid_cells_are_listed_and_excluded(run_dir: Path, result: Result) -> None:
    run = load_run(run_dir)
    reasons = dict(zip(run.invalid["cell_id"], run.invalid["invalid_reason"], strict=True))
    assert reasons == {**INVALID, NOT_RUN[0]: "not run: interrupted"}
    assert {c.cell_id for c in result.invalid} == set(reasons)
    g = result.groups[("flask-gunicorn-sync", "list", 16)]
    assert g.repeats == 2
    assert "flask-gunicorn-sync__list__u16__r2" not in g.cell_ids
    assert result.groups[("flask-gunicorn-sync", "order", 16)].repeats == 2


def test_row_without_measurements_is_invalid_even_if_marked_valid(run_dir: Path, tmp_path: Path) -> None:
    df = pd.read_csv(run_dir / "summary.csv")
    df.loc[0, "rps"] = np.nan
    (tmp_path / "summary.csv").write_text(df.to_csv(index=False))
    run = load_run(tmp_path)
    reasons = dict(zip(run.invalid["cell_id"], run.invalid["invalid_reason"], strict=True))
    expected: dict[str, str] = {str(df.loc[0, "cell_id"]): "no measurements recorded", **INVALID}
    assert reasons == {**expected, NOT_RUN[0]: "not run: interrupted"}
    assert run.ergonomics is None
    assert run.metadata.servers == {}  # no metadata.json: an empty record named after the directory
    assert run.run_id == tmp_path.name


def test_group_means_and_cis_across_repeats_match_the_generated_truth(result: Result) -> None:
    for (server, scenario, users), g in result.groups.items():
        truth = fake_run.true_rps(server, scenario, users)
        assert g.rps_median == pytest.approx(truth, rel=0.08)
        if g.repeats >= 3:
            assert g.rps_ci is not None
            assert g.rps_ci[0] <= g.rps_mean <= g.rps_ci[1]
        else:
            assert g.rps_ci is None
        assert g.p50_median < g.p99_median < g.p999_median
        assert g.framework == fake_run.SERVERS[fake_run.original(server)]
        expected = 900.0 if g.framework == "fastapi" else 700.0  # requests per CPU-second in the generator
        assert g.rps_per_cpu_s == pytest.approx(expected, rel=0.01)
        assert 0 < g.stability < 0.1  # the generator's per-second spread is 3 %


def test_fewer_than_three_repeats_get_no_ci_and_no_verdict(tmp_path: Path) -> None:
    run_dir = fake_run.make_run(tmp_path, users=(8,), repeats=1, scenarios=("health",))
    a = analyse_dir(run_dir)
    g = a.groups[("fastapi-uvicorn", "health", 8)]
    assert g.repeats == 1
    assert (g.rps_ci, g.p50_ci, g.p99_ci) == (None, None, None)
    assert any("no CI and no verdict" in w for w in g.warnings)
    assert 0 < g.stability < 0.1  # stability is still measured, from the per-second samples of the one repeat
    for metric in ("rps", "p99_ms"):
        r = a.best[("health", 8, metric)]
        assert r.ci is None
        assert r.called is None
        assert "fewer than 3" in r.reason
    assert a.noise_floor is None  # the A/A pair has one repeat per side too


def test_cv_and_outlier_warnings(run_dir: Path, tmp_path: Path) -> None:
    df = pd.read_csv(run_dir / "summary.csv")
    cells = df["cell_id"].str.startswith("fastapi-uvicorn__item__u16__")
    df.loc[cells, "rps"] = [1000.0, 1010.0, 1400.0]
    for name in ("metadata.json", "summary.json"):
        (tmp_path / name).write_text((run_dir / name).read_text())
    (tmp_path / "summary.csv").write_text(df.to_csv(index=False))
    groups = analyse_dir(tmp_path).groups
    warnings = groups[("fastapi-uvicorn", "item", 16)].warnings
    assert any("CV" in w for w in warnings)
    assert any("repeat 3" in w and "off the median" in w for w in warnings)
    assert groups[("fastapi-uvicorn", "item", 4)].warnings == ()


def test_best_setup_ratios_recover_the_known_speedups(result: Result) -> None:
    up = result.best[("upstream", 16, "rps")]
    assert (up.a.server, up.b.server) == ("fastapi-uvicorn", "flask-gunicorn-gthread")
    assert up.ratio == pytest.approx(3.0 / 1.5, rel=0.05)
    assert up.ci is not None
    assert up.ci[0] <= up.ratio <= up.ci[1]
    assert up.noise_floor == result.noise_floor is not None
    assert up.called is True
    assert up.winner == "fastapi"
    assert result.best[("upstream", 16, "p99_ms")].winner == "fastapi"  # lower latency favours FastAPI
    order = result.best[("order", 4, "rps")]
    assert order.winner == "flask"
    assert order.ratio == pytest.approx(0.8 / 1.02, rel=0.06)
    same = result.best[("list", 4, "rps")]  # both frameworks draw list throughput from the same mean
    assert same.called is False
    assert same.winner is None


def test_controls_and_baselines_never_enter_framework_ratios(result: Result) -> None:
    assert all(r.a.is_app and r.b.is_app for r in [*result.best.values(), *result.pairs])
    pairs = {(r.a.server, r.b.server) for r in result.pairs if r.scenario == "item" and r.users == 4}
    assert pairs == {(fa, fl) for fa in ("fastapi-uvicorn", "fastapi-gunicorn")
                     for fl in ("flask-gunicorn-sync", "flask-gunicorn-gthread")}  # fmt: skip
    assert len(result.pairs) == 4 * 4 * 2 * 3  # pairs × scenarios × levels × metrics


def test_a_ratio_with_two_repeats_on_one_side_gets_no_verdict(result: Result) -> None:
    r = next(r for r in result.pairs if r.b.key == ("flask-gunicorn-sync", "list", 16) and r.metric == "rps")
    assert r.a.repeats == 3
    assert r.ci is None
    assert r.called is None


def test_missing_framework_gives_no_ratios(tmp_path: Path) -> None:
    a = analyse_dir(fake_run.make_run(tmp_path, servers=("fastapi-uvicorn",), users=(4,), repeats=1))
    assert a.groups
    assert a.best == {}
    assert a.pairs == []
    assert a.top_level == {}


def test_setup_differences_within_a_run_are_reported(run_dir: Path, tmp_path: Path, result: Result) -> None:
    df = pd.read_csv(run_dir / "summary.csv")
    df.loc[df["server"] == "flask-gunicorn-sync", "workers"] = 4
    (tmp_path / "summary.csv").write_text(df.to_csv(index=False))
    (tmp_path / "metadata.json").write_text((run_dir / "metadata.json").read_text())
    issues = analyse(load_run(tmp_path)).consistency_issues
    assert any("worker counts differ" in i and "flask-gunicorn-sync: 4" in i for i in issues)
    assert result.consistency_issues == []


def test_top_level_groups_carry_their_merged_latency(result: Result) -> None:
    g = result.groups[("fastapi-uvicorn", "item", 16)]
    assert g.latency is not None
    assert sum(g.latency.counts) == 3 * 2000  # the three repeats' HDR histograms added together
    assert list(g.latency.curve_ms) == sorted(g.latency.curve_ms)
    assert g.latency.curve_ms[0] == pytest.approx(g.p50_median, rel=0.1)  # merged vs median of per-repeat p50
    assert result.groups[("fastapi-uvicorn", "item", 4)].latency is None  # only the charted level is decoded
