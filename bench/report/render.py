"""Render results/<run>/report.html (one self-contained file), report.md and charts/*.png from a run's raw data."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import jinja2

from bench.analyse.analysis import analyse_dir
from bench.analyse.result import GroupStats, NoiseFloor, Ratio, Result
from bench.analyse.stats import MIN_REPEATS
from bench.analyse.verdicts import (
    SeedRow,
    call_word,
    decision_guide,
    describe_ratio,
    fmt_ci,
    fmt_floor,
    headline,
    seed_table,
)
from bench.report.charts import FRAMEWORK_COLOR, Chart, render_charts
from bench.runformat import atomic_write

TEMPLATES = Path(__file__).resolve().parent / "templates"
SECTIONS = (
    ("headline", "Headline"),
    ("comparison", "The seed's table, measured"),
    ("performance", "Performance"),
    ("noise", "Noise floor and decomposition"),
    ("setups", "Server setups"),
    ("ergonomics", "Ergonomics"),
    ("decision-guide", "Decision guide"),
    ("how-to-read", "How to read this"),
    ("methodology", "Environment and methodology"),
)
RAW_FILES = ("cell.json", "hdr.txt", "timeline.csv", "resources.csv", "server.log")
# The curve percentiles the charts use are part of the analysis result (bench.analyse.result).


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


def _caveats(a: Result) -> list[str]:
    meta = a.metadata
    settings, placement, platform = meta.settings, meta.placement, meta.platform
    server_cpus = placement.get("server_cpus")
    repeats = a.repeats
    out = [
        "Closed-loop load: each Locust user sends its next request only after the previous answer, with no think "
        "time. A slower server therefore receives fewer requests, and tail latencies understate what open-loop "
        "traffic (arrivals independent of answers) would see (coordinated omission).",
        f"One machine: {platform.get('cores', '?')} cores ({platform.get('cpu_model', 'unknown CPU')}) shared by "
        f"the server, the load generator, PostgreSQL and the upstream stub; the server was pinned to CPU(s) "
        f"{server_cpus if server_cpus is not None else 'not recorded'} "
        f"(load generator {placement.get('loadgen_cpus', '?')}, DB {placement.get('db_cpus', '?')}). "
        "Absolute numbers do not transfer to other hardware; ratios transfer better, but not to many-core hosts.",
        f"Repeats per cell: {', '.join(map(str, repeats)) or '—'}; measured window {settings.get('duration_s', '?')} s "
        f"after {settings.get('warmup_s', '?')} s warm-up, {meta.workers or settings.get('workers', '?')} worker "
        "process(es) per "
        f"setup, DB pool budget {settings.get('pool_budget', '?')} connections in total.",
        "What the numbers do not say: behaviour under open-loop overload, with TLS or a reverse proxy in front, "
        "on other databases or drivers, with other worker counts, or for application code unlike ours. A "
        "'no difference called' means this run could not tell the two apart — not that they are equal.",
    ]
    out.extend(_asymmetries(a))
    if any(g.repeats < MIN_REPEATS for g in a.groups.values()):
        out.append(
            f"Some groups have fewer than {MIN_REPEATS} valid repeats: they get no CI and no verdict. Per-second "
            "samples inside one run are not independent (they share the server start, cache state and drift), so "
            "they are never used as repeats; their spread is shown only as stability."
        )
    if a.noise is None:
        out.append(
            "This run has no A/A control pair (the same setup started twice), so its noise floor is unknown and no "
            "difference is called."
        )
    return out


def _asymmetries(a: Result) -> list[str]:
    """Differences between the measured setups that the stacks bring with them, read from metadata.servers."""
    servers = {k: v.model_dump() for k, v in a.metadata.servers.items() if k in a.servers and not k.endswith("~aa")}
    out = []
    for key, label in (
        ("db_driver", "DB driver"),
        ("http_client", "Upstream HTTP client"),
        ("keep_alive", "HTTP keep-alive"),
        ("threads", "Threads"),
    ):
        values = {name: s.get(key) for name, s in servers.items()}
        if len({str(v) for v in values.values()}) > 1:
            detail = ", ".join(f"{name}: {v}" for name, v in values.items())
            out.append(
                f"{label} differs between setups ({detail}); part of any difference is due to it, not to the framework."
            )
    return out


def _ratio_rows(ratios: list[Ratio]) -> list[dict[str, Any]]:
    by_key: dict[tuple[str, int, str, str], dict[str, Any]] = {}
    for r in ratios:
        k = (r.scenario, r.users, r.a.server, r.b.server)
        row = by_key.setdefault(k, {"scenario": k[0], "users": k[1], "a": r.a, "b": r.b})
        row[r.metric] = r
    return list(by_key.values())


def build_context(a: Result, charts: dict[str, Chart]) -> dict[str, Any]:
    """Everything the report template shows, read from the analysis result."""
    groups_by_scenario: dict[str, list[GroupStats]] = {s: [] for s in a.scenarios}
    for g in a.groups.values():
        groups_by_scenario[g.scenario].append(g)
    for gs in groups_by_scenario.values():
        gs.sort(key=lambda g: (a.servers.index(g.server), g.users))
    return {
        "run_id": a.run_id,
        "meta": a.metadata.model_dump(),
        "platform": a.metadata.platform,
        "sections": SECTIONS,
        "headline": headline(a),
        "seed_rows": seed_table(a),
        "charts": charts,
        "colors": FRAMEWORK_COLOR,
        "groups_by_scenario": groups_by_scenario,
        "best_rows": _ratio_rows(list(a.best.values())),
        "pair_rows": _ratio_rows(a.pairs),
        "warnings": [(g, w) for g in a.groups.values() for w in g.warnings],
        "noise": a.noise,
        "noise_floor": a.noise_floor,
        "decomposition": a.decomposition,
        "fractions": a.baseline_fractions,
        "setups": a.setups,
        "erg": a.ergonomics.stored() if a.ergonomics else None,
        "erg_loc_rows": _loc_rows(a),
        "guide": decision_guide(a),
        "caveats": _caveats(a),
        "invalid": a.invalid,
        "issues": a.consistency_issues,
        "cells_total": a.cells_total,
        "cells_valid": len(a.valid_cells),
        "files": a.files,
        "valid_cells": a.valid_cells,
        "raw_files": RAW_FILES,
    }


def _loc_rows(a: Result) -> list[tuple[str, Any, Any]]:
    if a.ergonomics is None:
        return []
    fa, fl = a.ergonomics.loc.fastapi, a.ergonomics.loc.flask
    keys = [k for k in fa if k != "total"] + [k for k in fl if k not in fa and k != "total"] + ["total"]
    return [(k, fa.get(k), fl.get(k)) for k in keys]


def _ratio_md(r: Ratio) -> str:
    return f"{r.ratio:.2f}× | {fmt_ci(r.ci)} | {call_word(r)}: {r.reason}"


def _noise_markdown(ctx: dict[str, Any]) -> list[str]:
    """The A/A noise floor, the decomposition and the baseline fractions as Markdown tables."""
    noise: NoiseFloor | None = ctx["noise"]
    lines = ["", "## Noise floor (A/A control)", ""]
    if noise is None:
        lines.append("No A/A control pair in this run: the noise floor is unknown and no difference is called.")
    else:
        lines += [
            f"{noise.control} ÷ {noise.setup} (the same setup started twice): {fmt_floor(noise.floor)}.",
            "",
            "| Scenario | Users | A/A ratio | 95 % CI |",
            "|---" * 4 + "|",
        ]
        lines += [f"| {r.scenario} | {r.users} | {r.ratio:.3f}× | {fmt_ci(r.ci)} |" for r in noise.ratios]
    lines += ["", "## Decomposition (throughput ratios, across repeats)", ""]
    if ctx["decomposition"]:
        lines += ["| Scenario | Users | Effect | Compared | Ratio | 95 % CI | Call |", "|---" * 7 + "|"]
        for d in ctx["decomposition"]:
            for e in d.effects:
                lines.append(f"| {d.scenario} | {d.users} | {e.name} | {e.what} | {_ratio_md(e.ratio)} |")
    else:
        lines.append("Not measured: the run lacks the setups that separate framework from driver.")
    lines += ["", "## What our app adds: each app ÷ its stack's baseline", ""]
    if ctx["fractions"]:
        lines += ["| Setup | Scenario | Users | rps ÷ baseline | 95 % CI | p99 ÷ baseline |", "|---" * 6 + "|"]
        for f in ctx["fractions"]:
            r = f.ratio
            lines.append(
                f"| {r.a.server} | {r.scenario} | {r.users} | {r.ratio:.2f}× | {fmt_ci(r.ci)} | {f.p99_ratio.ratio:.2f}× |"
            )
    else:
        lines.append("Not measured: no baseline setup ran in this run.")
    return lines


def _markdown(ctx: dict[str, Any]) -> str:
    lines = [f"# FastAPI vs Flask — run `{ctx['run_id']}`", ""]
    p = ctx["platform"]
    lines += [f"Machine: {p.get('cpu_model', '?')}, {p.get('cores', '?')} cores, {p.get('memory_gb', '?')} GB.", ""]
    lines += [f"- {s}" for s in ctx["headline"]] + ["", "## The seed's table, measured", ""]
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
    lines += _noise_markdown(ctx)
    if ctx["invalid"]:
        lines += ["", f"{len(ctx['invalid'])} invalid cell(s) excluded — see report.html#methodology."]
    if ctx["issues"]:
        lines += ["", "**Setup differences:** " + "; ".join(ctx["issues"])]
    lines += ["", "Full report with charts and methodology: [report.html](report.html)", ""]
    return "\n".join(lines)


def build_report(run_dir: Path) -> Path:
    """Write report.html, report.md and charts/*.png into the run directory; return the HTML path."""
    run_dir = Path(run_dir)
    analysis = analyse_dir(run_dir)
    charts = render_charts(analysis, run_dir / "charts")
    ctx = build_context(analysis, charts)
    html = environment().get_template("report.html.j2").render(**ctx)
    out = run_dir / "report.html"
    atomic_write(out, html)
    atomic_write(run_dir / "report.md", _markdown(ctx))
    return out
