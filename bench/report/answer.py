"""The first screen's words: one sentence per scenario and 'choose FastAPI if … / choose Flask if …'.

Built only from ScenarioResult values (filled by bench.report.facts from the analysis); nothing here is
hand-written prose about the outcome: every verdict, number and caveat comes from the inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

NAMES = {"fastapi": "FastAPI", "flask": "Flask"}
SETUP_GAP = 1.1  # the losing framework's setups differ by more than 10 %: which setup you run matters


@dataclass(frozen=True)
class Capacity:
    """Requests/s per server core a framework's best setup sustains within the p99 target, and how it was found."""

    value: float
    setup: str
    basis: str
    ci: tuple[float, float] | None = None  # across independent repeats (fresh starts); None with fewer than 3
    repeats: int = 1


@dataclass(frozen=True)
class ScenarioResult:
    """Everything the first screen says about one scenario."""

    scenario: str
    workload: str
    users: int | None = None
    setups: Mapping[str, str] = field(default_factory=dict)  # framework → best setup
    ratio: float = math.nan  # FastAPI ÷ Flask throughput
    ci: tuple[float, float] | None = None
    ci_basis: str = ""
    repeats: int = 0
    favours: str | None = None  # significant and beyond the noise floor
    significant: bool | None = None
    p99_ratio: float = math.nan
    p99_favours: str | None = None
    loser_worst: tuple[str, float] | None = None  # the losing framework's weakest setup and the ratio against it
    capacity: Mapping[str, Capacity] = field(default_factory=dict)
    invalid: str = ""
    # framework → its cheapest app setup's server CPU-µs per request and CI: what a rate-limited scenario still tells
    cpu_us: Mapping[str, tuple[str, float, tuple[float, float] | None]] = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        """Both frameworks have a valid best setup here."""
        return not self.invalid and math.isfinite(self.ratio)

    @property
    def verdict(self) -> str:
        """'FastAPI faster', 'Flask faster', 'tie', 'no verdict' or 'not measured'."""
        if not self.measured:
            return "not measured"
        if self.favours:
            return f"{NAMES[self.favours]} faster"
        return "no verdict" if self.significant is None else "tie"


def _ci(ci: tuple[float, float] | None) -> str:
    return f"[{ci[0]:.2f}–{ci[1]:.2f}]" if ci else "(no CI: fewer than 3 repeats)"


def effect(r: ScenarioResult) -> str:
    """'Flask 1.35× FastAPI's throughput [1.30–1.43]' for a win, 'FastAPI ÷ Flask 1.00× [0.94–1.07]' for a tie."""
    if r.favours == "flask":
        ci = (1 / r.ci[1], 1 / r.ci[0]) if r.ci else None
        return f"Flask {1 / r.ratio:.2f}× FastAPI's throughput {_ci(ci)}"
    if r.favours == "fastapi":
        return f"FastAPI {r.ratio:.2f}× Flask's throughput {_ci(r.ci)}"
    return f"FastAPI ÷ Flask throughput {r.ratio:.2f}× {_ci(r.ci)}"


def _floor(noise_floor: float | None) -> str:
    return f"A/A noise floor ±{noise_floor:.1%}" if noise_floor is not None else "no A/A control (noise floor unknown)"


def _capacity(r: ScenarioResult, p99_ms: float) -> str:
    if not r.capacity:
        return f"capacity at p99 ≤ {p99_ms:g} ms: not reached in this run"
    parts = [f"{NAMES.get(fw, fw)} {c.value:,.0f}{_ci_of(c.ci)}" for fw, c in sorted(r.capacity.items())]
    basis = sorted({c.basis for c in r.capacity.values()})
    fewest = min(c.repeats for c in r.capacity.values())
    evidence = f"{fewest} repeats" if fewest >= 3 else f"{fewest} repeat(s): no CI, a rough figure"
    return f"capacity at p99 ≤ {p99_ms:g} ms: {', '.join(parts)} req/s per core ({'; '.join(basis)}, {evidence})"


def _ci_of(ci: tuple[float, float] | None) -> str:
    return f" [{ci[0]:,.0f}–{ci[1]:,.0f}]" if ci else ""


def _cpu(r: ScenarioResult) -> str:
    # A scenario whose rate the load generator or the shared core limited still measured what a request costs.
    if set(r.cpu_us) != set(NAMES):
        return ""
    parts = []
    for fw in NAMES:
        setup, us, ci = r.cpu_us[fw]
        parts.append(f"{NAMES[fw]} {us:,.0f} µs{_ci_of(ci)} ({setup})")
    ratio = r.cpu_us["fastapi"][1] / r.cpu_us["flask"][1]
    return f"; as server CPU per request instead: {', '.join(parts)}, FastAPI ÷ Flask {ratio:.2f}×"


def sentence(r: ScenarioResult, noise_floor: float | None, p99_ms: float) -> str:
    """One line: verdict, effect with its CI across repeats, the noise floor and the capacity at the p99 target."""
    head = f"{r.scenario} ({r.workload}"
    if not r.measured:
        return f"{head}): not measured — {r.invalid or 'no valid cells for both frameworks'}{_cpu(r)}."
    return (
        f"{head}, {r.users} users): {r.verdict} — {effect(r)}"
        f"{', CI over ' + r.ci_basis if r.ci else ''}; {_floor(noise_floor)}; "
        f"{_capacity(r, p99_ms)}."
    )


def caveat(r: ScenarioResult) -> str:
    """The one caveat that matters most for a won scenario: thin evidence, a tail going the other way, setups."""
    if r.repeats < 3:
        return f"{r.repeats} repeat{'' if r.repeats == 1 else 's'} only: the CI misses run-to-run noise"
    if r.p99_favours and r.p99_favours != r.favours:
        return f"but its p99 is worse ({r.p99_ratio:.2f}× FastAPI ÷ Flask)"
    loser = "flask" if r.favours == "fastapi" else "fastapi"
    gap = abs(math.log(r.loser_worst[1] / r.ratio)) if r.loser_worst else 0.0
    if r.loser_worst and r.loser_worst[0] != r.setups.get(loser) and gap > math.log(SETUP_GAP):
        return (
            f"{NAMES[loser]}'s {r.setups.get(loser)} closes the gap to {r.ratio:.2f}× "
            f"(its {r.loser_worst[0]} is at {r.loser_worst[1]:.2f}×)"
        )
    return f"with {r.setups.get(r.favours or '', '?')} against {r.setups.get(loser, '?')}"


@dataclass(frozen=True)
class Choice:
    """'Choose <framework> if …': the scenarios it wins, each with its effect and caveat, plus measured extras."""

    framework: str
    wins: tuple[str, ...]
    extras: tuple[str, ...]

    @property
    def text(self) -> str:
        """The line as shown."""
        name = NAMES[self.framework]
        if not self.wins and not self.extras:
            return f"Choose {name} if: no measured workload or ergonomic check favours it in this run."
        extra = f" Also: {'; '.join(self.extras)}." if self.extras else ""
        if not self.wins:
            return f"Choose {name} for: no workload on throughput (none called in this run).{extra}"
        return f"Choose {name} if your traffic is mostly {'; '.join(self.wins)}.{extra}"


def choices(results: Sequence[ScenarioResult], extras: Mapping[str, Sequence[str]]) -> list[Choice]:
    """One Choice per framework from the scenarios it significantly wins (beyond the noise floor)."""
    out = []
    for fw in ("fastapi", "flask"):
        wins = sorted((r for r in results if r.favours == fw), key=lambda r: -abs(math.log(r.ratio)))
        lines = tuple(f"{r.scenario} ({r.workload}: {effect(r)}; {caveat(r)})" for r in wins)
        out.append(Choice(fw, lines, tuple(extras.get(fw, ()))))
    return out


def ties(results: Sequence[ScenarioResult]) -> str:
    """The scenarios where the run could not tell the frameworks apart (or could not decide), or ''."""
    even = [r.scenario for r in results if r.measured and r.favours is None and r.significant is not None]
    open_ = [r.scenario for r in results if r.measured and r.significant is None]
    out = [f"Either for {', '.join(even)}: no difference this run could detect."] if even else []
    if open_:
        out.append(f"No verdict for {', '.join(open_)}: fewer than 3 repeats or no A/A noise floor.")
    return " ".join(out)


def tally(results: Sequence[ScenarioResult]) -> str:
    """'Flask 3, FastAPI 1, tie 1, not measured 1' over every scenario."""
    counts: dict[str, int] = {}
    for r in results:
        key = NAMES[r.favours] if r.favours else r.verdict
        counts[key] = counts.get(key, 0) + 1
    order = sorted(counts, key=lambda k: (k in ("tie", "no verdict", "not measured"), -counts[k], k))
    return ", ".join(f"{k} {counts[k]}" for k in order)
