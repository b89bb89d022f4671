"""Repeat-level statistics with known answers: bootstrap CIs, ratio CIs, the A/A call rule, CV and outliers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.analyse import stats


def test_mean_ci_contains_the_true_mean_of_a_known_distribution() -> None:
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(40):
        sample = rng.normal(100.0, 10.0, 40)
        lo, hi = stats.mean_ci(sample, seed=int(rng.integers(1 << 30))) or (0.0, 0.0)
        assert lo < float(np.mean(sample)) < hi
        hits += lo <= 100.0 <= hi
    assert hits >= 34  # a 95 % interval covers the truth in ~38 of 40 draws; allow for sampling luck


def test_mean_ci_needs_three_repeats_and_is_deterministic() -> None:
    sample = [10.0, 11.0, 12.0, 13.0]
    assert stats.mean_ci(sample) == stats.mean_ci(sample)
    assert stats.mean_ci([5.0, 6.0]) is None  # fewer than MIN_REPEATS: no CI at all
    assert stats.mean_ci([]) is None
    assert stats.mean_ci([7.0, 7.0, 7.0]) == (7.0, 7.0)
    assert stats.mean_ci([1.0, math.nan, 3.0, 2.0]) is not None  # NaNs are dropped, 3 finite values remain
    assert stats.mean_ci([1.0, math.nan, 3.0]) is None


def test_ratio_of_known_samples() -> None:
    a, b = [20.0, 21.0, 19.0, 20.5, 19.5], [10.0, 10.5, 9.5, 10.2, 9.8]
    assert stats.ratio_of_means(a, b) == pytest.approx(2.0)
    ci = stats.ratio_ci(a, b)
    assert ci is not None
    assert ci[0] < 2.0 < ci[1]
    assert ci[1] - ci[0] < 0.3
    assert stats.ratio_ci([1.0, 2.0], b) is None
    assert stats.ratio_ci([3.0, 3.0, 3.0], [2.0, 2.0, 2.0]) == (1.5, 1.5)
    assert math.isnan(stats.ratio_of_means([], b))


def test_distance_from_one_is_symmetric() -> None:
    assert stats.distance_from_one(1.25) == pytest.approx(0.25)
    assert stats.distance_from_one(0.8) == pytest.approx(0.25)
    assert math.isnan(stats.distance_from_one(0.0))


@pytest.mark.parametrize(
    ("ratio", "ci", "floor", "called", "why"),
    [
        (1.5, (1.4, 1.6), 0.05, True, "exceeds"),  # CI excludes 1 and 50 % > 5 %
        (1.5, (1.4, 1.6), None, None, "no A/A noise floor"),  # no floor measured: no verdict
        (1.5, None, 0.05, None, "fewer than 3"),  # no CI: no verdict
        (1.02, (0.97, 1.08), 0.01, False, "CI includes 1"),
        (1.04, (1.02, 1.06), 0.05, False, "within the A/A noise floor"),  # CI excludes 1 but effect ≤ floor
        (0.8, (0.75, 0.85), 0.05, True, "exceeds"),  # 0.8 is 25 % away from 1, like 1.25
    ],
)
def test_a_difference_is_called_only_when_the_ci_excludes_1_and_it_exceeds_the_noise_floor(
    ratio: float, ci: tuple[float, float] | None, floor: float | None, called: bool | None, why: str
) -> None:
    verdict = stats.call(ratio, ci, floor)
    assert verdict.called is called
    assert why in verdict.reason.replace(">", "exceeds")


def test_cv_and_outliers() -> None:
    assert stats.cv([100.0, 100.0, 100.0]) == 0.0
    assert stats.cv([80.0, 100.0, 120.0]) == pytest.approx(0.2)
    assert math.isnan(stats.cv([1.0]))
    assert [o.index for o in stats.outliers([100.0, 101.0, 130.0])] == [2]  # 29 % off the median
    assert stats.outliers([100.0, 101.0, 102.0]) == []
    many = [100.0, 100.5, 99.5, 100.2, 99.8, 104.0]  # 4 % off but ~15 MADs off with 6 values
    assert [o.index for o in stats.outliers(many)] == [5]
