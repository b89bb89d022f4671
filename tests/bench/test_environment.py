"""Machine facts, /proc/stat arithmetic and the steal / shared-core flags, on synthetic readings."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.config import resolve_settings
from bench.drive.runner import Runner
from bench.measure.environment import (
    CoreTicks,
    busiest_core_pct,
    machine_info,
    parse_proc_stat,
    steal_pct,
)
from bench.measure.sampler import ResourceSampler

#        user nice system idle iowait irq softirq steal guest guest_nice
BEFORE = """cpu  1000 0 200 800 0 0 0 0 0 0
cpu0 500 0 100 400 0 0 0 0 0 0
cpu1 500 0 100 400 0 0 0 0 0 0
intr 1 2 3
"""
# 1000 ticks later per core: cpu0 busy 900 (the server's), cpu1 busy 950 of which 100 stolen, 50 idle + iowait.
AFTER = """cpu  2550 0 400 900 50 0 0 100 0 0
cpu0 1350 0 150 500 0 0 0 0 0 0
cpu1 1200 0 250 400 50 0 0 100 0 0
intr 1 2 3
"""


def test_proc_stat_is_parsed_into_busy_idle_and_steal() -> None:
    ticks = parse_proc_stat(AFTER)
    assert set(ticks) == {"all", "0", "1"}
    assert ticks["1"] == CoreTicks(busy=1200 + 250 + 100, idle=400 + 50, steal=100)
    assert ticks["all"].total == 4000


def test_steal_and_busiest_core_between_two_readings() -> None:
    before, after = parse_proc_stat(BEFORE), parse_proc_stat(AFTER)
    assert steal_pct(before, after) == pytest.approx(5.0)
    assert busiest_core_pct(before, after, [1]) == pytest.approx(95.0)
    assert busiest_core_pct(before, after, [0]) == pytest.approx(90.0)
    assert busiest_core_pct(before, after, [0, 1]) == pytest.approx(95.0)
    assert math.isnan(steal_pct({}, after))
    assert math.isnan(busiest_core_pct(before, after, [7]))  # no such core: unknown, not zero


def test_the_sampler_reports_the_window_from_the_core_readings() -> None:
    readings = iter([parse_proc_stat(BEFORE), parse_proc_stat(AFTER)])
    sampler = ResourceSampler(list, list, other_cores=[1], read_cores=lambda: next(readings))
    sampler._take()
    sampler._take()
    first, last = sampler.samples
    assert last.at > first.at
    usage = sampler.window(first.at, last.at)
    assert usage.other_core_cpu_pct == pytest.approx(95.0)
    assert usage.steal_pct == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("steal", "other", "expected"),
    [
        (0.5, 40.0, []),
        (float("nan"), float("nan"), []),  # not measurable is not a reason
        (7.5, 40.0, ["CPU steal 7.5% > 5%"]),
        (0.0, 96.0, ["limited by the shared core (busiest of CPUs [1] at 96% > 90%)"]),
        (6.0, 99.0, ["CPU steal 6.0% > 5%", "limited by the shared core"]),
    ],
)
def test_steal_and_a_full_shared_core_invalidate_the_cell(
    tmp_path: Path, steal: float, other: float, expected: list[str]
) -> None:
    runner = Runner(resolve_settings("smoke"), tmp_path)
    reasons = runner._environment_reasons({"steal_pct": steal, "other_core_cpu_pct": other}, [1])
    assert len(reasons) == len(expected)
    for reason, start in zip(reasons, expected, strict=True):
        assert reason.startswith(start)


def test_machine_info_reads_cpuinfo_smt_and_governor(tmp_path: Path) -> None:
    (tmp_path / "smt").mkdir()
    (tmp_path / "smt" / "active").write_text("1\n")
    (tmp_path / "cpu0" / "cpufreq").mkdir(parents=True)
    (tmp_path / "cpu0" / "cpufreq" / "scaling_governor").write_text("performance\n")
    cpuinfo = "model name\t: Test CPU 9000\ncpu MHz\t\t: 3100.500\nflags\t\t: fpu sse hypervisor avx\n"
    info = machine_info(cpuinfo=cpuinfo, sys_cpu=tmp_path)
    assert info["cpu_model"] == "Test CPU 9000"
    assert info["cpu_mhz"] == 3100.5
    assert info["smt"] is True
    assert info["hypervisor_flag"] is True
    assert info["governor"] == "performance"
    bare = machine_info(cpuinfo="model name : X\nflags : fpu\n", sys_cpu=tmp_path / "missing")
    assert bare["hypervisor_flag"] is False
    assert bare["governor"] is None
    assert bare["cpu_mhz"] is None
