"""Turn the analysis into words: the headline, the seed table's verdicts and the decision guide.

Every sentence is generated from measured numbers; a verdict is derived from explicit checks that are shown
next to it: all checks hold → supported, none → not supported, some → partly, none measurable → not measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.analyse.result import Ratio, Result
from bench.analyse.stats import geometric_mean
from bench.registry import workloads
from bench.runformat import AsyncSupport

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


def _get(d: dict[str, Any] | None, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _cmp(a: Any, b: Any, op: str) -> bool | None:
    x, y = _num(a), _num(b)
    if x is None or y is None:
        return None
    return {">": x > y, ">=": x >= y, "<": x < y, "<=": x <= y}[op]


NAMES = {"fastapi": "FastAPI", "flask": "Flask"}
# Code an app writes to give the contract what FastAPI derives from annotations or does itself: request
# validation with the contract's 422 bodies, the OpenAPI document, FastAPI's quirks (loc concerns,
# bench.ergonomics.loc; a concern a run did not count adds 0).
CONTRACT_EMULATION = ("validation", "openapi", "contract_emulation")


def _hints_words(fw: str, d: Any) -> str:
    if not isinstance(d, dict):
        return "not measured (this ergonomics.json has no annotation probe)"
    reads = "reads view annotations" if d.get("reads") else "ignores view annotations (an `n: int` view gets a str)"
    return (
        f"{NAMES[fw]} {reads}: {d.get('inputs_from_annotations', '?')} of {d.get('inputs', '?')} request inputs "
        f"validated and {d.get('responses_typed', '?')} of {d.get('routes', '?')} responses typed from "
        f"annotations; by hand: {d.get('validation_hand_written_loc', '?')} validation lines, "
        f"{d.get('docs_hand_written_loc', '?')} OpenAPI lines"
    )


def type_hints_row(erg: dict[str, Any] | None) -> SeedRow:
    fa, fl = _get(erg, "annotations", "fastapi"), _get(erg, "annotations", "flask")
    share = _num(_get(fa, "inputs_from_annotations"))
    total = _num(_get(fa, "inputs"))
    checks = (
        Check("FastAPI validates a view's inputs from its annotations (probe app)", _get(fa, "reads")),
        Check(
            "FastAPI derives ≥ 90 % of the contract's request inputs from annotations",
            None if share is None or not total else share / total >= 0.9,
        ),
        Check(
            "Flask does not read view annotations, so they stay optional (probe app)",
            None if _get(fl, "reads") is None else not _get(fl, "reads"),
        ),
    )
    return SeedRow(
        "Type hints", "Required", _hints_words("fastapi", fa), "Optional", _hints_words("flask", fl), "ergo-type-hints",
        checks,
    )  # fmt: skip


def openapi_split(erg: dict[str, Any] | None, fw: str) -> tuple[int, int] | None:
    """(lines in the app's OpenAPI module, doc-only lines elsewhere, e.g. summary= in route decorators)."""
    total, module = _num(_get(erg, "openapi", fw, "hand_written_loc")), _num(_get(erg, "loc", fw, "openapi"))
    if total is None:
        return None
    module = module or 0.0
    return int(module), int(total - module)


def _openapi(erg: dict[str, Any] | None) -> SeedRow:
    fa, fl = _get(erg, "openapi", "fastapi"), _get(erg, "openapi", "flask")

    def _m(fw: str, d: Any) -> str:
        if not isinstance(d, dict):
            return "not measured"
        how = "generated by the framework" if d.get("automatic") else "written by the app"
        served = "served" if d.get("served") else "not served"
        module, inline = openapi_split(erg, fw) or (0, 0)
        return (
            f"{served}, {how}; {d.get('paths_documented', '?')}/{d.get('paths_total', '?')} paths documented; "
            f"hand-written docs: {module} lines in an OpenAPI module + {inline} doc-only lines (summary=, "
            f"responses=, …) inside routes"
        )

    fa_auto = None if fa is None else bool(fa.get("automatic") and fa.get("served"))
    fa_all = _cmp(_get(fa, "paths_documented"), _get(fa, "paths_total"), ">=")
    fl_manual = (
        None if fl is None else bool(not fl.get("automatic") and (fl.get("hand_written_loc") or not fl.get("served")))
    )
    checks = (
        Check("FastAPI serves an OpenAPI document generated automatically", fa_auto),
        Check("FastAPI's document covers every path", fa_all),
        Check("Flask needs hand-written OpenAPI (or serves none)", fl_manual),
    )
    return SeedRow("OpenAPI docs", "Automatic", _m("fastapi", fa), "Manual", _m("flask", fl), "ergo-openapi", checks)


def core_loc(erg: dict[str, Any] | None, fw: str) -> tuple[float, float] | None:
    """(lines of app code without contract emulation, lines of contract emulation) of one app."""
    total = _num(_get(erg, "loc", fw, "total"))
    if total is None:
        return None
    emulation = sum(_num(_get(erg, "loc", fw, c)) or 0.0 for c in CONTRACT_EMULATION)
    return total - emulation, emulation


def _learning(erg: dict[str, Any] | None) -> SeedRow:
    def _m(fw: str) -> str:
        split, concepts = core_loc(erg, fw), _get(erg, "concepts", fw)
        if split is None and concepts is None:
            return "not measured"
        lines = "? lines" if split is None else (
            f"{split[0]:.0f} lines of app code + {split[1]:.0f} emulating the contract's validation and OpenAPI"
        )  # fmt: skip
        return f"{lines}; {concepts if concepts is not None else '?'} framework concepts"

    fa, fl = core_loc(erg, "fastapi"), core_loc(erg, "flask")
    checks = (
        Check(
            "FastAPI needs more framework concepts than Flask (proxy)",
            _cmp(_get(erg, "concepts", "fastapi"), _get(erg, "concepts", "flask"), ">"),
        ),
        Check(
            "FastAPI needs at least as many lines as Flask once contract-emulation code is left out (proxy)",
            None if fa is None or fl is None else fa[0] >= fl[0],
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
    measured_fa = async_words(fa) + (f"; I/O-bound upstream throughput {short_ratio(up)} Flask's" if up else "")
    return SeedRow("Async support", "Native", measured_fa, "Extension needed", async_words(fl), "ergo-async", checks)


def async_words(d: AsyncSupport | dict[str, Any] | None) -> str:
    """The async facts of one app as a sentence (ergonomics' own notes when present)."""
    if d is None:
        return "not measured"
    facts = d.model_dump() if isinstance(d, AsyncSupport) else d
    if facts.get("notes"):
        return str(facts["notes"])
    kind = "ASGI app: handlers can run on an event loop" if facts.get("native") else "WSGI app: one request per thread"
    return f"{kind}; {facts.get('async_routes', '?')} async def and {facts.get('sync_routes', '?')} def route handlers"


def seed_table(a: Result) -> list[SeedRow]:
    """The seed document's FastAPI-vs-Flask table with measured values and a verdict per row."""
    perf = _performance(a)
    erg = a.ergonomics
    stored = erg.stored() if erg else None
    return [perf, type_hints_row(stored), _openapi(stored), _learning(stored), _best_for(a, perf), _async(a)]


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
