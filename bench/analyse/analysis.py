"""The analysis stage: one pass over a loaded run that computes every figure of its Result.

A group is (server, scenario, users) over its valid repeats. Invalid cells never enter a figure; they are listed.
Every CI and every call is made across repeats (bench.analyse.stats); the per-second spread is only "stability".
"""

from __future__ import annotations

import math
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd

from bench.analyse import stats
from bench.analyse.controls import baseline_fractions, decompose, make_ratio, noise_floor
from bench.analyse.cpucost import cpu_costs
from bench.analyse.result import (
    CURVE_PERCENTILES,
    METRICS,
    GroupKey,
    GroupStats,
    InvalidCell,
    Latency,
    Ratio,
    Result,
    SetupRow,
)
from bench.analyse.rundata import Run, consistency_issues, hdr_points, load_run, merged_histogram, percentile_curve
from bench.analyse.stacks import stack_of

__all__ = ["analyse", "analyse_dir", "group_stats"]

RAW_FILES = ("cell.json", "hdr.txt", "timeline.csv", "resources.csv", "server.log")
RUN_FILES = ("summary.csv", "summary.json", "metadata.json", "ergonomics.json")


def _median(values: pd.Series[float] | stats.FloatArray) -> float:
    arr = stats.as_array(np.asarray(values, dtype=np.float64))
    return float(np.median(arr)) if arr.size else math.nan


def _warnings(rows: pd.DataFrame, rps: stats.FloatArray, cv: float) -> list[str]:
    out: list[str] = []
    if math.isfinite(cv) and cv >= stats.CV_WARN:
        out.append(f"throughput CV {cv:.0%} over {len(rows)} repeats (≥ {stats.CV_WARN:.0%})")
    if len(rows) < stats.MIN_REPEATS:
        out.append(f"{len(rows)} valid repeat(s): no CI and no verdict (needs {stats.MIN_REPEATS})")
    for o in stats.outliers(rps):
        mads = f" ({o.mads_off:.1f} MADs)" if math.isfinite(o.mads_off) and o.mads_off > 0 else ""
        out.append(
            f"repeat {int(rows['repeat'].iloc[o.index])} ({o.value:,.0f} rps) is {o.rel_off:.0%} off the median{mads}"
        )
    return out


def _group(run: Run, key: GroupKey, rows: pd.DataFrame) -> GroupStats:
    server, scenario, users = key
    rows = rows.sort_values("repeat")
    cell_ids = tuple(str(c) for c in rows["cell_id"])
    rps = rows["rps"].to_numpy(dtype=np.float64)
    p50, p99 = rows["p50_ms"].to_numpy(dtype=np.float64), rows["p99_ms"].to_numpy(dtype=np.float64)
    cv = stats.cv(rps)
    stability = _median(np.array([stats.cv(run.per_second(c)) for c in cell_ids]))
    cpu = rows["server_cpu_s"].to_numpy(dtype=np.float64)
    per_cpu = np.where(cpu > 0, rows["requests"].to_numpy(dtype=np.float64) / np.where(cpu > 0, cpu, 1), np.nan)
    control_of = str(rows["control_of"].iloc[0]) if len(rows) else ""
    return GroupStats(
        server=server,
        framework=run.framework_of(server),
        stack=stack_of(server, run.metadata.servers.get(control_of or server)),
        control_of=control_of,
        scenario=scenario,
        users=users,
        cell_ids=cell_ids,
        rps=tuple(float(v) for v in rps),
        p50=tuple(float(v) for v in p50),
        p99=tuple(float(v) for v in p99),
        rps_mean=float(np.mean(rps)) if rps.size else math.nan,
        rps_median=_median(rps),
        rps_ci=stats.mean_ci(rps),
        p50_median=_median(p50),
        p50_ci=stats.mean_ci(p50),
        p90_median=_median(rows["p90_ms"]),
        p99_median=_median(p99),
        p99_ci=stats.mean_ci(p99),
        p999_median=_median(rows["p999_ms"]),
        cv=cv,
        stability=stability,
        rps_per_cpu_s=_median(per_cpu),
        rss_per_worker_mb=_median(rows["rss_per_worker_mb"]),
        server_cpu_pct=_median(rows["server_cpu_pct"]),
        error_rate=_median(rows["error_rate"]),
        warnings=tuple(_warnings(rows, rps, cv)),
    )


def group_stats(run: Run) -> dict[GroupKey, GroupStats]:
    """Statistics of every (server, scenario, users) group that has at least one valid closed-loop cell."""
    # Open-loop cells (fixed rates, capacity probes) have their own figures (report/adapt.py, report/facts.py);
    # their paced-user counts are not concurrency levels and one cell per rate is not a repeat.
    valid = run.valid[run.valid["mode"] == "closed"]
    out: dict[GroupKey, GroupStats] = {}
    for server, scenario in product(run.servers, run.scenarios):
        rows = valid[(valid["server"] == server) & (valid["scenario"] == scenario)]
        for users in sorted(set(int(u) for u in rows["users"])):
            out[(server, scenario, users)] = _group(run, (server, scenario, users), rows[rows["users"] == users])
    return out


def _with_latency(run: Run, g: GroupStats) -> GroupStats:
    hist = merged_histogram(run, g.cell_ids)
    if hist is None or hist.get_total_count() == 0:
        return g
    values, counts = hdr_points(hist)
    curve = percentile_curve(hist, CURVE_PERCENTILES)
    latency = Latency(tuple(float(v) for v in values), tuple(float(c) for c in counts), tuple(curve))
    return GroupStats(**{**g.__dict__, "latency": latency})


def _top_levels(groups: dict[GroupKey, GroupStats], scenarios: list[str]) -> dict[str, int]:
    out = {}
    for scenario in scenarios:
        by_fw: dict[str, set[int]] = {}
        for g in groups.values():
            if g.scenario == scenario and g.is_app:
                by_fw.setdefault(g.framework, set()).add(g.users)
        both = by_fw.get("fastapi", set()) & by_fw.get("flask", set())
        if both:
            out[scenario] = max(both)
    return out


def _levels(groups: dict[GroupKey, GroupStats], scenario: str) -> list[int]:
    by_fw: dict[str, set[int]] = {}
    for g in groups.values():
        if g.scenario == scenario and g.is_app:
            by_fw.setdefault(g.framework, set()).add(g.users)
    return sorted(by_fw.get("fastapi", set()) & by_fw.get("flask", set()))


def best_app(groups: list[GroupStats], want: str, *, by: str = "framework") -> GroupStats | None:
    """The app setup (no baseline, no control) with the highest median rps whose framework or stack is `want`."""
    mine = [g for g in groups if g.is_app and getattr(g, by) == want and math.isfinite(g.rps_median)]
    return max(mine, key=lambda g: g.rps_median) if mine else None


def _framework_ratios(
    groups: dict[GroupKey, GroupStats], scenarios: list[str], floor: float | None
) -> tuple[dict[tuple[str, int, str], Ratio], list[Ratio]]:
    best: dict[tuple[str, int, str], Ratio] = {}
    pairs: list[Ratio] = []
    for scenario in scenarios:
        for users in _levels(groups, scenario):
            here = [g for g in groups.values() if g.scenario == scenario and g.users == users]
            fa, fl = best_app(here, "fastapi"), best_app(here, "flask")
            if fa is not None and fl is not None:
                for metric in METRICS:
                    best[(scenario, users, metric)] = make_ratio(fa, fl, metric, floor)
            apps = [g for g in here if g.is_app]
            for a, b in product(apps, apps):
                if a.framework == "fastapi" and b.framework == "flask":
                    pairs.extend(make_ratio(a, b, m, floor) for m in METRICS)
    return best, pairs


def _setups(run: Run, measured: set[str]) -> list[SetupRow]:
    rows = []
    servers = run.metadata.servers
    for name in run.servers or list(servers):
        s = servers.get(name)
        cells = run.summary[run.summary["server"] == name]
        workers = sorted({int(w) for w in cells["workers"].dropna()}) or ([s.workers] if s and s.workers else [])

        def label(value: object) -> str:
            return "—" if value in (None, "") else str(value)

        rows.append(
            SetupRow(
                name=name,
                framework=s.framework if s else run.framework_of(name),
                stack=stack_of(name, s),
                command=s.command if s else "—",
                workers="/".join(map(str, workers)) or "—",
                worker_class=label(s.worker_class if s else None),
                threads=label(s.threads if s else None),
                keep_alive=label(s.keep_alive if s else None),
                db_driver=label(s.db_driver if s else None),
                http_client=label(s.http_client if s else None),
                pool=label(s.pool_size_per_worker if s else None),
                db_admission=s.db_admission if s else "",
                measured=name in measured,
            )
        )
    return rows


def _invalid(run: Run) -> tuple[list[InvalidCell], dict[str, list[str]]]:
    cells: list[InvalidCell] = []
    by_scenario: dict[str, list[str]] = {}
    for _, r in run.invalid.sort_values(["scenario", "server", "users", "repeat"]).iterrows():
        cell, reason = str(r["cell_id"]), str(r["invalid_reason"])
        files = tuple(f for f in RAW_FILES if (run.cell_dir(cell) / f).exists())
        cells.append(InvalidCell(cell, str(r["scenario"]), tuple(reason.split(";")), files))
        by_scenario.setdefault(str(r["scenario"]), []).append(reason)
    return cells, by_scenario


def analyse(run: Run) -> Result:
    """Every figure of a loaded run, computed once."""
    groups = group_stats(run)
    scenarios = [s for s in run.scenarios if any(g.scenario == s for g in groups.values())]
    servers = [s for s in run.servers if any(g.server == s for g in groups.values())]
    top = _top_levels(groups, scenarios)
    for scenario in scenarios:  # the charts draw each scenario's top level (or its highest measured level)
        users = top.get(scenario, max(g.users for g in groups.values() if g.scenario == scenario))
        for key, g in groups.items():
            if g.scenario == scenario and g.users == users:
                groups[key] = _with_latency(run, g)
    noise = noise_floor(groups)
    floor = noise.floor if noise else None
    best, pairs = _framework_ratios(groups, scenarios, floor)
    invalid, invalid_by_scenario = _invalid(run)
    return Result(
        path=run.path,
        run_id=run.run_id,
        metadata=run.metadata,
        ergonomics=run.ergonomics,
        groups=groups,
        scenarios=scenarios,
        servers=servers,
        top_level=top,
        best=best,
        pairs=pairs,
        noise=noise,
        decomposition=decompose(groups, scenarios, floor),
        baseline_fractions=baseline_fractions(groups, floor),
        cpu_costs=cpu_costs(run),
        setups=_setups(run, set(servers)),
        invalid=invalid,
        invalid_reasons_by_scenario=invalid_by_scenario,
        consistency_issues=consistency_issues(run),
        valid_cells=[str(c) for c in run.valid["cell_id"]],
        cells_total=len(run.summary),
        files=[f for f in RUN_FILES if (run.path / f).exists()],
        repeats=sorted({g.repeats for g in groups.values()}),
    )


def analyse_dir(run_dir: Path) -> Result:
    """Load a run directory and analyse it."""
    return analyse(load_run(Path(run_dir)))
