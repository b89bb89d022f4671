"""Render results/<run>/report.html (one self-contained file), report.md and charts/*.png from a run's raw data."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import jinja2

from bench.analyse.advise import Advice
from bench.analyse.result import GroupStats, Ratio
from bench.analyse.seedtable import SeedRow, async_words, core_loc, openapi_split, seed_table
from bench.analyse.verdicts import decision_guide
from bench.analyse.words import call_word, describe_ratio, fmt_ci, fmt_floor
from bench.report import answer, facts, method
from bench.report.adapt import Analysis, load, noise_floor
from bench.report.chartkit import FRAMEWORK_COLOR, Chart
from bench.report.gallery import render_charts
from bench.runformat import atomic_write

TEMPLATES = Path(__file__).resolve().parent / "templates"
SECTIONS = (
    ("answer", "Answer"),
    ("where", "Where it comes from"),
    ("methodology", "Method"),
    ("workload", "Your workload"),
    ("comparison", "Seed table"),
    ("performance", "Latency & throughput"),
    ("overload", "Under overload"),
    ("efficiency", "Cost"),
    ("setups", "Setups"),
    ("ergonomics", "Ergonomics"),
    ("decision-guide", "Guide"),
    ("how-to-read", "Caveats"),
    ("environment", "Environment & invalid cells"),
)
RAW_FILES = ("cell.json", "hdr.txt", "timeline.csv", "resources.csv", "server.log")


def num(value: Any, digits: int = 1, unit: str = "") -> str:
    """A number with thousands separators, or '—' when missing / not finite."""
    if value is None or isinstance(value, bool):
        return "—"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "—" if not math.isfinite(v) else f"{v:,.{digits}f}{unit}"


def ci_text(ci: tuple[float, float] | None, digits: int = 1) -> str:
    """'[a, b]' or '—'."""
    return "—" if ci is None else f"[{num(ci[0], digits)}, {num(ci[1], digits)}]"


def environment() -> jinja2.Environment:
    """The Jinja environment for the report templates (HTML autoescaped)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["async_words"] = async_words
    env.filters.update(
        num=num,
        ci=ci_text,
        ratio=describe_ratio,
        call=call_word,
        floor=fmt_floor,
        ratio_ci=fmt_ci,
        tojson_pretty=_pretty,
        compact=_compact,
        command=_command,
    )
    return env


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _command(value: Any) -> str:
    text = " ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value or "—")
    # Show the command as a reader would type it: executables from the project's venv, the port as PORT.
    text = re.sub(r"\S*/\.venv/bin/", ".venv/bin/", text)
    return re.sub(r"--port 0\b", "--port PORT", text)


def _setups(a: Analysis) -> list[dict[str, Any]]:
    return [{**vars(s), "setup": s.name, "command": _command(s.command)} for s in a.result.setups]


def _invalid(a: Analysis) -> list[dict[str, Any]]:
    return [{"cell_id": c.cell_id, "reasons": list(c.reasons), "files": list(c.files)} for c in a.result.invalid]


def _ratio_rows(ratios: list[Ratio]) -> list[dict[str, Any]]:
    by_key: dict[tuple[str, int, str, str], dict[str, Any]] = {}
    for r in ratios:
        k = (r.scenario, r.users, r.a.server, r.b.server)
        row = by_key.setdefault(k, {"scenario": k[0], "users": k[1], "a": r.a, "b": r.b})
        row[r.metric] = r
    return list(by_key.values())


def build_context(a: Analysis, charts: dict[str, Chart], *, p99_ms: float = facts.DEFAULT_P99_MS) -> dict[str, Any]:
    """Everything the report template shows, derived from the analysis."""
    meta = a.meta
    groups_by_scenario: dict[str, list[GroupStats]] = {s: [] for s in a.scenarios}
    for g in a.groups.values():
        groups_by_scenario[g.scenario].append(g)
    for gs in groups_by_scenario.values():
        gs.sort(key=lambda g: (a.servers.index(g.server), g.users))
    erg = a.erg
    results = facts.scenario_results(a, p99_ms)
    floor = noise_floor(a)
    return {
        "run_id": a.result.run_id,
        "meta": meta,
        "platform": meta.get("platform") or {},
        "sections": SECTIONS,
        "p99_ms": p99_ms,
        "results": results,
        "sentences": [(r, answer.sentence(r, floor, p99_ms)) for r in results],
        "choices": answer.choices(results, facts.ergonomic_extras(erg)),
        "ties": answer.ties(results),
        "tally": answer.tally(results),
        "noise_floor": floor,
        "method_rows": method.methodology(a),
        "mixes": [(n, m, _advice_row(x)) for n, m, x in facts.typical_mixes(a, p99_ms)],
        "seed_rows": seed_table(a.result),
        "charts": charts,
        "colors": FRAMEWORK_COLOR,
        "groups_by_scenario": groups_by_scenario,
        "best_rows": _ratio_rows(list(a.best_ratios.values())),
        "pair_rows": _ratio_rows(a.result.pairs),
        "warnings": [(g, w) for g in a.groups.values() for w in g.warnings],
        "setups": _setups(a),
        "cpu_costs": a.result.cpu_costs,
        "erg": erg,
        "erg_loc_rows": _loc_rows(erg),
        "openapi_split": {fw: openapi_split(a.result.ergonomics, fw) for fw in ("fastapi", "flask")},
        "core_loc": {fw: core_loc(a.result.ergonomics, fw) for fw in ("fastapi", "flask")},
        "guide": decision_guide(a.result),
        "caveats": method.caveats(a),
        "invalid": _invalid(a),
        "issues": a.result.consistency_issues,
        "cells_total": a.result.cells_total,
        "cells_valid": len(a.result.valid_cells),
        "files": a.result.files,
        "valid_cells": a.result.valid_cells,
        "raw_files": RAW_FILES,
    }


def _advice_row(advice: Advice | str) -> dict[str, Any]:
    """A 'your workload' row: verdict, capacities with CIs and the setup to run, or why there is none."""
    if isinstance(advice, str):
        return {"verdict": advice, "cells": []}
    if not advice.best:
        why = f"{advice.verdict} within the p99 target" + (f" ({', '.join(advice.missing)})" if advice.missing else "")
        return {"verdict": why, "cells": []}
    cells = [
        (
            fw,
            advice.best.get(fw, "—"),
            num(advice.capacity.get(fw), 0),
            ci_text(advice.capacity_ci.get(fw), 0),
        )
        for fw in ("fastapi", "flask")
    ]
    return {"verdict": advice.verdict, "cells": cells}


def _loc_rows(erg: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    loc = (erg or {}).get("loc")
    if not isinstance(loc, dict):
        return []
    fa, fl = loc.get("fastapi") or {}, loc.get("flask") or {}
    keys = [k for k in fa if k != "total"] + [k for k in fl if k not in fa and k != "total"] + ["total"]
    return [(k, fa.get(k), fl.get(k)) for k in keys]


def _markdown(ctx: dict[str, Any]) -> str:
    lines = [f"# FastAPI vs Flask — run `{ctx['run_id']}`", "", f"**Scenarios won:** {ctx['tally']}.", ""]
    lines += [f"- {text}" for _, text in ctx["sentences"]] + [""]
    lines += [f"- **{c.text}**" for c in ctx["choices"]] + ([f"- {ctx['ties']}"] if ctx["ties"] else [])
    lines += ["", "## How it was measured", "", "| Aspect | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in ctx["method_rows"]]
    lines += ["", "## The seed's table, measured", ""]
    lines += [
        "| Feature | Seed: FastAPI | Measured FastAPI | Seed: Flask | Measured Flask | Verdict |",
        "|---" * 6 + "|",
    ]
    row: SeedRow
    for row in ctx["seed_rows"]:
        cells = [row.feature, row.claim_fastapi, row.measured_fastapi, row.claim_flask, row.measured_flask, row.verdict]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    lines += ["", "## Decision guide (highest concurrency, best setup of each framework)", ""]
    lines += ["| Workload | Scenario | Users | FastAPI ÷ Flask rps | p99 ratio | Advice |", "|---" * 6 + "|"]
    for workload, advice, rows in ctx["guide"]:
        if not rows:
            lines.append(f"| {workload} | — | — | — | — | {advice} |")
        for r in rows:
            lines.append(
                f"| {workload} | {r.scenario} | {r.users} | {describe_ratio(r.rps)} | {r.p99.ratio:.2f}× | {advice} |"
            )
    if ctx["invalid"]:
        lines += ["", f"{len(ctx['invalid'])} invalid cell(s) excluded — see report.html#environment."]
    if ctx["issues"]:
        lines += ["", "**Setup differences:** " + "; ".join(ctx["issues"])]
    lines += ["", "Full report with charts and methodology: [report.html](report.html)", ""]
    return "\n".join(lines)


def build_report(run_dir: Path, *, p99_ms: float = facts.DEFAULT_P99_MS) -> Path:
    """Write report.html, report.md and charts/*.png into the run directory; return the HTML path."""
    run_dir = Path(run_dir)
    analysis = load(run_dir)
    charts = render_charts(analysis, run_dir / "charts", slo_ms=p99_ms)
    ctx = build_context(analysis, charts, p99_ms=p99_ms)
    html = environment().get_template("report.html.j2").render(**ctx)
    out = run_dir / "report.html"
    atomic_write(out, html)
    atomic_write(run_dir / "report.md", _markdown(ctx))
    return out


def report_main(run_dir: Path, *, screenshots: bool = False) -> Path:
    """CLI entry point: build the report of run_dir (and its first-screen screenshot) and return its path."""
    out = build_report(run_dir)
    if screenshots:
        from bench.report.screenshot import first_screen

        first_screen(out, Path(run_dir) / "screenshots" / "first-screen.png")
    return out
