"""Ratios between groups, the A/A noise floor, the framework/driver decomposition and the baseline fractions."""

from __future__ import annotations

from bench.analyse import stats
from bench.analyse.result import BaselineFraction, Decomposition, Effect, GroupKey, GroupStats, NoiseFloor, Ratio
from bench.analyse.stacks import DRIVER_PAIR, baseline_of


def make_ratio(a: GroupStats, b: GroupStats, metric: str, noise_floor: float | None) -> Ratio:
    """a ÷ b of the repeat means of `metric`, its CI across repeats, and the A/A rule's call."""
    x, y = a.values(metric), b.values(metric)
    value = stats.ratio_of_means(x, y)
    ci = stats.ratio_ci(x, y)
    verdict = stats.call(value, ci, noise_floor)
    return Ratio(metric, a, b, value, ci, noise_floor, verdict.called, verdict.reason)


def noise_floor(groups: dict[GroupKey, GroupStats]) -> NoiseFloor | None:
    """The A/A control pair(s): each control group ÷ the group of the setup it duplicates (throughput)."""
    ratios, names = [], []
    for g in groups.values():
        original = groups.get((g.control_of, g.scenario, g.users)) if g.control_of else None
        if original is not None:
            ratios.append(make_ratio(g, original, "rps", None))
            names.append((g.control_of, g.server))
    if not ratios:
        return None
    setups, controls = zip(*dict.fromkeys(names), strict=True)
    return NoiseFloor(", ".join(setups), ", ".join(controls), tuple(ratios))


def _best(groups: list[GroupStats], **match: str) -> GroupStats | None:
    mine = [g for g in groups if g.is_app and all(getattr(g, k) == v for k, v in match.items())]
    return max(mine, key=lambda g: g.rps_median) if mine else None


def decompose(groups: dict[GroupKey, GroupStats], scenarios: list[str], floor: float | None) -> list[Decomposition]:
    """Per scenario and level: framework effect (same sync driver), driver effect (same framework), and the total."""
    out = []
    for scenario in scenarios:
        for users in sorted({g.users for g in groups.values() if g.scenario == scenario}):
            here = [g for g in groups.values() if g.scenario == scenario and g.users == users]
            by_name = {g.server: g for g in here}
            fa_sync, fl_sync = _best(here, stack="fastapi-sync"), _best(here, stack="flask-sync")
            fa_async, fa_sync_named = by_name.get(DRIVER_PAIR[0]), by_name.get(DRIVER_PAIR[1])
            fa, fl = _best(here, framework="fastapi"), _best(here, framework="flask")
            effects = []
            if fa_sync and fl_sync:
                what = f"same driver (psycopg2): {fa_sync.server} ÷ {fl_sync.server}"
                effects.append(Effect("framework", what, make_ratio(fa_sync, fl_sync, "rps", floor)))
            if fa_async and fa_sync_named:
                what = f"same framework and server: {fa_async.server} (asyncpg) ÷ {fa_sync_named.server} (psycopg2)"
                effects.append(Effect("driver", what, make_ratio(fa_async, fa_sync_named, "rps", floor)))
            if fa and fl and effects:
                effects.append(
                    Effect("total", f"best ÷ best: {fa.server} ÷ {fl.server}", make_ratio(fa, fl, "rps", floor))
                )
            if effects:
                out.append(Decomposition(scenario, users, tuple(effects)))
    return out


def baseline_fractions(groups: dict[GroupKey, GroupStats], floor: float | None) -> list[BaselineFraction]:
    """Each app group ÷ its stack's baseline group at the same scenario and level ("what our app adds")."""
    out = []
    for g in groups.values():
        base = groups.get((baseline_of(g.stack), g.scenario, g.users)) if g.is_app and g.stack else None
        if base is not None:
            out.append(BaselineFraction(make_ratio(g, base, "rps", floor), make_ratio(g, base, "p99_ms", floor)))
    return out
