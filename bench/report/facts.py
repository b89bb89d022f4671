"""Adapter for the first screen and 'your workload': the analysis → ScenarioResult, capacities, methodology rows.

Capacity at the p99 target comes from open-loop capacity cells (purpose="capacity": per repeat, the highest probe
rate that was valid with its p99 within the target) when the run has them, else it is estimated from closed-loop
groups: the highest throughput among the concurrency levels whose median p99 met the target (labelled as such).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import pandas as pd

from bench.analyse import stats
from bench.analyse.advise import Advice, MixError, SetupCapacity, advise, parse_mix
from bench.analyse.controls import make_ratio
from bench.registry import SCENARIOS
from bench.report.adapt import Analysis, closed_groups, noise_floor
from bench.report.answer import Capacity, ScenarioResult

DEFAULT_P99_MS = 100.0
TYPICAL_MIXES: tuple[tuple[str, str], ...] = (
    ("Catalogue API (mostly reads)", "item=0.6,list=0.3,order=0.1"),
    ("Shop checkout (reads, writes, carrier quotes)", "item=0.4,list=0.2,order=0.25,upstream=0.15"),
    ("Integration gateway (mostly upstream calls)", "upstream=0.7,item=0.3"),
)
WORKLOAD_OF = {name: s.workload for name, s in SCENARIOS.items()}


def server_cores(a: Analysis) -> int:
    """Cores the server was pinned to (1 when not recorded)."""
    cpus = (a.meta.get("placement") or {}).get("server_cpus")
    return len(cpus) if isinstance(cpus, list) and cpus else 1


def _open_capacity(a: Analysis, p99_ms: float) -> dict[tuple[str, str], list[float]]:
    """Per (setup, scenario): one capacity per repeat, the highest probe rate that was valid with p99 within target.

    The capacity search's own rule (bench.drive.openloop.capacity_at_slo), applied to the stored rows so a report
    can ask for another target; a repeat whose probes all missed the target counts as 0.
    """
    s = a.run.summary
    if "purpose" not in s:
        return {}
    probes = s[s["purpose"].astype(str) == "capacity"]
    p99 = pd.to_numeric(probes["p99_ms"], errors="coerce")
    met = probes["valid"].astype(bool) & (p99 <= p99_ms)
    target = pd.to_numeric(probes["target_rps"], errors="coerce").where(met, 0.0)
    best = target.groupby([probes["server"], probes["scenario"], probes["repeat"]]).max()
    out: dict[tuple[str, str], list[float]] = {}
    for key, value in best.items():
        server, scenario, _repeat = cast(tuple[str, str, int], key)
        out.setdefault((str(server), str(scenario)), []).append(float(value))
    return out


def setup_capacities(a: Analysis, p99_ms: float) -> tuple[list[SetupCapacity], str]:
    """Per setup: capacity repeats per scenario (req/s per core), and the basis they rest on."""
    cores = server_cores(a)
    measured = _open_capacity(a, p99_ms)
    basis = "open-loop capacity search"
    if not measured:
        basis = "closed-loop estimate: best level with median p99 within target"
        for g in closed_groups(a):
            if g.p99_median <= p99_ms:
                key = (g.server, g.scenario)
                if key not in measured or g.rps_median > sum(measured[key]) / len(measured[key]):
                    measured[key] = list(g.rps)
    by_setup: dict[str, dict[str, list[float]]] = {}
    for (server, scenario), values in measured.items():
        if server.startswith("baseline-") or "~" in server:
            continue
        by_setup.setdefault(server, {})[scenario] = [v / cores for v in values]
    caps = [SetupCapacity(s, a.run.framework_of(s), r) for s, r in by_setup.items()]
    return caps, basis


def scenario_results(a: Analysis, p99_ms: float = DEFAULT_P99_MS) -> list[ScenarioResult]:
    """One ScenarioResult per scenario of the run (measured or not), in the run's order."""
    caps, basis = setup_capacities(a, p99_ms)
    out = []
    for scenario in a.run.scenarios:
        workload = WORKLOAD_OF.get(scenario, "other")
        capacity = _best_capacity(caps, scenario, basis)
        users = a.top_level(scenario)
        if users is None:
            inv = a.run.invalid[a.run.invalid["scenario"] == scenario]["invalid_reason"]
            reasons = sorted({str(r).split(" (")[0] for r in inv})
            why = f"{len(inv)} invalid cell(s): {'; '.join(reasons)}" if len(inv) else "one framework only"
            cpu = _cheapest_cpu(a, scenario)
            out.append(ScenarioResult(scenario, workload, capacity=capacity, invalid=why, cpu_us=cpu))
            continue
        r, p99 = a.best_ratios[(scenario, users, "rps")], a.best_ratios[(scenario, users, "p99_ms")]
        favours = r.winner
        repeats = min(r.a.repeats, r.b.repeats)
        out.append(
            ScenarioResult(
                scenario=scenario,
                workload=workload,
                users=users,
                setups={"fastapi": r.a.server, "flask": r.b.server},
                ratio=r.ratio,
                ci=r.ci,
                ci_basis=f"{repeats} repeats",
                repeats=repeats,
                favours=favours,
                significant=r.called,
                p99_ratio=p99.ratio,
                p99_favours=p99.winner,
                loser_worst=_loser_worst(a, scenario, users, favours),
                capacity=capacity,
            )
        )
    return out


def _cheapest_cpu(a: Analysis, scenario: str) -> dict[str, tuple[str, float, tuple[float, float] | None]]:
    """Per framework, the app setup (not a baseline or an A/A copy) with the least server CPU per request."""
    best: dict[str, tuple[str, float, tuple[float, float] | None]] = {}
    for c in a.result.cpu_costs:
        if c.scenario != scenario or c.server.startswith("baseline-") or "~" in c.server or not c.cells:
            continue
        if c.framework not in best or c.server_us < best[c.framework][1]:
            best[c.framework] = (c.server, c.server_us, c.server_us_ci)
    return best


def _best_capacity(caps: Sequence[SetupCapacity], scenario: str, basis: str) -> dict[str, Capacity]:
    best: dict[str, Capacity] = {}
    for c in caps:
        values = c.repeats.get(scenario)
        if values:
            v = sum(values) / len(values)
            if c.framework not in best or v > best[c.framework].value:
                best[c.framework] = Capacity(v, c.setup, basis, stats.mean_ci(values), len(values))
    return best


def _loser_worst(a: Analysis, scenario: str, users: int, favours: str | None) -> tuple[str, float] | None:
    if favours is None:
        return None
    loser = "flask" if favours == "fastapi" else "fastapi"
    here = [g for g in closed_groups(a) if g.scenario == scenario and g.users == users and g.is_app]
    worst = min((g for g in here if g.framework == loser), key=lambda g: g.rps_median, default=None)
    best = max((g for g in here if g.framework == favours), key=lambda g: g.rps_median, default=None)
    if worst is None or best is None:
        return None
    fa, fl = (best, worst) if favours == "fastapi" else (worst, best)
    r = make_ratio(fa, fl, "rps", None)
    return worst.server, r.ratio


def ergonomic_extras(erg: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Measured ergonomic differences that favour a framework, phrased from the numbers."""
    out: dict[str, list[str]] = {"fastapi": [], "flask": []}

    def get(*keys: str) -> Any:
        d: Any = erg
        for k in keys:
            d = d.get(k) if isinstance(d, Mapping) else None
        return d if isinstance(d, int | float) and not isinstance(d, bool) else None

    fa_doc, fl_doc = get("openapi", "fastapi", "hand_written_loc"), get("openapi", "flask", "hand_written_loc")
    if fa_doc is not None and fl_doc is not None and fa_doc < fl_doc:
        out["fastapi"].append(f"API docs from annotations ({fa_doc:.0f} vs {fl_doc:.0f} hand-written OpenAPI lines)")
    fa_v, fl_v = (
        get("validation_quality", "fastapi", "names_field_pct"),
        get("validation_quality", "flask", "names_field_pct"),
    )
    if fa_v is not None and fl_v is not None and fa_v > fl_v:
        out["fastapi"].append(f"validation errors name the field in {fa_v:.0f} % of cases vs {fl_v:.0f} %")
    fa_d, fl_d = (
        get("install_footprint", "fastapi", "distributions"),
        get("install_footprint", "flask", "distributions"),
    )
    if fa_d is not None and fl_d is not None and fl_d < fa_d:
        out["flask"].append(f"a smaller install ({fl_d:.0f} vs {fa_d:.0f} distributions)")
    fa_s, fl_s = get("cold_start", "fastapi", "median_s"), get("cold_start", "flask", "median_s")
    if fa_s is not None and fl_s is not None and fl_s < fa_s:
        out["flask"].append(f"faster cold start ({fl_s:.2f} s vs {fa_s:.2f} s median)")
    return out


def mix_advice(a: Analysis, mix: str, p99_ms: float) -> Advice:
    """The advice for one request mix (raises MixError naming the bad part)."""
    weights = parse_mix(mix, a.run.scenarios)
    caps, _ = setup_capacities(a, p99_ms)
    return advise(caps, weights, noise_floor=noise_floor(a))


def typical_mixes(a: Analysis, p99_ms: float) -> list[tuple[str, str, Advice | str]]:
    """The report's 'your workload' rows: (name, mix, advice or why it cannot be given)."""
    out: list[tuple[str, str, Advice | str]] = []
    for name, mix in TYPICAL_MIXES:
        try:
            out.append((name, mix, mix_advice(a, mix, p99_ms)))
        except MixError as exc:
            out.append((name, mix, f"not measured in this run: {exc}"))
    return out
