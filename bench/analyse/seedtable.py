"""The seed document's comparison table: each row's claims, what this run measured, and a verdict from checks.

A verdict is derived from explicit checks that are shown next to it: all checks hold → supported, none → not
supported, some → partly, none measurable → not measured. Every check reads the typed run format (a renamed
field fails type-checking instead of turning a verdict into "not measured").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.analyse.result import Ratio, Result
from bench.analyse.stats import geometric_mean
from bench.analyse.words import NAMES, describe_ratio, fmt_floor, short_ratio
from bench.runformat import AnnotationFacts, AsyncSupport, Ergonomics, OpenAPIFacts

# Code an app writes to give the contract what FastAPI derives from annotations or does itself: request
# validation with the contract's 422 bodies, the OpenAPI document, FastAPI's quirks (loc concerns,
# bench.ergonomics.loc; a concern a run did not count adds 0).
CONTRACT_EMULATION = ("validation", "openapi", "contract_emulation")


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


def _hints_words(fw: str, d: AnnotationFacts | None) -> str:
    if d is None:
        return "not measured (this ergonomics.json has no annotation probe)"
    reads = "reads view annotations" if d.reads else "ignores view annotations (an `n: int` view gets a str)"
    return (
        f"{NAMES[fw]} {reads}: {d.inputs_from_annotations} of {d.inputs} request inputs validated and "
        f"{d.responses_typed} of {d.routes} responses typed from annotations; by hand: "
        f"{d.validation_hand_written_loc} validation lines, {d.docs_hand_written_loc} OpenAPI lines"
    )


def type_hints_row(erg: Ergonomics | None) -> SeedRow:
    """Type hints, as what each framework does with them (not whether our repository annotates)."""
    ann = erg.annotations if erg else None
    fa, fl = (ann.fastapi, ann.flask) if ann else (None, None)
    checks = (
        Check("FastAPI validates a view's inputs from its annotations (probe app)", fa.reads if fa else None),
        Check(
            "FastAPI derives ≥ 90 % of the contract's request inputs from annotations",
            None if fa is None or not fa.inputs else fa.inputs_from_annotations / fa.inputs >= 0.9,
        ),
        Check("Flask does not read view annotations, so they stay optional (probe app)", None if fl is None else not fl.reads),
    )  # fmt: skip
    return SeedRow(
        "Type hints", "Required", _hints_words("fastapi", fa), "Optional", _hints_words("flask", fl), "ergo-type-hints",
        checks,
    )  # fmt: skip


def openapi_split(erg: Ergonomics | None, fw: str) -> tuple[int, int] | None:
    """(lines in the app's OpenAPI module, doc-only lines elsewhere, e.g. summary= in route decorators)."""
    if erg is None:
        return None
    total, module = erg.openapi.of(fw).hand_written_loc, erg.loc.of(fw).get("openapi", 0)
    return module, total - module


def _openapi(erg: Ergonomics | None) -> SeedRow:
    fa, fl = (erg.openapi.fastapi, erg.openapi.flask) if erg else (None, None)

    def _m(fw: str, d: OpenAPIFacts | None) -> str:
        if d is None:
            return "not measured"
        how = "generated by the framework" if d.automatic else "written by the app"
        module, inline = openapi_split(erg, fw) or (0, 0)
        return (
            f"{'served' if d.served else 'not served'}, {how}; {d.paths_documented}/{d.paths_total} paths documented; "
            f"hand-written docs: {module} lines in an OpenAPI module + {inline} doc-only lines (summary=, "
            f"responses=, …) inside routes"
        )

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
    return SeedRow("OpenAPI docs", "Automatic", _m("fastapi", fa), "Manual", _m("flask", fl), "ergo-openapi", checks)


def core_loc(erg: Ergonomics | None, fw: str) -> tuple[float, float] | None:
    """(lines of app code without contract emulation, lines of contract emulation) of one app."""
    loc = erg.loc.of(fw) if erg else {}
    if "total" not in loc:
        return None
    emulation = float(sum(loc.get(c, 0) for c in CONTRACT_EMULATION))
    return loc["total"] - emulation, emulation


def _learning(erg: Ergonomics | None) -> SeedRow:
    def _m(fw: str) -> str:
        split = core_loc(erg, fw)
        if split is None or erg is None:
            return "not measured"
        return (
            f"{split[0]:.0f} lines of app code + {split[1]:.0f} emulating the contract's validation and OpenAPI; "
            f"{erg.concepts.of(fw)} framework concepts"
        )

    fa, fl = core_loc(erg, "fastapi"), core_loc(erg, "flask")
    checks = (
        Check(
            "FastAPI needs more framework concepts than Flask (proxy)",
            None if erg is None else erg.concepts.fastapi > erg.concepts.flask,
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
    if isinstance(d, dict):  # the report's templates read ergonomics.json as stored
        d = AsyncSupport.model_validate(d)
    if d.notes:
        return d.notes
    kind = "ASGI app: handlers can run on an event loop" if d.native else "WSGI app: one request per thread"
    return f"{kind}; {d.async_routes} async def and {d.sync_routes} def route handlers"


def seed_table(a: Result) -> list[SeedRow]:
    """The seed document's FastAPI-vs-Flask table with measured values and a verdict per row."""
    perf = _performance(a)
    erg = a.ergonomics
    return [perf, type_hints_row(erg), _openapi(erg), _learning(erg), _best_for(a, perf), _async(a)]
