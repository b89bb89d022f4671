"""Open-loop load: a fixed arrival rate per cell, latency-vs-rate curves and the capacity at a p99 target.

Each simulated user sends on a fixed schedule (its own slot of a global lattice with spacing 1/rate), and the
recorder measures every latency from the request's intended send time: a user that falls behind sends at once
and its wait is counted, so queueing delay is never hidden (no coordinated omission). locust-plugins'
`constant_total_ips` was not used: when behind it resets its clock (the backlog is dropped) and it exposes no
intended send time, so the wait would go unmeasured. This module is pure (no Locust, no processes); the Locust
users' schedule lives in `bench.drive.pacing` (light to import: every cell starts a Locust process). The runner
calls `OpenLoopPhase.run_setup` once per setup start and gives it a `measure` function that runs one cell.
"""

from __future__ import annotations

import math
import random
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bench.measure.recorder import LoadResult

Purpose = Literal["saturation", "fixed-rate", "capacity"]


class OpenLoopSettings(BaseModel):
    """Fixed-rate cells and the capacity search; a table `open_loop` of a profile, some values also flags."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenarios: list[str] | None = Field(default=None, description="scenarios with open-loop cells (None = all)")
    servers: list[str] | None = Field(
        default=None, description="setups with open-loop cells (None = every setup of the run, A/A copy included)"
    )
    fractions: list[Annotated[float, Field(gt=0, le=2)]] = Field(
        default=[0.25, 0.5, 0.75, 0.9], description="fixed rates as fractions of the slower framework's capacity"
    )
    rates: list[Annotated[float, Field(gt=0, le=1_000_000)]] = Field(
        default=[], description="fixed rates in requests/s for every scenario (replace `fractions` when given)"
    )
    warmup_s: float = Field(default=2.0, ge=0.5, le=600)
    duration_s: float = Field(default=5.0, gt=0, le=3600)
    slo_p99_ms: float = Field(default=100.0, gt=0, le=60_000)
    capacity_steps: int = Field(default=5, ge=0, le=20, description="probes per capacity search (0 = no search)")
    capacity_tolerance: float = Field(default=0.05, gt=0, lt=1, description="stop when (hi - lo) / hi is below")
    # The closed-loop peak is past the SLO (its p99 is queueing): a first probe there only builds a backlog.
    capacity_start: float = Field(
        default=0.75, gt=0, le=2, description="first capacity probe as a fraction of the setup's closed-loop peak"
    )
    probe_warmup_s: float = Field(default=1.5, ge=0.5, le=600)
    probe_duration_s: float = Field(default=3.0, gt=0, le=3600)
    latency_bound_ms: float = Field(
        default=1000.0, gt=0, le=60_000, description="users = rate × this, so none is busy when its next send is due"
    )
    max_users: int = Field(default=5000, ge=1, le=10_000)
    max_rate_shortfall: float = Field(default=0.02, ge=0, lt=1)
    repeats: int = Field(default=1, ge=1, le=100, description="fresh starts of every setup for the open-loop phase")


def users_for_rate(rate: float, latency_bound_s: float, *, processes: int = 1, max_users: int = 10_000) -> int:
    """Paced users for a rate: each sends every users/rate ≥ latency_bound_s, rounded up to a multiple of processes."""
    if rate <= 0 or latency_bound_s <= 0:
        raise ValueError(f"rate and latency bound must be positive, got {rate} and {latency_bound_s}")
    users = max(processes, math.ceil(rate * latency_bound_s - 1e-9))
    users = math.ceil(users / processes) * processes
    return min(users, max(processes, max_users - max_users % processes))


# --- validity and the numbers the analysis reads ----------------------------------------------------------------
def rate_shortfall_reason(target_rps: float, achieved_rps: float, duration_s: float, max_shortfall: float) -> str:
    """Why an open-loop cell missed its rate ('' if it did not); one request of the window is counting slack."""
    slack = 1 / duration_s if duration_s > 0 else 0.0
    if achieved_rps + slack >= target_rps * (1 - max_shortfall):
        return ""
    short = 1 - achieved_rps / target_rps
    return (
        f"achieved {achieved_rps:.1f} rps is {short:.1%} below the target {target_rps:.1f} rps (> {max_shortfall:.0%})"
    )


def meets_slo(row: Mapping[str, Any], slo_p99_ms: float) -> bool:
    """A valid cell whose p99 (from intended send times) is within the target."""
    p99 = row.get("p99_ms")
    return bool(row.get("valid")) and isinstance(p99, int | float) and not math.isnan(p99) and p99 <= slo_p99_ms


def capacity_at_slo(rows: Iterable[Mapping[str, Any]], slo_p99_ms: float) -> dict[tuple[str, str, int], float]:
    """(server, scenario, repeat) → the highest capacity-probe rate that was valid with p99 ≤ target (0 if none)."""
    found: dict[tuple[str, str, int], float] = {}
    for row in rows:
        if row.get("purpose") != "capacity":
            continue
        key = (str(row["server"]), str(row["scenario"]), int(row["repeat"]))
        best = found.setdefault(key, 0.0)
        if meets_slo(row, slo_p99_ms):
            found[key] = max(best, float(row["target_rps"]))
    return found


def _is_reference(row: Mapping[str, Any]) -> bool:
    # Baselines and A/A duplicates are not a framework's capacity.
    return not str(row["server"]).startswith("baseline-") and not row.get("control_of")


def closed_peaks(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], float]:
    """(server, scenario) → closed-loop peak: per repeat the best valid rps over concurrency, median over repeats."""
    best: dict[tuple[str, str, int], float] = defaultdict(float)
    for row in rows:
        if row.get("mode", "closed") != "closed" or not row.get("valid") or not row.get("requests"):
            continue
        key = (str(row["server"]), str(row["scenario"]), int(row["repeat"]))
        best[key] = max(best[key], float(row["rps"]))
    per_setup: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (server, scenario, _), rps in best.items():
        per_setup[(server, scenario)].append(rps)
    return {key: statistics.median(values) for key, values in per_setup.items()}


def fixed_rates(
    settings: OpenLoopSettings, rows: Iterable[Mapping[str, Any]], framework_of: Mapping[str, str]
) -> dict[str, list[float]]:
    """scenario → fixed rates: the configured ones, or fractions of the slower framework's closed-loop capacity."""
    # A framework's capacity is its best setup's peak (each framework at its experts' best); baselines and A/A
    # duplicates do not count. A scenario without a valid closed-loop cell of every framework gets no fixed rates.
    rows = list(rows)
    peaks = closed_peaks(row for row in rows if _is_reference(row))
    scenarios = {str(row["scenario"]) for row in rows}
    if settings.rates:
        return {scenario: sorted(settings.rates) for scenario in scenarios}
    frameworks = {framework_of[server] for server, _ in peaks if server in framework_of}
    out: dict[str, list[float]] = {}
    for scenario in scenarios:
        by_framework: dict[str, float] = {}
        for (server, sc), rps in peaks.items():
            if sc == scenario and server in framework_of:
                name = framework_of[server]
                by_framework[name] = max(by_framework.get(name, 0.0), rps)
        if by_framework and set(by_framework) == frameworks:
            slower = min(by_framework.values())
            out[scenario] = [round_rate(slower * fraction) for fraction in sorted(settings.fractions)]
    return out


def round_rate(rate: float) -> float:
    """Three significant digits: rates read well and repeat across runs."""
    return float(f"{rate:.3g}") if rate > 0 else 0.0


# --- the capacity search --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Probe:
    """One probe's outcome: was the cell valid (rate achieved, no errors), and its p99 from intended times."""

    rate: float
    valid: bool
    p99_ms: float

    def ok(self, slo_p99_ms: float) -> bool:
        """Valid and within the target."""
        return self.valid and not math.isnan(self.p99_ms) and self.p99_ms <= slo_p99_ms


@dataclass
class CapacitySearch:
    """Highest rate with p99 ≤ target: grow ×1.5 while passing, halve while failing, then bisect."""

    slo_p99_ms: float
    steps: int
    tolerance: float = 0.05
    min_rate: float = 1.0
    probes: list[Probe] = field(default_factory=list)

    @property
    def passed(self) -> float | None:
        """The highest rate that passed so far."""
        rates = [p.rate for p in self.probes if p.ok(self.slo_p99_ms)]
        return max(rates) if rates else None

    @property
    def failed(self) -> float | None:
        """The lowest rate that failed so far."""
        rates = [p.rate for p in self.probes if not p.ok(self.slo_p99_ms)]
        return min(rates) if rates else None

    def next_rate(self, start: float) -> float | None:
        """The next rate to probe, or None when the search is done."""
        if len(self.probes) >= self.steps:
            return None
        if not self.probes:
            return round_rate(start)
        lo, hi = self.passed, self.failed
        if hi is None:
            rate = round_rate((lo or start) * 1.5)
        elif lo is None:
            rate = round_rate(hi / 2)
        else:
            if (hi - lo) / hi <= self.tolerance:
                return None
            rate = round_rate((lo + hi) / 2)
        if rate < self.min_rate or any(p.rate == rate for p in self.probes):
            return None
        return rate

    def run(self, start: float, probe: Callable[[float], Probe]) -> float:
        """Probe until done; the capacity is the highest passing rate (0 when none passed)."""
        while (rate := self.next_rate(start)) is not None:
            self.probes.append(probe(rate))
        return self.passed or 0.0


# --- the phase the runner calls per setup -----------------------------------------------------------------------
@dataclass(frozen=True)
class OpenCell:
    """One open-loop measurement: setup, scenario, target rate and why it is measured."""

    server: str
    scenario: str
    purpose: Purpose
    target_rps: float
    users: int
    repeat: int
    warmup_s: float
    duration_s: float

    @property
    def id(self) -> str:
        """The cell's stable name (also its raw/ directory)."""
        tag = "fixed" if self.purpose == "fixed-rate" else "cap"
        return f"{self.server}__{self.scenario}__{tag}{self.target_rps:g}rps__r{self.repeat}"

    def row_fields(self, rps: float) -> dict[str, Any]:
        """The run-format fields of an open-loop row (achieved = completions per second of the window)."""
        return {"mode": "open", "purpose": self.purpose, "target_rps": self.target_rps, "achieved_rps": rps}

    def rate_reasons(self, load: LoadResult, duration_s: float, max_shortfall: float) -> list[str]:
        """The achieved-rate rule for this cell's measurement ([] when the rate was met or nothing completed)."""
        if not load.requests:
            return []  # "no requests completed" is reported already
        shortfall = rate_shortfall_reason(self.target_rps, load.requests / duration_s, duration_s, max_shortfall)
        ramp = load.ramp_overrun_s
        return (
            [shortfall + (f" (users still starting {ramp:.1f} s into the window)" if ramp else "")] if shortfall else []
        )


Measure = Callable[[OpenCell], dict[str, Any]]


class OpenLoopPhase:
    """After the closed-loop cells: fixed-rate cells and the capacity search for each setup and scenario."""

    def __init__(
        self,
        settings: OpenLoopSettings,
        closed_rows: Iterable[Mapping[str, Any]],
        framework_of: Mapping[str, str],
        *,
        processes: int = 1,
    ) -> None:
        rows = list(closed_rows)
        self.settings = settings
        self.processes = processes
        self.rates = fixed_rates(settings, rows, framework_of)
        self.peaks = closed_peaks(rows)
        self.capacity: dict[tuple[str, str, int], float] = {}

    @classmethod
    def after_closed(
        cls,
        settings: OpenLoopSettings,
        closed_rows: Iterable[Mapping[str, Any]],
        framework_of: Mapping[str, str],
        run_scenarios: Iterable[str],
        *,
        processes: int = 1,
    ) -> OpenLoopPhase | None:
        """The phase planned from the closed-loop rows, or None when it would measure nothing."""
        phase = cls(settings, closed_rows, framework_of, processes=processes)
        if not phase.scenarios(run_scenarios) or (not phase.rates and settings.capacity_steps == 0):
            return None
        return phase

    def starts(self, setups: Iterable[str], seed: int) -> list[tuple[str, int]]:
        """(setup, repeat) of every fresh server start of the phase: each repeat visits the setups in a random order."""
        wanted = self.settings.servers
        rng, setups = random.Random(seed), [s for s in setups if wanted is None or s in wanted]
        return [(server, r) for r in range(1, self.settings.repeats + 1) for server in rng.sample(setups, len(setups))]

    def summary(self) -> dict[str, Any]:
        """For metadata.json: the fixed rates, the p99 target and the capacity found per setup/scenario/repeat."""
        return {
            "fixed_rates": self.rates,
            "slo_p99_ms": self.settings.slo_p99_ms,
            "capacity_at_slo": {f"{sv}/{sc}/r{r}": rps for (sv, sc, r), rps in self.capacity.items()},
        }

    def scenarios(self, run_scenarios: Iterable[str]) -> list[str]:
        """The run's scenarios that get open-loop cells."""
        wanted = self.settings.scenarios
        return [s for s in run_scenarios if wanted is None or s in wanted]

    def cell(self, server: str, scenario: str, purpose: Purpose, rate: float, repeat: int) -> OpenCell:
        """An open-loop cell with its user count and window."""
        s = self.settings
        probe = purpose == "capacity"
        users = users_for_rate(rate, s.latency_bound_ms / 1000, processes=self.processes, max_users=s.max_users)
        return OpenCell(
            server=server,
            scenario=scenario,
            purpose=purpose,
            target_rps=rate,
            users=users,
            repeat=repeat,
            warmup_s=s.probe_warmup_s if probe else s.warmup_s,
            duration_s=s.probe_duration_s if probe else s.duration_s,
        )

    def planned_cells(self, server: str, scenarios: Iterable[str], repeat: int) -> list[OpenCell]:
        """The fixed-rate cells of one setup (the capacity probes are decided as the search goes)."""
        return [
            self.cell(server, scenario, "fixed-rate", rate, repeat)
            for scenario in self.scenarios(scenarios)
            for rate in self.rates.get(scenario, [])
        ]

    def run_setup(self, server: str, scenarios: Iterable[str], repeat: int, measure: Measure) -> list[dict[str, Any]]:
        """Measure one setup's fixed-rate cells, then search its capacity per scenario; returns every row."""
        # `measure` runs one cell and returns its row, already marked by `OpenCell.row_fields` and judged by
        # `rate_shortfall_reason` (the runner does both, so cell.json holds the same row).
        scenarios = self.scenarios(scenarios)
        rows = [measure(cell) for cell in self.planned_cells(server, scenarios, repeat)]
        for scenario in scenarios:
            peak = self.peaks.get((server, scenario))
            if not peak or self.settings.capacity_steps == 0:
                continue
            start = peak * self.settings.capacity_start
            search = CapacitySearch(
                self.settings.slo_p99_ms, self.settings.capacity_steps, self.settings.capacity_tolerance
            )

            def probe(rate: float, scenario: str = scenario) -> Probe:
                row = measure(self.cell(server, scenario, "capacity", rate, repeat))
                rows.append(row)
                p99 = row.get("p99_ms")  # None or NaN: nothing completed, a failed probe
                return Probe(rate, bool(row["valid"]), math.inf if p99 is None or p99 != p99 else float(p99))

            self.capacity[(server, scenario, repeat)] = search.run(start, probe)
        return rows
