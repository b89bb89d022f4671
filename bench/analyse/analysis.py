"""Derive every figure the report shows from a run: per-group medians, CIs, warnings, FastAPI ÷ Flask ratios.

A group is (server, scenario, users) over its valid repeats. Invalid cells never enter a figure; they are listed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from itertools import product

import numpy as np
import pandas as pd

from bench.analyse import stats
from bench.analyse.rundata import (
    SETUP_ORDER,
    GroupKey,
    Run,
    consistency_issues,
    distribution,
    hdr_points,
    load_run,
    merged_histogram,
    ordered,
    percentile_curve,
)
from bench.analyse.stats import FloatArray, TestName
from bench.registry import SCENARIO_ORDER

__all__ = [
    "Analysis",
    "GroupStats",
    "Ratio",
    "Run",
    "analyse",
    "best_setups",
    "comparison_samples",
    "distribution",
    "group_stats",
    "hdr_points",
    "levels",
    "load_run",
    "merged_histogram",
    "percentile_curve",
    "ratio",
]

MIN_REPEATS_FOR_REPEAT_STATS = 3


@dataclass(frozen=True)
class GroupStats:
    """A (server, scenario, users) group over its valid repeats."""

    server: str
    framework: str
    scenario: str
    users: int
    cell_ids: tuple[str, ...]
    rps: tuple[float, ...]
    p50: tuple[float, ...]
    p99: tuple[float, ...]
    per_second: tuple[float, ...]
    rps_median: float
    rps_ci: tuple[float, float] | None
    rps_ci_basis: str
    p50_median: float
    p50_ci: tuple[float, float] | None
    p90_median: float
    p99_median: float
    p99_ci: tuple[float, float] | None
    p999_median: float
    cv: float
    cv_basis: str
    rps_per_cpu_s: float
    rss_per_worker_mb: float
    server_cpu_pct: float
    error_rate: float
    warnings: tuple[str, ...]

    @property
    def repeats(self) -> int:
        """Number of valid repeats."""
        return len(self.cell_ids)

    @property
    def key(self) -> GroupKey:
        """(server, scenario, users)."""
        return (self.server, self.scenario, self.users)

    def values(self, metric: str) -> tuple[float, ...]:
        """Per-repeat values of rps, p50_ms or p99_ms."""
        return {"rps": self.rps, "p50_ms": self.p50, "p99_ms": self.p99}[metric]

    def median(self, metric: str) -> float:
        """Median over repeats of rps, p50_ms or p99_ms."""
        return {"rps": self.rps_median, "p50_ms": self.p50_median, "p99_ms": self.p99_median}[metric]


def comparison_samples(
    a: GroupStats, b: GroupStats, metric: str
) -> tuple[tuple[float, ...], tuple[float, ...], TestName, str] | None:
    """Samples to compare two groups on: repeats (Welch) if both have ≥ 3, else per-second rps (Mann-Whitney)."""
    if a.repeats >= MIN_REPEATS_FOR_REPEAT_STATS and b.repeats >= MIN_REPEATS_FOR_REPEAT_STATS:
        return a.values(metric), b.values(metric), "Welch t", f"repeats ({a.repeats} vs {b.repeats})"
    if metric == "rps" and len(a.per_second) >= 2 and len(b.per_second) >= 2:
        return a.per_second, b.per_second, "Mann-Whitney U", "per-second samples"
    return None


def _median(values: pd.Series[float] | FloatArray) -> float:
    arr = stats.as_array(np.asarray(values, dtype=np.float64))
    return float(np.median(arr)) if arr.size else math.nan


def _group(run: Run, key: GroupKey, rows: pd.DataFrame) -> GroupStats:
    server, scenario, users = key
    rows = rows.sort_values("repeat")
    cell_ids = tuple(str(c) for c in rows["cell_id"])
    rps = rows["rps"].to_numpy(dtype=np.float64)
    enough = len(rows) >= MIN_REPEATS_FOR_REPEAT_STATS
    per_second = np.concatenate([run.per_second(c) for c in cell_ids]) if cell_ids else np.empty(0)
    if enough:
        rps_ci, basis = stats.bootstrap_ci(rps), f"bootstrap of the median over {len(rows)} repeats"
    elif per_second.size >= 2:
        rps_ci = stats.bootstrap_ci(per_second, statistic="mean")
        basis = f"bootstrap of the mean over {per_second.size} per-second samples ({len(rows)} repeat(s))"
    else:
        rps_ci, basis = None, "no CI (no per-second samples)"
    warnings: list[str] = []
    if len(rows) >= 2:
        cv, cv_basis = stats.cv(rps), "repeats"
        if cv >= stats.CV_WARN:
            warnings.append(f"throughput CV {cv:.0%} over {len(rows)} repeats (≥ {stats.CV_WARN:.0%})")
    else:
        cv, cv_basis = stats.cv(per_second), "per-second samples"
        if cv >= stats.CV_WARN:
            warnings.append(f"throughput varied {cv:.0%} (CV) second to second within the single repeat")
    for out in stats.outliers(rps):
        warnings.append(
            f"repeat {int(rows['repeat'].iloc[out.index])} ({out.value:,.0f} rps) is {out.rel_off:.0%} off the median"
            + (f" ({out.mads_off:.1f} MADs)" if math.isfinite(out.mads_off) and out.mads_off > 0 else "")
        )
    cpu = rows["server_cpu_s"].to_numpy(dtype=np.float64)
    per_cpu = np.where(cpu > 0, rows["requests"].to_numpy(dtype=np.float64) / np.where(cpu > 0, cpu, 1), np.nan)
    p50, p99 = rows["p50_ms"].to_numpy(dtype=np.float64), rows["p99_ms"].to_numpy(dtype=np.float64)
    return GroupStats(
        server=server,
        framework=run.framework_of(server),
        scenario=scenario,
        users=users,
        cell_ids=cell_ids,
        rps=tuple(float(v) for v in rps),
        p50=tuple(float(v) for v in p50),
        p99=tuple(float(v) for v in p99),
        per_second=tuple(float(v) for v in per_second),
        rps_median=_median(rps),
        rps_ci=rps_ci,
        rps_ci_basis=basis,
        p50_median=_median(p50),
        p50_ci=stats.bootstrap_ci(p50) if enough else None,
        p90_median=_median(rows["p90_ms"]),
        p99_median=_median(p99),
        p99_ci=stats.bootstrap_ci(p99) if enough else None,
        p999_median=_median(rows["p999_ms"]),
        cv=cv,
        cv_basis=cv_basis,
        rps_per_cpu_s=_median(per_cpu),
        rss_per_worker_mb=_median(rows["rss_per_worker_mb"]),
        server_cpu_pct=_median(rows["server_cpu_pct"]),
        error_rate=_median(rows["error_rate"]),
        warnings=tuple(warnings),
    )


def group_stats(run: Run) -> dict[GroupKey, GroupStats]:
    """Statistics of every (server, scenario, users) group that has at least one valid cell."""
    valid = run.valid
    out: dict[GroupKey, GroupStats] = {}
    for server, scenario in product(run.servers, run.scenarios):
        rows = valid[(valid["server"] == server) & (valid["scenario"] == scenario)]
        for users in sorted(set(int(u) for u in rows["users"])):
            key = (server, scenario, users)
            out[key] = _group(run, key, rows[rows["users"] == users])
    return out


@dataclass(frozen=True)
class Ratio:
    """FastAPI ÷ Flask for one metric, scenario and concurrency, with a bootstrap CI and a test."""

    scenario: str
    users: int
    metric: str
    fastapi: GroupStats
    flask: GroupStats
    ratio: float
    ci: tuple[float, float] | None
    p_value: float | None
    test: TestName | None
    basis: str

    @property
    def significant(self) -> bool | None:
        """p < 0.05 and CI excludes 1; None when untested."""
        return stats.is_significant(self.p_value, self.ci)

    @property
    def favours(self) -> str | None:
        """'fastapi' or 'flask' when the difference is significant, else None."""
        if not self.significant or not math.isfinite(self.ratio):
            return None
        higher_is_better = self.metric == "rps"
        return "fastapi" if (self.ratio > 1) == higher_is_better else "flask"


def ratio(fastapi: GroupStats, flask: GroupStats, metric: str) -> Ratio:
    """FastAPI ÷ Flask ratio of means of `metric` with a bootstrap CI and Welch / Mann-Whitney test."""
    picked = comparison_samples(fastapi, flask, metric)
    if picked is None:  # too few repeats for a latency test: ratio of the medians, untested
        vb = flask.median(metric)
        value = fastapi.median(metric) / vb if vb else math.nan
        basis = f"untested: {fastapi.repeats} vs {flask.repeats} repeats"
        return Ratio(fastapi.scenario, fastapi.users, metric, fastapi, flask, value, None, None, None, basis)
    a, b, test, basis = picked
    return Ratio(
        scenario=fastapi.scenario,
        users=fastapi.users,
        metric=metric,
        fastapi=fastapi,
        flask=flask,
        ratio=stats.ratio_of_means(a, b),
        ci=stats.ratio_ci(a, b),
        p_value=stats.significance(a, b, test=test),
        test=test,
        basis=basis,
    )


def best_setups(groups: dict[GroupKey, GroupStats], scenario: str, users: int) -> dict[str, GroupStats]:
    """Each framework's setup with the highest median rps at this scenario and concurrency."""
    best: dict[str, GroupStats] = {}
    for g in groups.values():
        if g.scenario == scenario and g.users == users and math.isfinite(g.rps_median):
            cur = best.get(g.framework)
            if cur is None or g.rps_median > cur.rps_median:
                best[g.framework] = g
    return best


def levels(groups: dict[GroupKey, GroupStats], scenario: str) -> list[int]:
    """Concurrency levels at which both frameworks have a valid group in this scenario."""
    by_fw: dict[str, set[int]] = {}
    for g in groups.values():
        if g.scenario == scenario:
            by_fw.setdefault(g.framework, set()).add(g.users)
    both = by_fw.get("fastapi", set()) & by_fw.get("flask", set())
    return sorted(both)


@dataclass
class Analysis:
    """Everything derived from one run: groups, ratios, consistency issues."""

    run: Run
    groups: dict[GroupKey, GroupStats]

    @property
    def scenarios(self) -> list[str]:
        """Scenarios with at least one valid group."""
        return ordered([g.scenario for g in self.groups.values()], SCENARIO_ORDER)

    @property
    def servers(self) -> list[str]:
        """Setups with at least one valid group."""
        return ordered([g.server for g in self.groups.values()], SETUP_ORDER)

    def top_level(self, scenario: str) -> int | None:
        """Highest concurrency where both frameworks were measured in this scenario."""
        lv = levels(self.groups, scenario)
        return lv[-1] if lv else None

    @cached_property
    def best_ratios(self) -> dict[tuple[str, int, str], Ratio]:
        """(scenario, users, metric) → best FastAPI setup ÷ best Flask setup."""
        out: dict[tuple[str, int, str], Ratio] = {}
        for scenario in self.scenarios:
            for users in levels(self.groups, scenario):
                best = best_setups(self.groups, scenario, users)
                for metric in ("rps", "p50_ms", "p99_ms"):
                    out[(scenario, users, metric)] = ratio(best["fastapi"], best["flask"], metric)
        return out

    @cached_property
    def pair_ratios(self) -> list[Ratio]:
        """FastAPI ÷ Flask rps, p50 and p99 ratios for every (FastAPI setup, Flask setup) pair."""
        out: list[Ratio] = []
        for scenario in self.scenarios:
            for users in levels(self.groups, scenario):
                here = [g for g in self.groups.values() if g.scenario == scenario and g.users == users]
                for fa, fl in product(here, here):
                    if fa.framework == "fastapi" and fl.framework == "flask":
                        out.extend(ratio(fa, fl, m) for m in ("rps", "p50_ms", "p99_ms"))
        return out

    @cached_property
    def consistency_issues(self) -> list[str]:
        """Ways the setups of this run differ that they should not (empty when all is as designed)."""
        return consistency_issues(self.run)


def analyse(run: Run) -> Analysis:
    """Group statistics and ratios of a loaded run."""
    return Analysis(run, group_stats(run))
