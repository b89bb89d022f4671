"""The scenario registry: every entry is runnable, and every stage reads the same table."""

from __future__ import annotations

from bench.config import resolve_settings
from bench.registry import SCENARIO_ORDER, SCENARIOS, WORKLOAD_ORDER, WRITE_SCENARIOS, workloads


def test_every_scenario_has_its_locust_file() -> None:
    for scenario in SCENARIOS.values():
        assert scenario.locustfile.is_file(), scenario.name


def test_every_scenario_belongs_to_exactly_one_known_workload() -> None:
    grouped = [name for _, names in workloads() for name in names]
    assert sorted(grouped) == sorted(SCENARIOS)
    assert {s.workload for s in SCENARIOS.values()} <= set(WORKLOAD_ORDER)


def test_order_and_writes_come_from_the_entries() -> None:
    assert [SCENARIOS[name].order for name in SCENARIO_ORDER] == sorted(s.order for s in SCENARIOS.values())
    assert {name for name, s in SCENARIOS.items() if s.writes} == WRITE_SCENARIOS


def test_config_accepts_registered_scenarios_only() -> None:
    assert resolve_settings("quick", {"scenarios": list(SCENARIOS)}).scenarios == list(SCENARIOS)
