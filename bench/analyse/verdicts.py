"""Turn the analysis into words: the headline, the seed table's verdicts and the decision guide.

Every sentence is generated from measured numbers; a verdict is derived from explicit checks that are shown
next to it: all checks hold → supported, none → not supported, some → partly, none measurable → not measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.analyse.result import Ratio, Result
from bench.analyse.stats import geometric_mean
from bench.registry import workloads
from bench.runformat import AsyncSupport, Ergonomics

HEADLINE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("DB-bound read", ("list", "item")),
    ("I/O-bound upstream call", ("upstream",)),
    ("Write path", ("order",)),
)


def fmt_ci(ci: tuple[float, float] | None, unit: str = "") -> str:
    """'95 % CI a–b' or 'no CI'."""
    if ci is None:
        return "no CI"
    return f"95 % CI {ci[0]:.2f}–{ci[1]:.2f}{unit}"


def fmt_floor(floor: float | None) -> str:
    """'A/A noise floor 3.1 %' or 'no A/A noise floor'."""
    return "no A/A noise floor" if floor is None else f"A/A noise floor {floor:.1%}"


def call_word(r: Ratio) -> str:
    """'a difference', 'no difference called' or 'no verdict'."""
    return {True: "a difference", False: "no difference called", None: "no verdict"}[r.called]


def describe_ratio(r: Ratio) -> str:
    """'1.52× (95 % CI 1.41–1.63 across repeats; A/A noise floor 3.1 %; a difference: …)'."""
    if not math.isfinite(r.ratio):
        return "n/a"
    return f"{r.ratio:.2f}× ({fmt_ci(r.ci)} across repeats; {fmt_floor(r.noise_floor)}; {call_word(r)}: {r.reason})"


def short_ratio(r: Ratio) -> str:
    """'2.05× (95 % CI 1.99–2.11)' with 'no difference called' / 'no verdict' where so."""
    if not math.isfinite(r.ratio):
        return "n/a"
    tail = "" if r.called else f", {call_word(r)}"
    return f"{r.ratio:.2f}× ({fmt_ci(r.ci)}{tail})"


@dataclass(frozen=True)
class Check:
    """One measured condition behind a verdict; holds is None when it could not be measured."""

    text: str
    holds: bool | None


@dataclass(frozen=True)
class SeedRow:
    """A row of the seed document's comparison table with what this run measured."""

    feature: str
    claim_fastapi: str
    measured_fastapi: str
    claim_flask: str
    measured_flask: str
    evidence: str
    checks: tuple[Check, ...]

    @property
    def verdict(self) -> str:
        """supported / partly / not supported / not measured, from the checks."""
        measured = [c.holds for c in self.checks if c.holds is not None]
        if not measured:
            return "not measured"
        if all(measured):
            return "supported"
        return "not supported" if not any(measured) else "partly"


def _top_rps(a: Result) -> list[Ratio]:
    return [a.best[(s, a.top_level[s], "rps")] for s in a.scenarios if s in a.top_level]


def _performance(a: Result) -> SeedRow:
    top = _top_rps(a)
    checks = tuple(
        Check(
            f"FastAPI's best setup faster on {r.scenario} at {r.users} users (called across repeats): "
            f"{describe_ratio(r)}",
            None if r.called is None else r.winner == "fastapi",
        )
        for r in top
    )
    if top:
        ratios = [r.ratio for r in top]
        gm = geometric_mean(ratios)
        fa_wins = sum(r.winner == "fastapi" for r in top)
        fl_wins = sum(r.winner == "flask" for r in top)
        measured_fa = (
            f"{gm:.2f}× Flask's throughput (geometric mean of best-vs-best at the highest load, {len(top)} "
            f"scenario(s), range {min(ratios):.2f}–{max(ratios):.2f}×); called faster in {fa_wins} of {len(top)} "
            f"({fmt_floor(a.noise_floor)})"
        )
        measured_fl = f"called faster than FastAPI in {fl_wins} of {len(top)} scenario(s)"
    else:
        measured_fa = measured_fl = "not measured (no scenario with valid cells for both frameworks)"
    return SeedRow("Performance", "High (async)", measured_fa, "Moderate", measured_fl, "performance", checks)


def _type_hints(erg: Ergonomics | None) -> SeedRow:
    def _m(fw: str) -> str:
        if erg is None:
            return "not measured"
        d = erg.type_hint_coverage.of(fw)
        return f"{d.params_pct:.0f} % of parameters, {d.returns_pct:.0f} % of returns annotated"

    hints = erg.type_hint_coverage if erg else None
    checks = (
        Check(
            "FastAPI app annotates ≥ 95 % of parameters (its hints drive parsing and validation)",
            None if hints is None else hints.fastapi.params_pct >= 95,
        ),
        Check(
            "Flask app gets by with fewer parameter annotations than FastAPI's",
            None if hints is None else hints.flask.params_pct < hints.fastapi.params_pct,
        ),
    )
    return SeedRow("Type hints", "Required", _m("fastapi"), "Optional", _m("flask"), "ergo-type-hints", checks)


def _openapi(erg: Ergonomics | None) -> SeedRow:
    def _m(fw: str) -> str:
        if erg is None:
            return "not measured"
        d = erg.openapi.of(fw)
        how = "automatic" if d.automatic else "hand-written"
        served = "served" if d.served else "not served"
        return (
            f"{served}, {how}; {d.paths_documented}/{d.paths_total} paths documented; "
            f"{d.hand_written_loc} hand-written lines"
        )

    fa, fl = (erg.openapi.fastapi, erg.openapi.flask) if erg else (None, None)
    checks = (
        Check(
            "FastAPI serves an OpenAPI document generated automatically",
            None if fa is None else fa.automatic and fa.served,
        ),
        Check("FastAPI's document covers every path", None if fa is None else fa.paths_documented >= fa.paths_total),
        Check(
            "Flask needs hand-written OpenAPI (or serves none)",
            None if fl is None else not fl.automatic and (fl.hand_written_loc > 0 or not fl.served),
        ),
    )
    return SeedRow("OpenAPI docs", "Automatic", _m("fastapi"), "Manual", _m("flask"), "ergo-openapi", checks)


def _learning(erg: Ergonomics | None) -> SeedRow:
    def _m(fw: str) -> str:
        if erg is None:
            return "not measured"
        return f"{erg.loc.of(fw).get('total', '?')} lines of app code; {erg.concepts.of(fw)} concepts"

    loc = (erg.loc.fastapi.get("total"), erg.loc.flask.get("total")) if erg else (None, None)
    checks = (
        Check(
            "FastAPI needs more framework concepts than Flask (proxy)",
            None if erg is None else erg.concepts.fastapi > erg.concepts.flask,
        ),
        Check(
            "FastAPI needs at least as many lines of code for the same contract (proxy)",
            None if loc[0] is None or loc[1] is None else loc[0] >= loc[1],
        ),
    )
    return SeedRow("Learning curve", "Steeper", _m("fastapi"), "Gentle", _m("flask"), "ergo-learning", checks)


def _held(checks: tuple[Check, ...], what: str) -> str:
    if all(c.holds is None for c in checks):
        return "not measured"
    return "; ".join(c.text for c in checks if c.holds) or f"none of the measured {what} checks held"


def _best_for(a: Result, perf: SeedRow) -> SeedRow:
    erg = a.ergonomics
    perf_measured = [c.holds for c in perf.checks if c.holds is not None]
    checks = (
        Check(
            "FastAPI faster in most measured scenarios",
            (sum(perf_measured) * 2 > len(perf_measured)) if perf_measured else None,
        ),
        Check("FastAPI generates its API documentation", None if erg is None else erg.openapi.fastapi.automatic),
        Check(
            "FastAPI's validation errors name the field at least as often as Flask's",
            None
            if erg is None
            else erg.validation_quality.fastapi.names_field_pct >= erg.validation_quality.flask.names_field_pct,
        ),
        Check(
            "Flask installs fewer distributions",
            None
            if erg is None
            else erg.install_footprint.flask.distributions < erg.install_footprint.fastapi.distributions,
        ),
        Check(
            "Flask starts faster (cold start)",
            None if erg is None else erg.cold_start.flask.median_s < erg.cold_start.fastapi.median_s,
        ),
        Check("Flask needs fewer concepts", None if erg is None else erg.concepts.flask < erg.concepts.fastapi),
    )
    fa, fl = _held(checks[:3], "API-fitness"), _held(checks[3:], "simplicity")
    return SeedRow("Best for", "APIs, microservices", fa, "Simple apps, prototypes", fl, "decision-guide", checks)


def _async(a: Result) -> SeedRow:
    erg = a.ergonomics
    fa, fl = (erg.async_support.fastapi, erg.async_support.flask) if erg else (None, None)

    def _m(d: AsyncSupport | None) -> str:
        if d is None:
            return "not measured"
        return f"native: {d.native}; async routes: {d.async_routes}; sync routes: {d.sync_routes}; {d.notes}"

    users = a.top_level.get("upstream")
    up = a.best.get(("upstream", users, "rps")) if users is not None else None
    checks = (
        Check("FastAPI runs async views natively", None if fa is None else fa.native),
        # The producer measures whether the app object is natively async (ASGI); a WSGI Flask app is not, so its
        # async views need the asgiref extra and run on a per-request event loop.
        Check("Flask needs an extra or extension for async views", None if fl is None else not fl.native),
        Check(
            "FastAPI faster on the I/O-bound upstream scenario (called across repeats)"
            + (f" ({describe_ratio(up)})" if up else " (not measured)"),
            None if up is None or up.called is None else up.winner == "fastapi",
        ),
    )
    measured_fa = _m(fa) + (f"; I/O-bound upstream throughput {short_ratio(up)} Flask's" if up else "")
    return SeedRow("Async support", "Native", measured_fa, "Extension needed", _m(fl), "ergo-async", checks)


def seed_table(a: Result) -> list[SeedRow]:
    """The seed document's FastAPI-vs-Flask table with measured values and a verdict per row."""
    perf = _performance(a)
    erg = a.ergonomics
    return [perf, _type_hints(erg), _openapi(erg), _learning(erg), _best_for(a, perf), _async(a)]


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
            advice = "mixed: the faster framework depends on the scenario (see rows)"
        out.append((workload, advice, rows))
    return out
