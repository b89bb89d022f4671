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
import textwrap
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.analyse.analysis import analyse
from bench.analyse.result import GroupKey, GroupStats, Ratio, Result
from bench.analyse.rundata import Run, load_run, ordered
from bench.registry import SCENARIO_ORDER
from bench.report.chartkit import Panel, Point, Series
from bench.report.charts import OVERLOAD_PERCENTILES, Effect, StartTimes

SIDES = {"framework": ("fastapi", "flask"), "driver": ("async", "sync")}


@dataclass
class Analysis:
    """What the report reads: the analysis Result, and the run's rows for what the Result does not carry."""

    result: Result
    run: Run

    @cached_property
    def meta(self) -> dict[str, Any]:
        """metadata.json as stored."""
        return self.run.metadata.stored()

    @cached_property
    def erg(self) -> dict[str, Any] | None:
        """ergonomics.json as stored, or None."""
        return self.run.ergonomics.stored() if self.run.ergonomics else None

    @property
    def groups(self) -> dict[GroupKey, GroupStats]:
        """Every (server, scenario, users) group with a valid repeat."""
        return self.result.groups

    @property
    def scenarios(self) -> list[str]:
        """Scenarios with a valid group."""
        return self.result.scenarios

    @property
    def servers(self) -> list[str]:
        """Setups with a valid group."""
        return self.result.servers

    @property
    def best_ratios(self) -> dict[tuple[str, int, str], Ratio]:
        """(scenario, users, metric) → best FastAPI app ÷ best Flask app."""
        return self.result.best

    def top_level(self, scenario: str) -> int | None:
        """Highest concurrency where both frameworks' apps were measured."""
        return self.result.top_level.get(scenario)


def load(run_dir: Path) -> Analysis:
    """Load and analyse a run directory."""
    run = load_run(Path(run_dir))
    return Analysis(analyse(run), run)


def _col(df: pd.DataFrame, name: str) -> pd.Series[Any]:
    return df[name] if name in df else pd.Series([""] * len(df), index=df.index, dtype=object)


def is_open(a: Analysis, cell_id: str) -> bool:
    """The cell ran open loop (fixed arrival rate)."""
    rows = a.run.summary[a.run.summary["cell_id"] == cell_id]
    return bool(len(rows)) and str(_col(rows, "mode").iloc[0]) == "open"


def closed_groups(a: Analysis) -> list[GroupStats]:
    """Groups measured in closed loop (all of them in runs without a mode column), A/A controls left out."""
    return [g for g in a.groups.values() if not g.control_of and not any(is_open(a, c) for c in g.cell_ids)]


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


def _open_reason(reasons: pd.Series) -> str:
    """One short reason per invalid open-loop rate; a missed target rate reads the same at every rate."""
    short = {"missed its target rate" if str(r).startswith("achieved ") else str(r).split(" (")[0] for r in reasons}
    return "; ".join(sorted(short))


def open_panels(a: Analysis) -> list[Panel]:
    """Open-loop cells (fixed rates and capacity probes): p99 from intended send time vs achieved rps."""
    s = a.run.summary
    if "mode" not in s:
        return []
    # The capacity probes are open-loop cells at fixed rates too (shorter windows): with them a setup has a curve
    # instead of the one point of the fixed rate.
    rows = s[s["mode"].astype(str) == "open"]
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
                    pts.append(Point(float(target), invalid=_open_reason(cells["invalid_reason"])))
            if pts:
                series.append(Series(server, a.run.framework_of(server), tuple(sorted(pts, key=lambda p: p.x))))
        if series:
            panels.append(Panel(scenario, tuple(series)))
    return panels


def noise_floor(a: Analysis) -> float | None:
    """The run's A/A noise floor (None without a control pair measured with enough repeats)."""
    return a.result.noise_floor


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
        lo, hi = r.ci if r.ci else (None, None)
        out.append(Effect(f"{scenario} ({users} users)", r.ratio, lo, hi, r.winner))
    return out


def decomposition_rows(a: Analysis) -> list[Effect]:
    """Per scenario: the framework effect (same sync driver) and the driver effect (same framework)."""
    out = []
    for d in a.result.decomposition:
        for e in d.effects:
            if e.name not in SIDES:
                continue
            r = e.ratio
            lo, hi = r.ci if r.ci else (None, None)
            favours = None if not r.called else SIDES[e.name][0 if r.ratio > 1 else 1]
            # Wrapped: the setup names make one line wider than the axis it labels.
            label = textwrap.fill(f"{d.scenario} · {e.name}: {e.what}", 46, break_on_hyphens=False)
            out.append(Effect(label, r.ratio, lo, hi, favours))
    return out


def baseline_series(a: Analysis) -> tuple[list[str], list[Series]]:
    """Each app setup's rps ÷ its stack baseline's rps, per scenario both served."""
    cats = ordered([f.ratio.scenario for f in a.result.baseline_fractions], SCENARIO_ORDER)
    by_setup: dict[str, list[Point]] = {}
    for f in a.result.baseline_fractions:
        r = f.ratio
        lo, hi = r.ci if r.ci else (None, None)
        by_setup.setdefault(r.a.server, []).append(Point(cats.index(r.scenario), r.ratio, lo, hi))
    return cats, [Series(s, a.run.framework_of(s), tuple(p)) for s, p in by_setup.items()]


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
    cs = (a.erg or {}).get("cold_start")
    out = []
    for fw in ("fastapi", "flask"):
        d = cs.get(fw) if isinstance(cs, dict) else None
        if isinstance(d, dict) and d.get("median_s") is not None:
            samples = tuple(float(x) for x in d.get("samples") or [d["median_s"]])
            imp = d.get("import_s")
            out.append(StartTimes(fw, samples, float(d["median_s"]), float(imp) if imp is not None else None))
    return out
