"""Compare two runs group by group: % change of median rps / p50 / p99 with significance, as a CI gate.

Exit codes: 0 no significant regression beyond the threshold, 1 regression, 2 refused (the setups differ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.analyse import stats
from bench.analyse.analysis import GroupStats, comparison_samples, group_stats
from bench.analyse.rundata import SETUP_ORDER, GroupKey, Run, load_run
from bench.registry import SCENARIO_ORDER
from bench.report.chartkit import FRAMEWORK_COLOR
from bench.report.render import environment

PACKAGES = ("fastapi", "flask", "starlette", "werkzeug", "sqlalchemy", "uvicorn", "gunicorn")
PROFILE_SETTINGS = ("users", "duration_s", "workers", "pool_budget")
METRICS = ("rps", "p50_ms", "p99_ms")
GATED = {"rps": -1, "p99_ms": +1}  # metric → direction of a regression (rps falling, p99 rising)


def _lower_keys(d: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in d.items()} if isinstance(d, dict) else {}


def python_version(meta: dict[str, Any]) -> str | None:
    """'CPython 3.11.7' from metadata's python entry (a dict, or a plain version string in older runs)."""
    py = meta.get("python")
    if isinstance(py, dict):
        return " ".join(str(py[k]) for k in ("implementation", "version") if py.get(k)) or None
    return None if py is None else str(py)


def setup_differences(meta_a: dict[str, Any], meta_b: dict[str, Any]) -> list[str]:
    """What differs between two runs' metadata that makes their numbers incomparable (empty: comparable)."""
    diffs = []
    checks: list[tuple[str, Any, Any]] = []
    pa, pb = meta_a.get("platform") or {}, meta_b.get("platform") or {}
    checks += [(f"platform.{k}", pa.get(k), pb.get(k)) for k in ("cpu_model", "cores")]
    ka, kb = _lower_keys(meta_a.get("packages")), _lower_keys(meta_b.get("packages"))
    checks += [(f"packages.{p}", ka.get(p), kb.get(p)) for p in PACKAGES]
    checks.append(("python", python_version(meta_a), python_version(meta_b)))
    sa, sb = meta_a.get("settings") or {}, meta_b.get("settings") or {}
    checks += [(f"settings.{k}", sa.get(k), sb.get(k)) for k in PROFILE_SETTINGS]
    checks.append(("workers (effective)", meta_a.get("workers"), meta_b.get("workers")))
    for name, va, vb in checks:
        if va != vb:
            diffs.append(f"{name}: {va!r} (A) vs {vb!r} (B)")
    return diffs


@dataclass(frozen=True)
class Change:
    """One metric of one group, run A → run B."""

    metric: str
    a: float
    b: float
    p_value: float | None
    ci: tuple[float, float] | None
    test: str | None
    basis: str

    @property
    def pct(self) -> float:
        """(B / A − 1) × 100 of the medians."""
        return (self.b / self.a - 1) * 100 if self.a and math.isfinite(self.a) else math.nan

    @property
    def significant(self) -> bool | None:
        """p < 0.05 and the CI of B ÷ A excludes 1; None when untested."""
        return stats.is_significant(self.p_value, self.ci)


@dataclass(frozen=True)
class GroupChange:
    """All compared metrics of one (server, scenario, users) group."""

    key: GroupKey
    changes: dict[str, Change]

    def regressions(self, fail_above_pct: float) -> list[Change]:
        """Significant changes in the bad direction larger than the threshold (rps down, p99 up)."""
        out = []
        for metric, sign in GATED.items():
            c = self.changes.get(metric)
            if c and c.significant and math.isfinite(c.pct) and sign * c.pct > fail_above_pct:
                out.append(c)
        return out


def _change(a: GroupStats, b: GroupStats, metric: str) -> Change:
    picked = comparison_samples(b, a, metric)
    if picked is None:
        return Change(metric, a.median(metric), b.median(metric), None, None, None, "untested (too few repeats)")
    sb, sa, test, basis = picked
    p = stats.significance(sb, sa, test=test)
    return Change(metric, a.median(metric), b.median(metric), p, stats.ratio_ci(sb, sa), test, basis)


@dataclass
class Comparison:
    """Run A vs run B: setup differences, per-group changes and the groups only one run has."""

    run_a: Run
    run_b: Run
    differences: list[str]
    groups: list[GroupChange]
    only_a: list[GroupKey]
    only_b: list[GroupKey]
    fail_above_pct: float

    @property
    def regressions(self) -> list[tuple[GroupKey, Change]]:
        """Every gated regression beyond the threshold."""
        return [(g.key, c) for g in self.groups for c in g.regressions(self.fail_above_pct)]


def _sort_key(key: GroupKey) -> tuple[int, int, int, str, str]:
    server, scenario, users = key
    s = SCENARIO_ORDER.index(scenario) if scenario in SCENARIO_ORDER else len(SCENARIO_ORDER)
    v = SETUP_ORDER.index(server) if server in SETUP_ORDER else len(SETUP_ORDER)
    return (s, v, users, scenario, server)


def compare_runs(run_a: Run, run_b: Run, *, fail_above_pct: float) -> Comparison:
    """Compare every group present in both runs."""
    ga, gb = group_stats(run_a), group_stats(run_b)
    common = sorted(set(ga) & set(gb), key=_sort_key)
    groups = [GroupChange(k, {m: _change(ga[k], gb[k], m) for m in METRICS}) for k in common]
    return Comparison(
        run_a,
        run_b,
        setup_differences(run_a.metadata, run_b.metadata),
        groups,
        sorted(set(ga) - set(gb), key=_sort_key),
        sorted(set(gb) - set(ga), key=_sort_key),
        fail_above_pct,
    )


def _status(g: GroupChange, threshold: float) -> str:
    if g.regressions(threshold):
        return "REGRESSION"
    rps = g.changes["rps"]
    if rps.significant and rps.pct > threshold:
        return "faster"
    if rps.significant is None:
        return "untested"
    return "significant, within threshold" if rps.significant else "no significant change"


def _fmt_change(c: Change) -> str:
    if not math.isfinite(c.pct):
        return "—"
    mark = {True: " *", False: "", None: " ?"}[c.significant]
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
                "rps_p": "untested" if rps.p_value is None else f"{rps.p_value:.3g}",
                "test": f"{rps.test or 'none'} on {rps.basis}",
                "p50": _fmt_change(g.changes["p50_ms"]),
                "p99": _fmt_change(g.changes["p99_ms"]),
                "status": _status(g, comp.fail_above_pct),
            }
        )
    return out


def _print_table(comp: Comparison, console: Console) -> None:
    table = Table(title=f"{comp.run_a.run_id} (A) → {comp.run_b.run_id} (B); * significant, ? untested")
    for col in ("setup", "scenario", "users", "rps A", "rps B", "Δ rps", "p", "Δ p50", "Δ p99", "status"):
        table.add_column(col, justify="right" if col not in ("setup", "scenario", "status") else "left")
    for r in rows(comp):
        style = "bold red" if r["status"] == "REGRESSION" else "green" if r["status"] == "faster" else None
        table.add_row(
            r["server"], r["scenario"], str(r["users"]), f"{r['rps_a']:,.0f}", f"{r['rps_b']:,.0f}",
            r["rps"], r["rps_p"], r["p50"], r["p99"], r["status"], style=style,
        )  # fmt: skip
    console.print(table)


def _markdown(comp: Comparison, ctx: dict[str, Any]) -> str:
    lines = [f"# Run comparison: `{comp.run_a.run_id}` (A) → `{comp.run_b.run_id}` (B)", ""]
    lines.append(f"Gate: fail when a significant rps drop or p99 rise exceeds {comp.fail_above_pct:g} %. ")
    lines += [f"**Result: {ctx['verdict']}**", ""]
    if comp.differences:
        lines += ["**Setups differ (compared with --force):**", *[f"- {d}" for d in comp.differences], ""]
    lines += ["| setup | scenario | users | rps A | rps B | Δ rps | p | Δ p50 | Δ p99 | status |", "|---" * 10 + "|"]
    for r in ctx["rows"]:
        lines.append(
            f"| {r['server']} | {r['scenario']} | {r['users']} | {r['rps_a']:,.0f} | {r['rps_b']:,.0f} | {r['rps']} "
            f"| {r['rps_p']} | {r['p50']} | {r['p99']} | {r['status']} |"
        )
    lines += ["", "`*` significant (p < 0.05 and the CI of B ÷ A excludes 1), `?` untested (too few repeats).", ""]
    for label, keys in (("Only in A", comp.only_a), ("Only in B", comp.only_b)):
        if keys:
            lines.append(f"{label}: " + ", ".join(f"{s}/{sc}/u{u}" for s, sc, u in keys))
    return "\n".join(lines) + "\n"


def write_outputs(comp: Comparison, out_dir: Path) -> tuple[Path, Path]:
    """Write compare.html (self-contained) and compare.md into out_dir."""
    n = len(comp.regressions)
    verdict = f"{n} regression(s) beyond {comp.fail_above_pct:g} %" if n else "no significant regression"
    ctx = {"comp": comp, "rows": rows(comp), "verdict": verdict, "colors": FRAMEWORK_COLOR}
    out_dir.mkdir(parents=True, exist_ok=True)
    html, md = out_dir / "compare.html", out_dir / "compare.md"
    html.write_text(environment().get_template("compare.html.j2").render(**ctx), encoding="utf-8")
    md.write_text(_markdown(comp, ctx), encoding="utf-8")
    return html, md


def compare_main(run_a: Path, run_b: Path, *, fail_above_pct: float, force: bool, out_dir: Path | None) -> int:
    """CLI entry point: compare run_b against run_a; 0 ok, 1 regression, 2 refused (setups differ)."""
    console = Console()
    if not console.is_terminal:  # CI logs: wide enough for the whole table
        console = Console(width=170)
    a, b = load_run(Path(run_a)), load_run(Path(run_b))
    differences = setup_differences(a.metadata, b.metadata)
    if differences and not force:
        console.print("[bold red]Refusing to compare: the runs' setups differ[/] (use --force to compare anyway):")
        for d in differences:
            console.print(f"  - {d}", markup=False)
        return 2
    comp = compare_runs(a, b, fail_above_pct=fail_above_pct)
    if differences:
        console.print("[yellow]Comparing despite setup differences (--force):[/] " + "; ".join(differences))
    _print_table(comp, console)
    html, md = write_outputs(comp, Path(out_dir) if out_dir else Path(run_b))
    for key, c in comp.regressions:
        console.print(f"[bold red]regression[/] {'/'.join(map(str, key))} {c.metric}: {c.pct:+.1f} %", highlight=False)
    console.print(f"Wrote {html} and {md}", markup=False, highlight=False)
    return 1 if comp.regressions else 0
