"""Adapter: today's analysis (bench.analyse.analysis.Analysis + the run's rows) → the report's typed inputs.

Charts (bench.report.charts) and the first screen (bench.report.answer) never read the analysis directly; this
module is the one place that knows its shape. Columns that other stages add to the run format (mode, purpose,
target_rps, achieved_rps, control_of; metadata.servers[].stack / .baseline) are used when present, so the report
grows with the data: open-loop curves, open-loop capacity, the A/A noise floor, decomposition, baselines.

Wiring to the typed analysis Result (branch "format", bench/analyse/result.py), one function at a time:
noise_floor → Result.noise_floor; decomposition_rows → Result.decomposition (Effect.ratio); baseline_series →
Result.baseline_fractions; effect_rows / facts.scenario_results → Result.best[(scenario, users, "rps")] with
Ratio.a/.b for .fastapi/.flask, .winner for .favours, .called for .significant; a.top_level(s) →
Result.top_level.get(s); invalid reasons → Result.invalid (cell ids name server and users). Open-loop cells and
capacity rows stay read from the run's summary (Result has none of them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from bench.analyse.analysis import Analysis, GroupStats, ratio
from bench.analyse.rundata import ordered
from bench.registry import SCENARIO_ORDER
from bench.report.chartkit import Panel, Point, Series
from bench.report.charts import OVERLOAD_PERCENTILES, Effect, StartTimes

STACKS = ("fastapi-async", "fastapi-sync", "flask-sync")


def _col(df: pd.DataFrame, name: str) -> pd.Series[Any]:
    return df[name] if name in df else pd.Series([""] * len(df), index=df.index, dtype=object)


def is_open(a: Analysis, cell_id: str) -> bool:
    """The cell ran open loop (fixed arrival rate)."""
    rows = a.run.summary[a.run.summary["cell_id"] == cell_id]
    return bool(len(rows)) and str(_col(rows, "mode").iloc[0]) == "open"


def closed_groups(a: Analysis) -> list[GroupStats]:
    """Groups measured in closed loop (all of them in runs without a mode column), A/A controls left out."""
    controls = set(a.run.summary.loc[_col(a.run.summary, "control_of").astype(str) != "", "server"])
    return [g for g in a.groups.values() if g.server not in controls and not any(is_open(a, c) for c in g.cell_ids)]


def _invalid_reason(a: Analysis, server: str, scenario: str, users: int | None = None) -> str:
    inv = a.run.invalid
    rows = inv[(inv["server"] == server) & (inv["scenario"] == scenario)]
    if users is not None:
        rows = rows[rows["users"] == users]
    return "; ".join(sorted({str(r) for r in rows["invalid_reason"]})) if len(rows) else ""


def _setups_of(a: Analysis, scenario: str) -> list[str]:
    summary = a.run.summary
    here = summary[(summary["scenario"] == scenario) & (_col(summary, "control_of").astype(str) == "")]
    return [s for s in a.run.servers if s in set(here["server"])]


def throughput_panels(a: Analysis) -> list[Panel]:
    """Per scenario: rps vs users per setup; cells with no valid repeat become invalid points with the reason."""
    groups = closed_groups(a)
    panels = []
    for scenario in a.run.scenarios:
        levels = sorted({int(u) for u in a.run.summary.loc[a.run.summary["scenario"] == scenario, "users"] if u > 0})
        series = []
        for server in _setups_of(a, scenario):
            pts = []
            for users in levels:
                g = next((g for g in groups if g.key == (server, scenario, users)), None)
                if g is not None:
                    lo, hi = g.rps_ci if g.rps_ci else (None, None)
                    pts.append(Point(users, g.rps_median, lo, hi))
                elif reason := _invalid_reason(a, server, scenario, users):
                    pts.append(Point(users, invalid=reason))
            if pts:
                series.append(Series(server, a.run.framework_of(server), tuple(pts)))
        if series:
            panels.append(Panel(scenario, tuple(series)))
    return panels


def overload_panels(a: Analysis) -> list[Panel]:
    """Per scenario at its highest closed-loop concurrency: p50…p99.9 per setup (medians over repeats)."""
    groups = closed_groups(a)
    panels = []
    for scenario in a.run.scenarios:
        here = [g for g in groups if g.scenario == scenario]
        if not here and not _setups_of(a, scenario):
            continue
        users = a.top_level(scenario) or max((g.users for g in here), default=None)
        series = []
        for server in _setups_of(a, scenario):
            g = next((g for g in here if g.server == server and g.users == users), None)
            if g is None:
                reason = _invalid_reason(a, server, scenario, users)
                if reason:
                    series.append(Series(server, a.run.framework_of(server), (Point(50.0, invalid=reason),)))
                continue
            values = (g.p50_median, g.p90_median, g.p99_median, g.p999_median)
            cis = (g.p50_ci, None, g.p99_ci, None)
            pts = tuple(
                Point(p, v, *(ci if ci else (None, None)))
                for p, v, ci in zip(OVERLOAD_PERCENTILES, values, cis, strict=True)
            )
            series.append(Series(server, g.framework, pts))
        if series:
            panels.append(Panel(f"{scenario} — {users} users", tuple(series)))
    return panels


def open_panels(a: Analysis) -> list[Panel]:
    """Open-loop fixed-rate cells: p99 (from intended send time) vs achieved rps, per setup and scenario."""
    s = a.run.summary
    if "mode" not in s:
        return []
    rows = s[(s["mode"].astype(str) == "open") & (_col(s, "purpose").astype(str) != "capacity")]
    panels = []
    for scenario in ordered([str(x) for x in rows["scenario"]], SCENARIO_ORDER):
        series = []
        for server in _setups_of(a, scenario):
            mine = rows[(rows["scenario"] == scenario) & (rows["server"] == server)]
            pts = []
            for target, cells in mine.groupby(pd.to_numeric(mine["target_rps"], errors="coerce")):
                ok = cells[cells["valid"]]
                if len(ok):
                    achieved = pd.to_numeric(ok["achieved_rps"], errors="coerce")
                    pts.append(Point(float(np.nanmedian(achieved)), float(np.nanmedian(ok["p99_ms"]))))
                else:
                    pts.append(Point(float(target), invalid="; ".join(sorted(set(cells["invalid_reason"])))))
            if pts:
                series.append(Series(server, a.run.framework_of(server), tuple(sorted(pts, key=lambda p: p.x))))
        if series:
            panels.append(Panel(scenario, tuple(series)))
    return panels


def noise_floor(a: Analysis) -> float | None:
    """Largest |A/A ratio − 1| of throughput over the run's control groups; None without an A/A control."""
    groups = list(a.groups.values())
    controls = a.run.summary[_col(a.run.summary, "control_of").astype(str) != ""]
    floors = []
    for server, of in {(str(r["server"]), str(r["control_of"])) for _, r in controls.iterrows()}:
        for g in (g for g in groups if g.server == server):
            twin = a.groups.get((of, g.scenario, g.users))
            if twin is not None and twin.rps_median > 0:
                floors.append(abs(g.rps_median / twin.rps_median - 1.0))
    return max(floors) if floors else None


def effect_rows(a: Analysis, floor: float | None) -> list[Effect]:
    """FastAPI ÷ Flask throughput per scenario at its highest shared concurrency; unmeasured ones with a reason."""
    out = []
    for scenario in a.run.scenarios:
        users = a.top_level(scenario)
        if users is None:
            reasons = {_invalid_reason(a, s, scenario) for s in _setups_of(a, scenario)} - {""}
            out.append(Effect(scenario, math.nan, invalid="; ".join(sorted(reasons)) or "one framework only"))
            continue
        r = a.best_ratios[(scenario, users, "rps")]
        beyond = floor is None or abs(r.ratio - 1) > floor
        lo, hi = r.ci if r.ci else (None, None)
        out.append(Effect(f"{scenario} ({users} users)", r.ratio, lo, hi, r.favours if beyond else None))
    return out


def stack_of(a: Analysis, server: str) -> str:
    """The setup's stack from metadata, else inferred from framework and DB driver."""
    meta = (a.run.metadata.get("servers") or {}).get(server) or {}
    if meta.get("stack"):
        return str(meta["stack"])
    fw = a.run.framework_of(server)
    driver = str(meta.get("db_driver", "")).lower()
    return f"{fw}-{'async' if fw == 'fastapi' and ('async' in driver or not driver) else 'sync'}"


def baseline_of(a: Analysis, server: str) -> str | None:
    """The baseline setup of the setup's stack (metadata.servers[].baseline, else 'baseline-<stack>')."""
    meta = (a.run.metadata.get("servers") or {}).get(server) or {}
    if "baseline" in meta:
        return str(meta["baseline"]) if meta["baseline"] else None
    return None if server.startswith("baseline-") else f"baseline-{stack_of(a, server)}"


def _best(groups: Iterable[GroupStats]) -> GroupStats | None:
    return max(groups, key=lambda g: g.rps_median, default=None)


def decomposition_rows(a: Analysis, floor: float | None) -> list[Effect]:
    """Per scenario: framework effect (FastAPI-sync ÷ Flask-sync) and driver effect (FastAPI-async ÷ -sync)."""
    groups = [g for g in closed_groups(a) if baseline_of(a, g.server) is not None]
    out = []
    for scenario in a.scenarios:
        users = a.top_level(scenario)
        here = [g for g in groups if g.scenario == scenario and g.users == users]
        best = {st: _best(g for g in here if stack_of(a, g.server) == st) for st in STACKS}
        for label, first, second, fav in (
            ("framework: FastAPI ÷ Flask, both sync driver", "fastapi-sync", "flask-sync", ("fastapi", "flask")),
            ("driver: async ÷ sync, both FastAPI", "fastapi-async", "fastapi-sync", ("async", "sync")),
        ):
            x, y = best[first], best[second]
            if x is None or y is None:
                continue
            r = ratio(x, y, "rps")
            lo, hi = r.ci if r.ci else (None, None)
            sig = bool(r.significant) and (floor is None or abs(r.ratio - 1) > floor)
            favours = (fav[0] if r.ratio > 1 else fav[1]) if sig else None
            out.append(Effect(f"{scenario} · {label}", r.ratio, lo, hi, favours))
    return out


def baseline_series(a: Analysis) -> tuple[list[str], list[Series]]:
    """Each app setup's rps ÷ its stack baseline's rps, per scenario both served, at the top concurrency."""
    groups = closed_groups(a)
    cats: list[str] = []
    by_setup: dict[str, list[Point]] = {}
    for scenario in a.scenarios:
        here = {g.server: g for g in groups if g.scenario == scenario and g.users == _top(a, groups, scenario)}
        pairs = [(g, here[b]) for g in here.values() if (b := baseline_of(a, g.server)) and b in here]
        if not pairs:
            continue
        cats.append(scenario)
        for g, base in pairs:
            r = ratio(g, base, "rps")
            lo, hi = r.ci if r.ci else (None, None)
            by_setup.setdefault(g.server, []).append(Point(len(cats) - 1, r.ratio, lo, hi))
    series = [Series(s, a.run.framework_of(s), tuple(p)) for s, p in by_setup.items()]
    return cats, series


def _top(a: Analysis, groups: list[GroupStats], scenario: str) -> int | None:
    return a.top_level(scenario) or max((g.users for g in groups if g.scenario == scenario), default=None)


def per_setup_series(a: Analysis, metric: str) -> tuple[list[str], list[Series]]:
    """One GroupStats attribute per scenario (x = scenario index) and setup, at each scenario's top level."""
    groups = closed_groups(a)
    cats = [s for s in a.run.scenarios if s in a.scenarios or _setups_of(a, s)]
    by_setup: dict[str, list[Point]] = {}
    for i, scenario in enumerate(cats):
        users = _top(a, groups, scenario)
        for server in _setups_of(a, scenario):
            g = a.groups.get((server, scenario, users or 0))
            if g is not None:
                by_setup.setdefault(server, []).append(Point(i, float(getattr(g, metric))))
            elif reason := _invalid_reason(a, server, scenario, users):
                by_setup.setdefault(server, []).append(Point(i, invalid=reason))
    return cats, [Series(s, a.run.framework_of(s), tuple(p)) for s, p in by_setup.items()]


def start_times(a: Analysis) -> list[StartTimes]:
    """Cold-start samples per framework from ergonomics.json."""
    cs = (a.run.ergonomics or {}).get("cold_start")
    out = []
    for fw in ("fastapi", "flask"):
        d = cs.get(fw) if isinstance(cs, dict) else None
        if isinstance(d, dict) and d.get("median_s") is not None:
            samples = tuple(float(x) for x in d.get("samples") or [d["median_s"]])
            imp = d.get("import_s")
            out.append(StartTimes(fw, samples, float(d["median_s"]), float(imp) if imp is not None else None))
    return out
