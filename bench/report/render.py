"""Render results/<run>/report.html (one self-contained file), report.md and charts/*.png from a run's raw data."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import jinja2

from bench.analyse.analysis import Analysis, GroupStats, Ratio, analyse, load_run
from bench.analyse.verdicts import SeedRow, decision_guide, describe_ratio, fmt_ci, fmt_p, headline, seed_table
from bench.report.charts import FRAMEWORK_COLOR, Chart, render_charts
from bench.runformat import atomic_write

TEMPLATES = Path(__file__).resolve().parent / "templates"
SECTIONS = (
    ("headline", "Headline"),
    ("comparison", "The seed's table, measured"),
    ("performance", "Performance"),
    ("setups", "Server setups"),
    ("ergonomics", "Ergonomics"),
    ("decision-guide", "Decision guide"),
    ("how-to-read", "How to read this"),
    ("methodology", "Environment and methodology"),
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
    env.filters.update(
        num=num, ci=ci_text, ratio=describe_ratio, p=fmt_p, ratio_ci=fmt_ci, tojson_pretty=_pretty, compact=_compact
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
    meta_servers: dict[str, Any] = a.run.metadata.get("servers") or {}
    summary = a.run.summary
    rows = []
    for name in a.run.servers or list(meta_servers):
        s = meta_servers.get(name, {})
        cells = summary[summary["server"] == name]
        workers = sorted({int(w) for w in cells["workers"].dropna()}) or [s.get("workers", "—")]
        rows.append(
            {
                "setup": name,
                "framework": s.get("framework") or a.run.framework_of(name),
                "command": _command(s.get("command")),
                "workers": "/".join(map(str, workers)),
                "worker_class": s.get("worker_class", "—"),
                "threads": s.get("threads", "—"),
                "keep_alive": s.get("keep_alive", "—"),
                "db_driver": s.get("db_driver", "—"),
                "http_client": s.get("http_client", "—"),
                "pool": s.get("pool_size_per_worker", "—"),
                "measured": name in a.servers,
            }
        )
    return rows


def _invalid(a: Analysis) -> list[dict[str, Any]]:
    rows = []
    for _, r in a.run.invalid.sort_values(["scenario", "server", "users", "repeat"]).iterrows():
        cell = str(r["cell_id"])
        files = [f for f in RAW_FILES if (a.run.cell_dir(cell) / f).exists()]
        rows.append({"cell_id": cell, "reasons": str(r["invalid_reason"]).split(";"), "files": files})
    return rows


def _caveats(a: Analysis) -> list[str]:
    meta = a.run.metadata
    settings, placement, platform = meta.get("settings") or {}, meta.get("placement") or {}, meta.get("platform") or {}
    server_cpus = placement.get("server_cpus")
    repeats = sorted({g.repeats for g in a.groups.values()})
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
        f"after {settings.get('warmup_s', '?')} s warm-up, {meta.get('workers') or settings.get('workers', '?')} worker "
        "process(es) per "
        f"setup, DB pool budget {settings.get('pool_budget', '?')} connections in total.",
        "What the numbers do not say: behaviour under open-loop overload, with TLS or a reverse proxy in front, "
        "on other databases or drivers, with other worker counts, or for application code unlike ours. A "
        "'not significant' result means this run could not tell the two apart — not that they are equal.",
    ]
    out.extend(_asymmetries(a))
    if any(g.repeats < 3 for g in a.groups.values()):
        out.append(
            "Some groups have fewer than 3 repeats: their throughput CI and tests use the per-second samples "
            "within the cell(s), which ignore run-to-run variation (server restarts, cache state) and so are "
            "too narrow; their latency ratios are untested."
        )
    return out


def _asymmetries(a: Analysis) -> list[str]:
    """Differences between the measured setups that the stacks bring with them, read from metadata.servers."""
    servers = {k: v for k, v in (a.run.metadata.get("servers") or {}).items() if k in a.servers}
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
        k = (r.scenario, r.users, r.fastapi.server, r.flask.server)
        row = by_key.setdefault(k, {"scenario": k[0], "users": k[1], "fastapi": r.fastapi, "flask": r.flask})
        row[r.metric] = r
    return list(by_key.values())


def build_context(a: Analysis, charts: dict[str, Chart]) -> dict[str, Any]:
    """Everything the report template shows, derived from the analysis."""
    meta = a.run.metadata
    groups_by_scenario: dict[str, list[GroupStats]] = {s: [] for s in a.scenarios}
    for g in a.groups.values():
        groups_by_scenario[g.scenario].append(g)
    for gs in groups_by_scenario.values():
        gs.sort(key=lambda g: (a.servers.index(g.server), g.users))
    erg = a.run.ergonomics
    return {
        "run_id": a.run.run_id,
        "meta": meta,
        "platform": meta.get("platform") or {},
        "sections": SECTIONS,
        "headline": headline(a),
        "seed_rows": seed_table(a),
        "charts": charts,
        "colors": FRAMEWORK_COLOR,
        "groups_by_scenario": groups_by_scenario,
        "best_rows": _ratio_rows(list(a.best_ratios.values())),
        "pair_rows": _ratio_rows(a.pair_ratios),
        "warnings": [(g, w) for g in a.groups.values() for w in g.warnings],
        "setups": _setups(a),
        "erg": erg,
        "erg_loc_rows": _loc_rows(erg),
        "guide": decision_guide(a),
        "caveats": _caveats(a),
        "invalid": _invalid(a),
        "issues": a.consistency_issues,
        "cells_total": len(a.run.summary),
        "cells_valid": len(a.run.valid),
        "files": [
            f for f in ("summary.csv", "summary.json", "metadata.json", "ergonomics.json") if (a.run.path / f).exists()
        ],
        "valid_cells": [str(c) for c in a.run.valid["cell_id"]],
        "raw_files": RAW_FILES,
    }


def _loc_rows(erg: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    loc = (erg or {}).get("loc")
    if not isinstance(loc, dict):
        return []
    fa, fl = loc.get("fastapi") or {}, loc.get("flask") or {}
    keys = [k for k in fa if k != "total"] + [k for k in fl if k not in fa and k != "total"] + ["total"]
    return [(k, fa.get(k), fl.get(k)) for k in keys]


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
    if ctx["invalid"]:
        lines += ["", f"{len(ctx['invalid'])} invalid cell(s) excluded — see report.html#methodology."]
    if ctx["issues"]:
        lines += ["", "**Setup differences:** " + "; ".join(ctx["issues"])]
    lines += ["", "Full report with charts and methodology: [report.html](report.html)", ""]
    return "\n".join(lines)


def build_report(run_dir: Path) -> Path:
    """Write report.html, report.md and charts/*.png into the run directory; return the HTML path."""
    run_dir = Path(run_dir)
    analysis = analyse(load_run(run_dir))
    charts = render_charts(analysis, run_dir / "charts")
    ctx = build_context(analysis, charts)
    html = environment().get_template("report.html.j2").render(**ctx)
    out = run_dir / "report.html"
    atomic_write(out, html)
    atomic_write(run_dir / "report.md", _markdown(ctx))
    return out
