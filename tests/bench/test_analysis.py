"""The analysis against data with known answers: CIs, ratios, significance, invalid cells, stability warnings."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.analyse import stats
from bench.analyse.analysis import (
    analyse,
    comparison_samples,
    distribution,
    load_run,
    merged_histogram,
    percentile_curve,
)
from tests.support import fake_run

INVALID = {"flask-gunicorn-sync__list__u16__r2": "loadgen saturated (92% > 80% of a core)"}
NOT_RUN = ["flask-gunicorn-sync__order__u16__r3"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path: Path = fake_run.make_run(tmp_path_factory.mktemp("runs"), invalid=INVALID, not_run=NOT_RUN)
    return path


# --- statistics -------------------------------------------------------------------------------------------------
def test_bootstrap_ci_contains_the_true_mean_of_a_known_distribution() -> None:
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(40):
        sample = rng.normal(100.0, 10.0, 40)
        lo, hi = stats.bootstrap_ci(sample, statistic="mean", seed=int(rng.integers(1 << 30))) or (0.0, 0.0)
        assert lo < float(np.mean(sample)) < hi
        hits += lo <= 100.0 <= hi
    assert hits >= 34  # a 95 % interval covers the truth in ~38 of 40 draws; allow for sampling luck


def test_bootstrap_ci_is_deterministic_and_degrades_gracefully() -> None:
    sample = [10.0, 11.0, 12.0, 13.0]
    assert stats.bootstrap_ci(sample) == stats.bootstrap_ci(sample)
    assert stats.bootstrap_ci([5.0]) is None
    assert stats.bootstrap_ci([]) is None
    assert stats.bootstrap_ci([7.0, 7.0, 7.0]) == (7.0, 7.0)
    assert stats.bootstrap_ci([1.0, math.nan, 3.0, 2.0]) is not None  # NaNs are dropped


def test_ratio_of_known_samples() -> None:
    a, b = [20.0, 21.0, 19.0, 20.5, 19.5], [10.0, 10.5, 9.5, 10.2, 9.8]
    assert stats.ratio_of_means(a, b) == pytest.approx(2.0)
    ci = stats.ratio_ci(a, b)
    assert ci is not None
    assert ci[0] < 2.0 < ci[1]
    assert ci[1] - ci[0] < 0.3
    assert stats.ratio_ci([1.0], b) is None
    assert math.isnan(stats.ratio_of_means([], b))


@pytest.mark.parametrize("test", ["Welch t", "Mann-Whitney U"])
def test_identical_samples_are_not_significant(test: stats.TestName) -> None:
    x = [100.0, 102.0, 98.0, 101.0, 99.0]
    p = stats.significance(x, list(x), test=test)
    assert p is not None
    assert p >= 0.05
    assert stats.is_significant(p, stats.ratio_ci(x, x)) is False


@pytest.mark.parametrize("test", ["Welch t", "Mann-Whitney U"])
def test_clearly_different_samples_are_significant(test: stats.TestName) -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(150, 5, 12), rng.normal(100, 5, 12)
    p = stats.significance(a, b, test=test)
    ci = stats.ratio_ci(a, b)
    assert p is not None
    assert p < 0.01
    assert ci is not None
    assert ci[0] > 1.3
    assert stats.is_significant(p, ci) is True


def test_significance_flags() -> None:
    assert stats.is_significant(None, None) is None
    assert stats.is_significant(0.2, (1.1, 1.3)) is False  # p too large
    assert stats.is_significant(0.01, (0.9, 1.2)) is False  # CI includes 1
    assert stats.is_significant(0.01, (1.05, 1.2)) is True
    assert stats.significance([1.0], [2.0, 3.0], test="Welch t") is None
    assert stats.significance([5.0, 5.0], [5.0, 5.0], test="Welch t") == 1.0
    assert stats.significance([5.0, 5.0], [6.0, 6.0], test="Welch t") == 0.0


def test_cv_and_outliers() -> None:
    assert stats.cv([100.0, 100.0, 100.0]) == 0.0
    assert stats.cv([80.0, 100.0, 120.0]) == pytest.approx(0.2)
    assert math.isnan(stats.cv([1.0]))
    assert [o.index for o in stats.outliers([100.0, 101.0, 130.0])] == [2]  # 29 % off the median
    assert stats.outliers([100.0, 101.0, 102.0]) == []
    many = [100.0, 100.5, 99.5, 100.2, 99.8, 104.0]  # 4 % off but ~15 MADs off with 6 values
    assert [o.index for o in stats.outliers(many)] == [5]


# --- loading and groups -----------------------------------------------------------------------------------------
def test_invalid_cells_are_listed_and_excluded(run_dir: Path) -> None:
    run = load_run(run_dir)
    reasons = dict(zip(run.invalid["cell_id"], run.invalid["invalid_reason"], strict=True))
    assert reasons == {**INVALID, NOT_RUN[0]: "not run: interrupted"}
    groups = analyse(run).groups
    g = groups[("flask-gunicorn-sync", "list", 16)]
    assert g.repeats == 2
    assert "flask-gunicorn-sync__list__u16__r2" not in g.cell_ids
    assert groups[("flask-gunicorn-sync", "order", 16)].repeats == 2


def test_row_without_measurements_is_invalid_even_if_marked_valid(run_dir: Path, tmp_path: Path) -> None:
    df = pd.read_csv(run_dir / "summary.csv")
    df.loc[0, "rps"] = np.nan
    (tmp_path / "summary.csv").write_text(df.to_csv(index=False))
    run = load_run(tmp_path)
    reasons = dict(zip(run.invalid["cell_id"], run.invalid["invalid_reason"], strict=True))
    expected: dict[str, str] = {str(df.loc[0, "cell_id"]): "no measurements recorded", **INVALID}
    assert reasons == {**expected, NOT_RUN[0]: "not run: interrupted"}
    assert run.ergonomics is None
    assert run.metadata == {}


def test_group_medians_and_cis_match_the_generated_truth(run_dir: Path) -> None:
    a = analyse(load_run(run_dir))
    for (server, scenario, users), g in a.groups.items():
        truth = fake_run.true_rps(server, scenario, users)
        assert g.rps_median == pytest.approx(truth, rel=0.08)
        assert g.rps_ci is not None
        assert g.rps_ci[0] <= g.rps_median <= g.rps_ci[1]
        assert g.p50_median < g.p99_median < g.p999_median
        assert g.framework == fake_run.SERVERS[server]
        expected = 900.0 if g.framework == "fastapi" else 700.0  # requests per CPU-second in the generator
        assert g.rps_per_cpu_s == pytest.approx(expected, rel=0.01)


def test_fewer_than_three_repeats_use_per_second_samples(tmp_path: Path) -> None:
    run_dir = fake_run.make_run(tmp_path, users=(8,), repeats=1, scenarios=("health",))
    a = analyse(load_run(run_dir))
    g = a.groups[("fastapi-uvicorn", "health", 8)]
    assert g.repeats == 1
    assert len(g.per_second) == 10
    assert "per-second" in g.rps_ci_basis
    assert g.cv_basis == "per-second samples"
    assert g.rps_ci is not None
    assert g.rps_ci[0] < float(np.mean(g.per_second)) < g.rps_ci[1]
    assert g.p99_ci is None
    r = a.best_ratios[("health", 8, "rps")]
    assert r.test == "Mann-Whitney U"
    assert r.basis == "per-second samples"
    assert r.ci is not None
    p99 = a.best_ratios[("health", 8, "p99_ms")]
    assert p99.test is None
    assert p99.significant is None
    assert p99.ratio > 0


def test_cv_and_outlier_warnings(run_dir: Path, tmp_path: Path) -> None:
    df = pd.read_csv(run_dir / "summary.csv")
    cells = df["cell_id"].str.startswith("fastapi-uvicorn__item__u16__")
    df.loc[cells, "rps"] = [1000.0, 1010.0, 1400.0]
    for name in ("metadata.json", "summary.json"):
        (tmp_path / name).write_text((run_dir / name).read_text())
    (tmp_path / "summary.csv").write_text(df.to_csv(index=False))
    groups = analyse(load_run(tmp_path)).groups
    warnings = groups[("fastapi-uvicorn", "item", 16)].warnings
    assert any("CV" in w for w in warnings)
    assert any("repeat 3" in w and "off the median" in w for w in warnings)
    assert groups[("fastapi-uvicorn", "item", 4)].warnings == ()


# --- ratios -----------------------------------------------------------------------------------------------------
def test_best_setup_ratios_recover_the_known_speedups(run_dir: Path) -> None:
    a = analyse(load_run(run_dir))
    up = a.best_ratios[("upstream", 16, "rps")]
    assert (up.fastapi.server, up.flask.server) == ("fastapi-uvicorn", "flask-gunicorn-gthread")
    assert up.ratio == pytest.approx(3.0 / 1.5, rel=0.05)
    assert up.ci is not None
    assert up.ci[0] <= up.ratio <= up.ci[1]
    assert up.significant is True
    assert up.favours == "fastapi"
    assert up.test == "Welch t"
    assert a.best_ratios[("upstream", 16, "p99_ms")].favours == "fastapi"  # lower latency favours FastAPI
    order = a.best_ratios[("order", 4, "rps")]
    assert order.favours == "flask"
    assert order.ratio == pytest.approx(0.8 / 1.02, rel=0.06)
    same = a.best_ratios[("list", 4, "rps")]  # both frameworks draw list throughput from the same mean
    assert same.ci is not None
    assert same.ci[0] < 1.0 < same.ci[1]
    assert same.significant is False


def test_every_setup_pair_is_compared(run_dir: Path) -> None:
    a = analyse(load_run(run_dir))
    pairs = {(r.fastapi.server, r.flask.server) for r in a.pair_ratios if r.scenario == "item" and r.users == 4}
    assert pairs == {(fa, fl) for fa in ("fastapi-uvicorn", "fastapi-gunicorn")
                     for fl in ("flask-gunicorn-sync", "flask-gunicorn-gthread")}  # fmt: skip
    assert len(a.pair_ratios) == 4 * 4 * 2 * 3  # pairs × scenarios × levels × metrics


def test_mixed_repeat_counts_fall_back_to_per_second_samples(run_dir: Path) -> None:
    groups = analyse(load_run(run_dir)).groups
    three, two = groups[("fastapi-uvicorn", "list", 16)], groups[("flask-gunicorn-sync", "list", 16)]
    picked = comparison_samples(three, two, "rps")
    assert picked is not None
    assert picked[2] == "Mann-Whitney U"
    assert comparison_samples(three, two, "p99_ms") is None


def test_missing_framework_gives_no_ratios(tmp_path: Path) -> None:
    run_dir = fake_run.make_run(tmp_path, servers=("fastapi-uvicorn",), users=(4,), repeats=1)
    a = analyse(load_run(run_dir))
    assert a.groups
    assert a.best_ratios == {}
    assert a.pair_ratios == []
    assert a.top_level("item") is None


def test_setup_differences_within_a_run_are_reported(run_dir: Path, tmp_path: Path) -> None:
    df = pd.read_csv(run_dir / "summary.csv")
    df.loc[df["server"] == "flask-gunicorn-sync", "workers"] = 4
    (tmp_path / "summary.csv").write_text(df.to_csv(index=False))
    (tmp_path / "metadata.json").write_text((run_dir / "metadata.json").read_text())
    issues = analyse(load_run(tmp_path)).consistency_issues
    assert any("worker counts differ" in i and "flask-gunicorn-sync: 4" in i for i in issues)
    assert analyse(load_run(run_dir)).consistency_issues == []


# --- latency distributions --------------------------------------------------------------------------------------
def test_hdr_histograms_decode_into_percentiles_and_distributions(run_dir: Path) -> None:
    run = load_run(run_dir)
    g = analyse(run).groups[("fastapi-uvicorn", "item", 16)]
    hist = merged_histogram(run, g.cell_ids)
    assert hist is not None
    assert hist.get_total_count() == 3 * 2000
    curve = percentile_curve(hist, (50.0, 90.0, 99.0))
    assert curve == sorted(curve)
    assert curve[0] == pytest.approx(g.p50_median, rel=0.1)  # merged vs median of per-repeat p50
    edges = np.geomspace(0.1, 10_000, 50)
    assert distribution(hist, edges).sum() == pytest.approx(1.0)
    assert merged_histogram(run, ("no-such-cell",)) is None
