"""Turn the analysis into recommendations: the headline sentences and the decision guide per workload.

Every sentence is generated from measured numbers (the seed table's verdicts are in seedtable.py, the shared
phrases in words.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.analyse.result import Ratio, Result
from bench.analyse.words import NAMES, fmt_floor, short_ratio
from bench.registry import workloads

HEADLINE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("DB-bound read", ("list", "item")),
    ("I/O-bound upstream call", ("upstream",)),
    ("Write path", ("order",)),
)


def _pick(a: Result, scenarios: tuple[str, ...]) -> tuple[str, int] | None:
    return next(((s, a.top_level[s]) for s in scenarios if s in a.top_level), None)


def headline(a: Result) -> list[str]:
    """Three sentences: DB-bound read, I/O-bound upstream and write path, best setup vs best setup."""
    out = []
    for label, scenarios in HEADLINE:
        picked = _pick(a, scenarios)
        if picked is None:
            out.append(
                f"{label} ({'/'.join(scenarios)}): not measured in this run (no valid cells for both frameworks)."
            )
            continue
        s, users = picked
        rps, p99 = a.best[(s, users, "rps")], a.best[(s, users, "p99_ms")]
        who = {"fastapi": "FastAPI is faster", "flask": "Flask is faster", None: "no difference called"}
        if rps.called is None:
            who[None] = f"no verdict ({rps.reason})"
        out.append(
            f"{label} ({s}, {users} users): {who[rps.winner]} — FastAPI's best setup ({rps.a.server}, "
            f"{rps.a.rps_median:,.0f} rps) served {short_ratio(rps)} the throughput of Flask's best "
            f"({rps.b.server}, {rps.b.rps_median:,.0f} rps); p99 latency ratio {short_ratio(p99)}; "
            f"{fmt_floor(rps.noise_floor)}."
        )
    return out


@dataclass(frozen=True)
class GuideRow:
    """One scenario of a workload in the decision guide."""

    workload: str
    scenario: str
    users: int
    rps: Ratio
    p99: Ratio
    cpu_ratio: float


def _unmeasured(a: Result, scenarios: tuple[str, ...]) -> str:
    reasons = [r for s in scenarios for r in a.invalid_reasons_by_scenario.get(s, [])]
    if not reasons:
        return "not measured in this run"
    # e.g. "loadgen saturated (98% > 80% of a core)" -> "loadgen saturated"
    common = sorted({str(r).split(" (")[0] for r in reasons})
    return f"no valid cells ({len(reasons)} invalid: {'; '.join(common)}) — see the invalid cells"


def decision_guide(a: Result) -> list[tuple[str, str, list[GuideRow]]]:
    """Per workload: a recommendation derived from the called differences, and the rows it rests on."""
    out = []
    for workload, scenarios in workloads():
        rows = []
        for s in scenarios:
            users = a.top_level.get(s)
            if users is None:
                continue
            rps, p99 = a.best[(s, users, "rps")], a.best[(s, users, "p99_ms")]
            cpu = rps.a.rps_per_cpu_s / rps.b.rps_per_cpu_s if rps.b.rps_per_cpu_s else math.nan
            rows.append(GuideRow(workload, s, users, rps, p99, cpu))
        favours = {r.rps.winner for r in rows}
        undecided = any(r.rps.called is None for r in rows)
        if not rows:
            advice = _unmeasured(a, scenarios)
        elif undecided:
            advice = f"no verdict: {next(r.rps.reason for r in rows if r.rps.called is None)}"
        elif favours == {"fastapi"}:
            advice = "FastAPI: higher throughput called in every scenario of this workload"
        elif favours == {"flask"}:
            advice = "Flask: higher throughput called in every scenario of this workload"
        elif favours == {None}:
            advice = "either: no throughput difference called; decide on ergonomics and team skills"
        else:
            advice = _split_advice(rows)
        out.append((workload, advice, rows))
    return out


def _split_advice(rows: list[GuideRow]) -> str:
    """'leans Flask: …; no detectable difference on …' or 'split: FastAPI faster on …, Flask faster on …'."""
    by: dict[str | None, list[str]] = {}
    for r in rows:
        by.setdefault(r.rps.winner, []).append(r.scenario)
    winners = [fw for fw in ("fastapi", "flask") if fw in by]
    if len(winners) == 1:
        fw = winners[0]
        return (
            f"leans {NAMES[fw]}: significantly faster on {', '.join(by[fw])}; no detectable difference on "
            f"{', '.join(by.get(None, []))}"
        )
    return (
        "split: "
        + ", ".join(f"{NAMES[fw]} faster on {', '.join(by[fw])}" for fw in winners)
        + (f"; no detectable difference on {', '.join(by[None])}" if None in by else "")
    )
