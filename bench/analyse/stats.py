"""Statistics across independent repeats: bootstrap CIs of repeat means, ratio CIs, the A/A rule, stability.

A repeat is one independent run of a cell (its own server start). Every CI here resamples repeat-level values;
the per-second samples inside one repeat are never treated as independent observations (they only describe
stability). Everything is seeded (numpy ``Generator``) so the same raw data always gives the same report.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

SEED = 20240601
N_RESAMPLES = 4000
CONFIDENCE = 0.95
MIN_REPEATS = 3  # fewer valid repeats than this: no CI and no verdict
CV_WARN = 0.10  # pyperf warns when the standard deviation is > 10 % of the mean
OUTLIER_REL = 0.20  # a repeat more than 20 % off the median is suspicious
OUTLIER_MADS = 3.0  # ... as is one more than 3 (normal-scaled) MADs off, once there are enough repeats
OUTLIER_MAD_MIN_N = 5  # the MAD of fewer values is too unstable to judge by

FloatArray = npt.NDArray[np.float64]
CI = tuple[float, float]


def as_array(values: Sequence[float] | FloatArray) -> FloatArray:
    """The finite values of a sequence as a float array."""
    arr = np.asarray(values, dtype=np.float64)
    return arr[np.isfinite(arr)]


def _mean(x: FloatArray, axis: int = -1) -> FloatArray:
    return np.asarray(np.mean(x, axis=axis), dtype=np.float64)


def _ratio(xs: FloatArray, ys: FloatArray, axis: int = -1) -> FloatArray:
    return _mean(xs, axis) / _mean(ys, axis)


def mean_ci(repeats: Sequence[float] | FloatArray, *, seed: int = SEED) -> CI | None:
    """Percentile-bootstrap 95 % CI of the mean of repeat values; None with fewer than MIN_REPEATS."""
    x = as_array(repeats)
    if x.size < MIN_REPEATS:
        return None
    if np.all(x == x[0]):
        return (float(x[0]), float(x[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap(
            (x,), _mean, vectorized=True, n_resamples=N_RESAMPLES, confidence_level=CONFIDENCE,
            method="percentile", rng=np.random.default_rng(seed),
        )  # fmt: skip
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def ratio_of_means(a: Sequence[float] | FloatArray, b: Sequence[float] | FloatArray) -> float:
    """mean(a) / mean(b); NaN when either is empty or mean(b) is 0."""
    x, y = as_array(a), as_array(b)
    if x.size == 0 or y.size == 0 or float(np.mean(y)) == 0.0:
        return math.nan
    return float(np.mean(x) / np.mean(y))


def ratio_ci(a: Sequence[float] | FloatArray, b: Sequence[float] | FloatArray, *, seed: int = SEED) -> CI | None:
    """95 % CI of mean(a) / mean(b), bootstrapping each side's repeats independently; None below MIN_REPEATS."""
    x, y = as_array(a), as_array(b)
    if x.size < MIN_REPEATS or y.size < MIN_REPEATS or np.any(y <= 0):
        return None
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return (float(x[0] / y[0]), float(x[0] / y[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap(
            (x, y), _ratio, vectorized=True, paired=False, n_resamples=N_RESAMPLES, confidence_level=CONFIDENCE,
            method="percentile", rng=np.random.default_rng(seed),
        )  # fmt: skip
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return (low, high) if math.isfinite(low) and math.isfinite(high) else None


def distance_from_one(ratio: float) -> float:
    """How far a ratio is from 1, symmetric in direction: 0.8 and 1.25 are both 0.25 away."""
    if not (math.isfinite(ratio) and ratio > 0):
        return math.nan
    return max(ratio, 1 / ratio) - 1


@dataclass(frozen=True)
class Call:
    """Whether a ratio is called a difference: its CI excludes 1 and it exceeds the noise floor."""

    called: bool | None  # None: not decidable (too few repeats or no noise floor)
    reason: str


def call(ratio: float, ci: CI | None, noise_floor: float | None) -> Call:
    """The A/A rule: a difference is called only if its CI excludes 1 AND its effect exceeds the noise floor."""
    if ci is None or not math.isfinite(ratio):
        return Call(None, f"no CI: fewer than {MIN_REPEATS} valid repeats on a side")
    if noise_floor is None or not math.isfinite(noise_floor):
        return Call(None, "no A/A noise floor measured in this run")
    if ci[0] <= 1.0 <= ci[1]:
        return Call(False, "CI includes 1")
    effect = distance_from_one(ratio)
    if effect <= noise_floor:
        return Call(False, f"effect {effect:.1%} within the A/A noise floor {noise_floor:.1%}")
    return Call(True, f"CI excludes 1 and effect {effect:.1%} > noise floor {noise_floor:.1%}")


def cv(values: Sequence[float] | FloatArray) -> float:
    """Coefficient of variation (sample std / mean); NaN with fewer than two values."""
    x = as_array(values)
    if x.size < 2 or float(np.mean(x)) == 0.0:
        return math.nan
    return float(np.std(x, ddof=1) / np.mean(x))


@dataclass(frozen=True)
class Outlier:
    """A repeat far from its group's median."""

    index: int
    value: float
    rel_off: float
    mads_off: float


def outliers(values: Sequence[float] | FloatArray) -> list[Outlier]:
    """Values > 20 % off the median, or > 3 scaled MADs off it when there are at least 5 values."""
    x = as_array(values)
    if x.size < 2:
        return []
    med = float(np.median(x))
    mad = float(stats.median_abs_deviation(x, scale="normal"))
    found = []
    for i, v in enumerate(x):
        rel = abs(v - med) / med if med else math.inf
        mads = abs(v - med) / mad if mad > 0 else (0.0 if v == med else math.inf)
        if rel > OUTLIER_REL or (x.size >= OUTLIER_MAD_MIN_N and mads > OUTLIER_MADS):
            found.append(Outlier(i, float(v), rel, mads))
    return found


def geometric_mean(values: Sequence[float] | FloatArray) -> float:
    """Geometric mean of the positive finite values; NaN when there are none."""
    x = as_array(values)
    x = x[x > 0]
    return float(stats.gmean(x)) if x.size else math.nan
