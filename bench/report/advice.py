"""`python -m bench advise RUN --mix ... --p99 100ms`: a team's request mix and latency target → one verdict."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.analyse.advise import Advice, MixError
from bench.report.adapt import load
from bench.report.facts import mix_advice, setup_capacities

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")


def parse_p99(text: str) -> float:
    """'100ms', '0.2s' or '150' (ms) → milliseconds; a clear error otherwise."""
    found = _DURATION.match(text)
    if not found:
        raise ValueError(f"--p99 {text!r} is not a duration such as 100ms or 0.2s")
    value = float(found.group(1)) * (1000.0 if found.group(2) == "s" else 1.0)
    if value <= 0:
        raise ValueError(f"--p99 must be above 0, got {text!r}")
    return value


def _ci(ci: tuple[float, float] | None, digits: int = 0) -> str:
    return f"[{ci[0]:,.{digits}f}, {ci[1]:,.{digits}f}]" if ci else "(no CI: < 3 repeats)"


def table(advice: Advice, p99_ms: float, basis: str) -> Table:
    """The advice as a rich table: best setup and capacity per framework, then the ratio and verdict."""
    out = Table(title=f"Capacity per server core at p99 ≤ {p99_ms:g} ms ({basis})")
    out.add_column("framework")
    out.add_column("best setup for this mix")
    out.add_column("req/s per core", justify="right")
    out.add_column("95 % CI", justify="right")
    for fw in ("fastapi", "flask"):
        cap = advice.capacity.get(fw)
        out.add_row(fw, advice.best.get(fw, "—"), f"{cap:,.0f}" if cap else "—", _ci(advice.capacity_ci.get(fw)))
    return out


def advise_main(run_dir: Path, mix: str, p99_ms: float) -> int:
    """Print the advice for a mix; exit 2 with one line naming the bad part of the mix."""
    analysis = load(run_dir)
    try:
        advice = mix_advice(analysis, mix, p99_ms)
    except MixError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _, basis = setup_capacities(analysis, p99_ms)
    console = Console()
    console.print(table(advice, p99_ms, basis))
    weights = ", ".join(f"{s} {w:.0%}" for s, w in advice.weights.items())
    console.print(f"mix: {weights}")
    console.print(f"verdict: {advice.verdict}")
    if advice.missing:
        console.print(f"setups without every scenario of the mix within the target: {', '.join(advice.missing)}")
    return 0
