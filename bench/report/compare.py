"""Show a comparison of two runs (bench.analyse.comparison) as a table, HTML and Markdown, and gate CI on it.

Exit codes: 0 no called regression beyond the threshold, 1 regression, 2 refused (the setups differ).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.analyse.analysis import analyse_dir
from bench.analyse.comparison import Change, Comparison, GroupChange, compare_results, setup_differences
from bench.report.chartkit import FRAMEWORK_COLOR
from bench.report.render import environment
from bench.runformat import atomic_write


def _status(g: GroupChange, threshold: float) -> str:
    if g.regressions(threshold):
        return "REGRESSION"
    rps = g.changes["rps"]
    if rps.called and rps.pct > threshold:
        return "faster"
    if rps.called is None:
        return "untested"
    return "called, within threshold" if rps.called else "no change called"


def _fmt_change(c: Change) -> str:
    if not math.isfinite(c.pct):
        return "—"
    mark = {True: " *", False: "", None: " ?"}[c.called]
    return f"{c.pct:+.1f} %{mark}"


def rows(comp: Comparison) -> list[dict[str, Any]]:
    """Table rows (plain values) for the console, HTML and Markdown outputs."""
    out = []
    for g in comp.groups:
        server, scenario, users = g.key
        rps = g.changes["rps"]
        out.append(
            {
                "server": server,
                "scenario": scenario,
                "users": users,
                "rps_a": rps.a,
                "rps_b": rps.b,
                "rps": _fmt_change(rps),
                "rps_ci": "no CI" if rps.ci is None else f"{rps.ci[0]:.3f}–{rps.ci[1]:.3f}",
                "reason": rps.reason,
                "p50": _fmt_change(g.changes["p50_ms"]),
                "p99": _fmt_change(g.changes["p99_ms"]),
                "status": _status(g, comp.fail_above_pct),
            }
        )
    return out


def _print_table(comp: Comparison, console: Console) -> None:
    table = Table(title=f"{comp.run_a.run_id} (A) → {comp.run_b.run_id} (B); * called, ? untested")
    for col in ("setup", "scenario", "users", "rps A", "rps B", "Δ rps", "B÷A CI", "Δ p50", "Δ p99", "status"):
        table.add_column(col, justify="right" if col not in ("setup", "scenario", "status") else "left")
    for r in rows(comp):
        style = "bold red" if r["status"] == "REGRESSION" else "green" if r["status"] == "faster" else None
        table.add_row(
            r["server"], r["scenario"], str(r["users"]), f"{r['rps_a']:,.0f}", f"{r['rps_b']:,.0f}",
            r["rps"], r["rps_ci"], r["p50"], r["p99"], r["status"], style=style,
        )  # fmt: skip
    console.print(table)


def _markdown(comp: Comparison, ctx: dict[str, Any]) -> str:
    lines = [f"# Run comparison: `{comp.run_a.run_id}` (A) → `{comp.run_b.run_id}` (B)", ""]
    floor = "none measured" if comp.noise_floor is None else f"{comp.noise_floor:.1%}"
    lines.append(
        f"Gate: fail when a called rps drop or p99 rise exceeds {comp.fail_above_pct:g} %. A/A noise floor: {floor}. "
    )
    lines += [f"**Result: {ctx['verdict']}**", ""]
    if comp.differences:
        lines += ["**Setups differ (compared with --force):**", *[f"- {d}" for d in comp.differences], ""]
    lines += [
        "| setup | scenario | users | rps A | rps B | Δ rps | B÷A CI | Δ p50 | Δ p99 | status |",
        "|---" * 10 + "|",
    ]
    for r in ctx["rows"]:
        lines.append(
            f"| {r['server']} | {r['scenario']} | {r['users']} | {r['rps_a']:,.0f} | {r['rps_b']:,.0f} | {r['rps']} "
            f"| {r['rps_ci']} | {r['p50']} | {r['p99']} | {r['status']} |"
        )
    lines += [
        "",
        "`*` called: the 95 % CI of B ÷ A across repeats excludes 1 and the change exceeds the A/A noise floor; "
        "`?` untested (fewer than 3 valid repeats).",
        "",
    ]
    for label, keys in (("Only in A", comp.only_a), ("Only in B", comp.only_b)):
        if keys:
            lines.append(f"{label}: " + ", ".join(f"{s}/{sc}/u{u}" for s, sc, u in keys))
    return "\n".join(lines) + "\n"


def write_outputs(comp: Comparison, out_dir: Path) -> tuple[Path, Path]:
    """Write compare.html (self-contained) and compare.md into out_dir."""
    n = len(comp.regressions)
    verdict = f"{n} regression(s) beyond {comp.fail_above_pct:g} %" if n else "no called regression"
    ctx = {"comp": comp, "rows": rows(comp), "verdict": verdict, "colors": FRAMEWORK_COLOR}
    out_dir.mkdir(parents=True, exist_ok=True)
    html, md = out_dir / "compare.html", out_dir / "compare.md"
    atomic_write(html, environment().get_template("compare.html.j2").render(**ctx))
    atomic_write(md, _markdown(comp, ctx))
    return html, md


def compare_main(run_a: Path, run_b: Path, *, fail_above_pct: float, force: bool, out_dir: Path | None) -> int:
    """CLI entry point: compare run_b against run_a; 0 ok, 1 regression, 2 refused (setups differ)."""
    console = Console()
    if not console.is_terminal:  # CI logs: wide enough for the whole table
        console = Console(width=170)
    a, b = analyse_dir(Path(run_a)), analyse_dir(Path(run_b))
    differences = setup_differences(a.metadata, b.metadata)
    if differences and not force:
        console.print("[bold red]Refusing to compare: the runs' setups differ[/] (use --force to compare anyway):")
        for d in differences:
            console.print(f"  - {d}", markup=False)
        return 2
    comp = compare_results(a, b, fail_above_pct=fail_above_pct)
    if differences:
        console.print("[yellow]Comparing despite setup differences (--force):[/] " + "; ".join(differences))
    _print_table(comp, console)
    html, md = write_outputs(comp, Path(out_dir) if out_dir else Path(run_b))
    for key, c in comp.regressions:
        console.print(f"[bold red]regression[/] {'/'.join(map(str, key))} {c.metric}: {c.pct:+.1f} %", highlight=False)
    console.print(f"Wrote {html} and {md}", markup=False, highlight=False)
    return 1 if comp.regressions else 0
