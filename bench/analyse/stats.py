"""Statistics used by the analysis and the run comparison: bootstrap CIs, ratio CIs, tests, stability checks.

Everything is seeded (numpy ``Generator``) so the same raw data always gives the same report.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

SEED = 20240601
N_RESAMPLES = 4000
CONFIDENCE = 0.95
ALPHA = 0.05
CV_WARN = 0.10  # pyperf warns when the standard deviation is > 10 % of the mean
OUTLIER_REL = 0.20  # a repeat more than 20 % off the median is suspicious
OUTLIER_MADS = 3.0  # ... as is one more than 3 (normal-scaled) MADs off, once there are enough repeats
OUTLIER_MAD_MIN_N = 5  # the MAD of fewer values is too unstable to judge by

FloatArray = npt.NDArray[np.float64]
TestName = Literal["Welch t", "Mann-Whitney U"]
Statistic = Callable[..., FloatArray]


def as_array(values: Sequence[float] | FloatArray) -> FloatArray:
    """The finite values of a sequence as a float array."""
    arr = np.asarray(values, dtype=np.float64)
    return arr[np.isfinite(arr)]


def _mean(x: FloatArray, axis: int = -1) -> FloatArray:
    return np.asarray(np.mean(x, axis=axis), dtype=np.float64)


def _median(x: FloatArray, axis: int = -1) -> FloatArray:
    return np.asarray(np.median(x, axis=axis), dtype=np.float64)


STATISTICS: dict[str, Statistic] = {"mean": _mean, "median": _median}


def bootstrap_ci(
    values: Sequence[float] | FloatArray, *, statistic: str = "median", seed: int = SEED
) -> tuple[float, float] | None:
    """Percentile-bootstrap 95 % CI of the mean or median; None with fewer than two values."""
    x = as_array(values)
    if x.size < 2:
        return None
    if np.all(x == x[0]):
        return (float(x[0]), float(x[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap(
            (x,),
            STATISTICS[statistic],
            vectorized=True,
            n_resamples=N_RESAMPLES,
            confidence_level=CONFIDENCE,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def ratio_of_means(a: Sequence[float] | FloatArray, b: Sequence[float] | FloatArray) -> float:
    """mean(a) / mean(b); NaN when either is empty or mean(b) is 0."""
    x, y = as_array(a), as_array(b)
    if x.size == 0 or y.size == 0 or float(np.mean(y)) == 0.0:
        return math.nan
    return float(np.mean(x) / np.mean(y))


def ratio_ci(
    a: Sequence[float] | FloatArray, b: Sequence[float] | FloatArray, *, seed: int = SEED
) -> tuple[float, float] | None:
    """Percentile-bootstrap 95 % CI of mean(a) / mean(b), resampling a and b independently."""
    x, y = as_array(a), as_array(b)
    if x.size < 2 or y.size < 2 or np.any(y <= 0):
        return None

    def _ratio(xs: FloatArray, ys: FloatArray, axis: int = -1) -> FloatArray:
        return _mean(xs, axis) / _mean(ys, axis)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap(
            (x, y),
            _ratio,
            vectorized=True,
            paired=False,
            n_resamples=N_RESAMPLES,
            confidence_level=CONFIDENCE,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return (low, high)


def significance(a: Sequence[float] | FloatArray, b: Sequence[float] | FloatArray, *, test: TestName) -> float | None:
    """Two-sided p-value of Welch's t-test or the Mann-Whitney U test; None when untestable."""
    x, y = as_array(a), as_array(b)
    if x.size < 2 or y.size < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if test == "Welch t":
            if np.ptp(x) == 0 and np.ptp(y) == 0:
                return 1.0 if x[0] == y[0] else 0.0
            p = float(stats.ttest_ind(x, y, equal_var=False).pvalue)
        else:
            p = float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)
    return p if math.isfinite(p) else 1.0


def is_significant(p_value: float | None, ci: tuple[float, float] | None, *, null: float = 1.0) -> bool | None:
    """True when p < 0.05 and the CI excludes the null value; None when nothing was tested."""
    if p_value is None:
        return None
    if p_value >= ALPHA:
        return False
    return not (ci is not None and ci[0] <= null <= ci[1])


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
