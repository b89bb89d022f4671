"""The scenarios of the benchmark, in one place: every stage (config, runner, analysis, report) reads this table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SCENARIO_DIR = Path(__file__).resolve().parent / "drive" / "scenarios"

# Workload groups of the decision guide, in the order the report shows them.
WORKLOAD_ORDER = ("CPU-light API", "DB-bound read", "I/O-bound upstream call", "Write-heavy", "Mixed user journey")


@dataclass(frozen=True)
class Scenario:
    """One scenario: what it sends, whether it writes, and the workload it stands for."""

    name: str
    description: str
    writes: bool
    workload: str
    order: int

    @property
    def locustfile(self) -> Path:
        """The Locust file that drives it."""
        return SCENARIO_DIR / f"{self.name}.py"


_ALL = (
    # The framework floor only: item is a database read and is judged under "DB-bound read".
    Scenario("health", "GET /health/live: the framework floor, no database", False, "CPU-light API", 0),
    Scenario("item", "GET /items/{id}: one primary-key read", False, "DB-bound read", 1),
    Scenario("list", "GET /items?limit=20&skip=…: a page of 20 and a count", False, "DB-bound read", 2),
    Scenario("order", "POST /orders, 1–5 lines: authenticated write path in one transaction", True, "Write-heavy", 3),
    Scenario(
        "upstream",
        "GET /items/{id}/shipping-quote: waits on a 50 ms upstream (I/O-bound)",
        False,
        "I/O-bound upstream call",
        4,
    ),
    Scenario(
        "journey",
        "log in once, then browse, view, quote, order and list my orders (weighted)",
        True,
        "Mixed user journey",
        5,
    ),
)
SCENARIOS: dict[str, Scenario] = {s.name: s for s in sorted(_ALL, key=lambda s: s.order)}
SCENARIO_ORDER: tuple[str, ...] = tuple(SCENARIOS)
WRITE_SCENARIOS = frozenset(s.name for s in _ALL if s.writes)


def workloads() -> list[tuple[str, tuple[str, ...]]]:
    """(workload, its scenarios in order) for every workload group."""
    return [(w, tuple(s.name for s in SCENARIOS.values() if s.workload == w)) for w in WORKLOAD_ORDER]
