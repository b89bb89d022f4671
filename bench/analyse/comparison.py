"""Two runs compared group by group: % change of rps / p50 / p99 with a CI of B ÷ A across repeats.

A change is called by the same rule as within a run: its CI excludes 1 and it exceeds the noise floor (the larger
of the two runs' A/A floors, when either measured one). Setup differences that make runs incomparable are listed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.analyse import stats
from bench.analyse.result import METRICS, GroupKey, Result
from bench.registry import SCENARIO_ORDER
from bench.runformat import RunMetadata

PACKAGES = ("fastapi", "flask", "starlette", "werkzeug", "sqlalchemy", "uvicorn", "gunicorn")
PROFILE_SETTINGS = ("users", "duration_s", "workers", "pool_budget")
GATED = {"rps": -1, "p99_ms": +1}  # metric → direction of a regression (rps falling, p99 rising)


def _python(meta: RunMetadata) -> str | None:
    return " ".join(str(meta.python[k]) for k in ("implementation", "version") if meta.python.get(k)) or None


def setup_differences(meta_a: RunMetadata, meta_b: RunMetadata) -> list[str]:
    """What differs between two runs' metadata that makes their numbers incomparable (empty: comparable)."""
    checks: list[tuple[str, Any, Any]] = []
    checks += [(f"platform.{k}", meta_a.platform.get(k), meta_b.platform.get(k)) for k in ("cpu_model", "cores")]
    ka = {k.lower(): v for k, v in meta_a.packages.items()}
    kb = {k.lower(): v for k, v in meta_b.packages.items()}
    checks += [(f"packages.{p}", ka.get(p), kb.get(p)) for p in PACKAGES]
    checks.append(("python", _python(meta_a), _python(meta_b)))
    checks += [(f"settings.{k}", meta_a.settings.get(k), meta_b.settings.get(k)) for k in PROFILE_SETTINGS]
    checks.append(("workers (effective)", meta_a.workers, meta_b.workers))
    return [f"{name}: {va!r} (A) vs {vb!r} (B)" for name, va, vb in checks if va != vb]


@dataclass(frozen=True)
class Change:
    """One metric of one group, run A → run B (medians shown; the CI and call are of B ÷ A repeat means)."""

    metric: str
    a: float
    b: float
    ratio: float
    ci: tuple[float, float] | None
    called: bool | None
    reason: str

    @property
    def pct(self) -> float:
        """(B / A − 1) × 100 of the medians."""
        return (self.b / self.a - 1) * 100 if self.a and math.isfinite(self.a) else math.nan


@dataclass(frozen=True)
class GroupChange:
    """All compared metrics of one (server, scenario, users) group."""

    key: GroupKey
    changes: dict[str, Change]

    def regressions(self, fail_above_pct: float) -> list[Change]:
        """Called changes in the bad direction larger than the threshold (rps down, p99 up)."""
        out = []
        for metric, sign in GATED.items():
            c = self.changes.get(metric)
            if c and c.called and math.isfinite(c.pct) and sign * c.pct > fail_above_pct:
                out.append(c)
        return out


@dataclass
class Comparison:
    """Run A vs run B: setup differences, per-group changes and the groups only one run has."""

    run_a: Result
    run_b: Result
    differences: list[str]
    groups: list[GroupChange]
    only_a: list[GroupKey]
    only_b: list[GroupKey]
    fail_above_pct: float
    noise_floor: float | None

    @property
    def regressions(self) -> list[tuple[GroupKey, Change]]:
        """Every gated regression beyond the threshold."""
        return [(g.key, c) for g in self.groups for c in g.regressions(self.fail_above_pct)]


def _sort_key(result: Result) -> Any:
    def key(k: GroupKey) -> tuple[int, str, int, str]:
        server, scenario, users = k
        s = SCENARIO_ORDER.index(scenario) if scenario in SCENARIO_ORDER else len(SCENARIO_ORDER)
        return (s, server, users, scenario)

    return key


def compare_results(a: Result, b: Result, *, fail_above_pct: float) -> Comparison:
    """Compare every group present in both runs."""
    floors = [f for f in (a.noise_floor, b.noise_floor) if f is not None]
    floor = max(floors) if floors else None
    key = _sort_key(a)
    common = sorted(set(a.groups) & set(b.groups), key=key)
    groups = []
    for k in common:
        ga, gb = a.groups[k], b.groups[k]
        changes = {}
        for m in METRICS:
            xb, xa = gb.values(m), ga.values(m)
            ratio, ci = stats.ratio_of_means(xb, xa), stats.ratio_ci(xb, xa)
            verdict = stats.call(ratio, ci, floor) if floor is not None or ci is None else _ci_only(ci)
            changes[m] = Change(m, ga.median(m), gb.median(m), ratio, ci, verdict.called, verdict.reason)
        groups.append(GroupChange(k, changes))
    return Comparison(
        a, b, setup_differences(a.metadata, b.metadata), groups,
        sorted(set(a.groups) - set(b.groups), key=key), sorted(set(b.groups) - set(a.groups), key=key),
        fail_above_pct, floor,
    )  # fmt: skip


def _ci_only(ci: tuple[float, float]) -> stats.Call:
    # Neither run measured an A/A floor: the gate still works on the CI alone, and says so.
    excludes = not (ci[0] <= 1.0 <= ci[1])
    return stats.Call(excludes, ("CI excludes 1" if excludes else "CI includes 1") + " (no A/A floor in either run)")
