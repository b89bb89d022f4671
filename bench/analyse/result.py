"""The analysis stage's one result: every figure, ratio, CI, call and verdict input of a run, computed once.

Verdicts, charts, the report and the run comparison read these records; none of them computes statistics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from bench.analyse.cpucost import CpuCost
from bench.analyse.stats import CI
from bench.runformat import Ergonomics, RunMetadata

GroupKey = tuple[str, str, int]  # (server, scenario, users)
METRICS = ("rps", "p50_ms", "p99_ms")
CURVE_PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99)


@dataclass(frozen=True)
class Latency:
    """A group's merged HDR histogram in the form the charts draw: bucket values (ms) and counts, a percentile curve."""

    values_ms: tuple[float, ...]
    counts: tuple[float, ...]
    curve_ms: tuple[float, ...]  # at CURVE_PERCENTILES

    @property
    def min_ms(self) -> float:
        """Smallest recorded latency."""
        return min(self.values_ms)

    @property
    def max_ms(self) -> float:
        """Largest recorded latency."""
        return max(self.values_ms)


@dataclass(frozen=True)
class GroupStats:
    """A (server, scenario, users) group over its valid repeats; CIs only with enough repeats."""

    server: str
    framework: str
    stack: str
    control_of: str
    scenario: str
    users: int
    cell_ids: tuple[str, ...]
    rps: tuple[float, ...]
    p50: tuple[float, ...]
    p99: tuple[float, ...]
    rps_mean: float
    rps_median: float
    rps_ci: CI | None
    p50_median: float
    p50_ci: CI | None
    p90_median: float
    p99_median: float
    p99_ci: CI | None
    p999_median: float
    cv: float  # across repeats (run-to-run variation)
    stability: float  # median over repeats of the per-second throughput CV inside one repeat
    rps_per_cpu_s: float
    rss_per_worker_mb: float
    server_cpu_pct: float
    error_rate: float
    warnings: tuple[str, ...]
    latency: Latency | None = None

    @property
    def repeats(self) -> int:
        """Number of valid repeats."""
        return len(self.cell_ids)

    @property
    def key(self) -> GroupKey:
        """(server, scenario, users)."""
        return (self.server, self.scenario, self.users)

    @property
    def is_app(self) -> bool:
        """One of our apps under a setup (not a baseline, not an A/A control)."""
        return not self.control_of and not self.server.startswith("baseline-")

    def values(self, metric: str) -> tuple[float, ...]:
        """Per-repeat values of rps, p50_ms or p99_ms."""
        return {"rps": self.rps, "p50_ms": self.p50, "p99_ms": self.p99}[metric]

    def median(self, metric: str) -> float:
        """Median over repeats of rps, p50_ms or p99_ms."""
        return {"rps": self.rps_median, "p50_ms": self.p50_median, "p99_ms": self.p99_median}[metric]


@dataclass(frozen=True)
class Ratio:
    """a ÷ b of one metric (means over repeats), its CI across repeats, and whether the difference is called."""

    metric: str
    a: GroupStats
    b: GroupStats
    ratio: float
    ci: CI | None
    noise_floor: float | None
    called: bool | None  # None: undecidable (fewer than 3 repeats on a side, or no noise floor)
    reason: str

    @property
    def scenario(self) -> str:
        """The scenario both groups ran."""
        return self.a.scenario

    @property
    def users(self) -> int:
        """The concurrency both groups ran at."""
        return self.a.users

    @property
    def favours(self) -> str | None:
        """'a' or 'b' when the difference is called, else None (higher rps, lower latency is better)."""
        if not self.called:
            return None
        return "a" if (self.ratio > 1) == (self.metric == "rps") else "b"

    @property
    def winner(self) -> str | None:
        """The framework of the favoured side when called."""
        side = self.favours
        return None if side is None else (self.a if side == "a" else self.b).framework


@dataclass(frozen=True)
class NoiseFloor:
    """The A/A control: the same setup started twice; the run's noise floor is how far its ratio is from 1."""

    setup: str
    control: str
    ratios: tuple[Ratio, ...]  # control ÷ original, per scenario and concurrency (rps)

    @property
    def floor(self) -> float | None:
        """The largest distance from 1 of any A/A throughput ratio (None when none is measurable)."""
        values = [max(r.ratio, 1 / r.ratio) - 1 for r in self.ratios if r.ci is not None and r.ratio > 0]
        return max(values) if values else None

    @property
    def worst(self) -> Ratio | None:
        """The A/A ratio that sets the floor."""
        measured = [r for r in self.ratios if r.ci is not None and r.ratio > 0]
        return max(measured, key=lambda r: max(r.ratio, 1 / r.ratio)) if measured else None


@dataclass(frozen=True)
class Effect:
    """One line of the decomposition: what it isolates, and the throughput ratio that measures it."""

    name: str  # "framework", "driver", "total"
    what: str
    ratio: Ratio


@dataclass(frozen=True)
class Decomposition:
    """A scenario's headline ratio split into framework effect (same driver), driver effect and total."""

    scenario: str
    users: int
    effects: tuple[Effect, ...]


@dataclass(frozen=True)
class BaselineFraction:
    """One app's throughput as a fraction of its own stack's minimal baseline app ("what our app adds")."""

    ratio: Ratio  # app ÷ baseline (rps)
    p99_ratio: Ratio  # app ÷ baseline (p99 latency)


@dataclass(frozen=True)
class InvalidCell:
    """A cell excluded from every figure, with why and which raw files it left."""

    cell_id: str
    scenario: str
    reasons: tuple[str, ...]
    files: tuple[str, ...]


@dataclass(frozen=True)
class SetupRow:
    """One setup as the report lists it."""

    name: str
    framework: str
    stack: str
    command: str
    workers: str
    worker_class: str
    threads: str
    keep_alive: str
    db_driver: str
    http_client: str
    pool: str
    db_admission: str
    measured: bool


@dataclass(frozen=True)
class Result:
    """Everything the analysis derives from one run directory."""

    path: Path
    run_id: str
    metadata: RunMetadata
    ergonomics: Ergonomics | None
    groups: dict[GroupKey, GroupStats]
    scenarios: list[str]  # with at least one valid group, registry order
    servers: list[str]  # with at least one valid group
    top_level: dict[str, int]  # scenario → highest concurrency where both frameworks' apps were measured
    best: dict[tuple[str, int, str], Ratio]  # (scenario, users, metric) → best FastAPI app ÷ best Flask app
    pairs: list[Ratio]  # every FastAPI app setup ÷ every Flask app setup, each metric
    noise: NoiseFloor | None
    decomposition: list[Decomposition]
    baseline_fractions: list[BaselineFraction]
    cpu_costs: list[CpuCost]
    setups: list[SetupRow]
    invalid: list[InvalidCell]
    invalid_reasons_by_scenario: dict[str, list[str]]
    consistency_issues: list[str]
    valid_cells: list[str]
    cells_total: int
    files: list[str]
    repeats: list[int] = field(default_factory=list)  # distinct valid-repeat counts of the groups

    @property
    def noise_floor(self) -> float | None:
        """The run's A/A noise floor (None when no control pair was measured with enough repeats)."""
        return self.noise.floor if self.noise else None

    def framework_of(self, server: str) -> str:
        """fastapi or flask for a setup name."""
        info = self.metadata.servers.get(server)
        if info is not None:
            return info.framework
        return next((g.framework for g in self.groups.values() if g.server == server), server.split("-")[0])

    def top_groups(self, scenario: str) -> list[GroupStats]:
        """The groups at the scenario's top level (or its highest measured level when one framework is missing)."""
        users = self.top_level.get(scenario)
        if users is None:
            here = [g.users for g in self.groups.values() if g.scenario == scenario]
            users = max(here) if here else None
        return sorted(
            (g for g in self.groups.values() if g.scenario == scenario and g.users == users),
            key=lambda g: self.servers.index(g.server),
        )

    def finite(self, value: float) -> bool:
        """math.isfinite for templates."""
        return math.isfinite(value)
