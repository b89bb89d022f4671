"""Repeats vs per-second samples, the A/A noise floor, the decomposition and the baseline fractions, known answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats as scipy_stats

from bench.analyse.analysis import analyse_dir
from bench.runformat import RunMetadata

# Exact throughput of each repeat: the truth every figure below is checked against.
PINNED = {
    "fastapi-uvicorn": [300.0, 303.0, 297.0],
    "fastapi-uvicorn~aa": [306.0, 300.0, 303.0],  # A/A: 303 / 300 = 1.01 → noise floor 1 %
    "fastapi-uvicorn-sync": [200.0, 202.0, 198.0],
    "flask-gunicorn-sync": [100.0, 101.0, 99.0],
    "flask-gunicorn-gthread": [150.0, 151.5, 148.5],
    "baseline-fastapi-async": [400.0, 404.0, 396.0],
    "baseline-fastapi-sync": [250.0, 252.0, 248.0],
    "baseline-flask-sync": [200.0, 201.0, 199.0],
}
STACK_RUN = {"scenarios": ("item",), "users": (16,), "servers": tuple(s for s in PINNED if "~" not in s)}


def test_per_second_samples_would_call_a_difference_that_the_repeats_do_not(make_fake_run: Callable[..., Path]) -> None:
    # Each repeat is steady inside (1 % per-second spread) but repeats differ by ±20 % (server restarts, drift).
    pinned = {
        "fastapi-uvicorn": [100.0, 120.0, 80.0],
        "fastapi-uvicorn~aa": [101.0, 119.0, 81.0],
        "flask-gunicorn-sync": [105.0, 85.0, 125.0],
    }
    run_dir = make_fake_run(
        servers=("fastapi-uvicorn", "flask-gunicorn-sync"), scenarios=("item",), users=(16,),
        repeat_rps=pinned, per_second_cv=0.01, duration_s=20,
    )  # fmt: skip
    # The pseudo-replicated test: the per-second samples of one repeat each look decisively different.
    seconds = {
        s: pd.read_csv(run_dir / "raw" / f"{s}__item__u16__r1" / "timeline.csv")["requests"]
        for s in ("fastapi-uvicorn", "flask-gunicorn-sync")
    }
    assert scipy_stats.mannwhitneyu(*seconds.values()).pvalue < 0.001
    # Across repeats the means are 100 vs 105 with ±20 % run-to-run spread: no difference is called.
    r = analyse_dir(run_dir).best[("item", 16, "rps")]
    assert r.ratio == pytest.approx(100 / 105, rel=1e-3)
    assert r.ci is not None
    assert r.ci[0] < 1 < r.ci[1]
    assert r.called is False


def test_the_noise_floor_is_the_aa_ratios_distance_from_1(make_fake_run: Callable[..., Path]) -> None:
    result = analyse_dir(make_fake_run(**STACK_RUN, repeat_rps=PINNED))
    assert result.noise is not None
    assert (result.noise.setup, result.noise.control) == ("fastapi-uvicorn", "fastapi-uvicorn~aa")
    (aa,) = result.noise.ratios
    assert aa.ratio == pytest.approx(1.01, rel=1e-4)
    assert aa.ci is not None
    assert result.noise_floor == pytest.approx(0.01, rel=1e-3)
    assert result.groups[("fastapi-uvicorn~aa", "item", 16)].control_of == "fastapi-uvicorn"
    assert all(r.noise_floor == result.noise_floor for r in result.best.values())


def test_an_effect_inside_the_noise_floor_is_not_called(make_fake_run: Callable[..., Path]) -> None:
    pinned = {
        "fastapi-uvicorn": [103.0, 103.2, 102.8],
        "fastapi-uvicorn~aa": [110.0, 110.2, 109.8],  # a noisy run: the A/A pair differs by 6.8 %
        "flask-gunicorn-sync": [100.0, 100.2, 99.8],
    }
    run_dir = make_fake_run(
        servers=("fastapi-uvicorn", "flask-gunicorn-sync"), scenarios=("item",), users=(16,),
        repeat_rps=pinned,
    )  # fmt: skip
    result = analyse_dir(run_dir)
    r = result.best[("item", 16, "rps")]
    assert r.ci is not None
    assert r.ci[0] > 1  # the CI alone would call a 3 % difference ...
    assert r.called is False  # ... but it is inside the run's noise floor
    assert "noise floor" in r.reason
    assert result.noise_floor == pytest.approx(110 / 103 - 1, rel=1e-3)


def test_without_an_aa_control_no_difference_is_called(make_fake_run: Callable[..., Path]) -> None:
    result = analyse_dir(make_fake_run(scenarios=("upstream",), users=(16,), aa_control=None))
    assert result.noise is None
    r = result.best[("upstream", 16, "rps")]
    assert r.ci is not None
    assert r.ci[0] > 1.5
    assert r.called is None
    assert "no A/A noise floor" in r.reason


def test_decomposition_separates_framework_and_driver_with_known_answers(make_fake_run: Callable[..., Path]) -> None:
    result = analyse_dir(make_fake_run(**STACK_RUN, repeat_rps=PINNED))
    (d,) = result.decomposition
    effects = {e.name: e.ratio for e in d.effects}
    # framework: same driver (psycopg2): fastapi-uvicorn-sync ÷ the best Flask sync-stack app (gthread)
    assert (effects["framework"].a.server, effects["framework"].b.server) == (
        "fastapi-uvicorn-sync", "flask-gunicorn-gthread",
    )  # fmt: skip
    assert effects["framework"].ratio == pytest.approx(200 / 150)
    # driver: same framework and server: asyncpg ÷ psycopg2
    assert effects["driver"].ratio == pytest.approx(300 / 200)
    # total: best ÷ best (baselines and the A/A control are not candidates)
    assert (effects["total"].a.server, effects["total"].b.server) == ("fastapi-uvicorn", "flask-gunicorn-gthread")
    assert effects["total"].ratio == pytest.approx(300 / 150)
    for r in effects.values():
        assert r.ci is not None
        assert r.ci[0] <= r.ratio <= r.ci[1]
        assert r.called is True


def test_each_app_as_a_fraction_of_its_stacks_baseline(make_fake_run: Callable[..., Path]) -> None:
    result = analyse_dir(make_fake_run(**STACK_RUN, repeat_rps=PINNED))
    fractions = {f.ratio.a.server: f for f in result.baseline_fractions}
    assert set(fractions) == {
        "fastapi-uvicorn",
        "fastapi-uvicorn-sync",
        "flask-gunicorn-sync",
        "flask-gunicorn-gthread",
    }
    expected = {
        "fastapi-uvicorn": ("baseline-fastapi-async", 300 / 400),
        "fastapi-uvicorn-sync": ("baseline-fastapi-sync", 200 / 250),
        "flask-gunicorn-sync": ("baseline-flask-sync", 100 / 200),
        "flask-gunicorn-gthread": ("baseline-flask-sync", 150 / 200),
    }
    for server, (baseline, ratio) in expected.items():
        f = fractions[server]
        assert f.ratio.b.server == baseline
        assert f.ratio.ratio == pytest.approx(ratio)
        assert f.p99_ratio.metric == "p99_ms"
        assert f.p99_ratio.b.server == baseline


def test_a_recorded_stack_wins_over_the_name(make_fake_run: Callable[..., Path]) -> None:
    run_dir = make_fake_run(**STACK_RUN, repeat_rps=PINNED)
    meta = RunMetadata.load(run_dir / "metadata.json")
    meta.servers["flask-gunicorn-sync"].stack = "fastapi-sync"  # the harness's record decides, not the name
    meta.dump(run_dir / "metadata.json")
    result = analyse_dir(run_dir)
    assert result.groups[("flask-gunicorn-sync", "item", 16)].stack == "fastapi-sync"
