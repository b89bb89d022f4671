"""Distributed load on loopback: a Locust master and two workers, whose recorders merge exactly."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from bench.drive.distributed import DistributedLocustRun, MasterSpec, worker_command
from bench.drive.servers import Framework, RunningServer, free_port
from bench.measure.recorder import HDR_DIGITS, HDR_HIGHEST_US, HDR_LOWEST_US, merge_recorders

pytestmark = pytest.mark.e2e


def _spec(host: str, **extra: object) -> MasterSpec:
    fields: dict[str, object] = {"scenario": "item", "host": host, "users": 4, "warmup_s": 0.5, "duration_s": 2.0}
    fields |= {"seed_users": 20, "seed_items": 200, "workers": 2, "bind_port": free_port(), **extra}
    return MasterSpec(**fields)  # type: ignore[arg-type]


def test_the_master_command_waits_for_its_workers(tmp_path: Path) -> None:
    cmd = _spec("http://127.0.0.1:1", processes=3, bind_port=5599).command(tmp_path)
    assert "--processes" not in cmd
    assert cmd[-9:] == ["--master", "--expect-workers", "2", "--expect-workers-max-wait", "60",
                        "--master-bind-host", "127.0.0.1", "--master-bind-port", "5599"]  # fmt: skip
    assert worker_command("-", "10.0.0.5", 5599)[1:] == [
        "-f", "-", "--worker", "--master-host", "10.0.0.5", "--master-port", "5599", "--loglevel", "WARNING"
    ]  # fmt: skip


def test_an_open_loop_master_interleaves_the_paced_users_over_its_workers(tmp_path: Path) -> None:
    cmd = _spec("http://127.0.0.1:1", processes=1, rate=200.0, workers=3).command(tmp_path)
    # Every worker takes its own slots of the one schedule: the slot lattice spans the workers, not --processes.
    assert cmd[cmd.index("--bench-rate") + 1 : cmd.index("--bench-processes") + 2] == [
        "200.0",
        "--bench-processes",
        "3",
    ]


def test_master_and_two_workers_merge_counts_and_histograms_exactly(
    live_servers: dict[Framework, RunningServer], tmp_path: Path
) -> None:
    spec = _spec(live_servers["fastapi"].url)
    run = DistributedLocustRun(spec, tmp_path, cpus=None, local_workers=2)
    assert run.wait(timeout_s=spec.run_time_s + 60) == 0, run.log_tail()
    assert run.tree() == []
    per_worker = [json.loads(path.read_text()) for path in sorted(tmp_path.glob("recorder-*.json"))]
    assert len(per_worker) == 2, run.log_tail()
    assert all(worker["requests"] > 0 for worker in per_worker)  # both workers ran users
    assert len({tuple(worker["window"]) for worker in per_worker}) == 1  # every worker measured the master's window
    merged = merge_recorders(tmp_path)
    assert merged.processes == 2
    assert not merged.truncated  # the master stopped the workers only after the window
    # Each worker measured its own CPU over the window (the per-worker saturation rule works for remote ones too).
    assert all(0 < worker["cpu_pct"] <= 100 * 1.05 for worker in per_worker)
    assert merged.worker_cpu_pct == max(worker["cpu_pct"] for worker in per_worker)
    assert merged.busiest_cpu_pct(float("nan")) == merged.worker_cpu_pct
    assert merged.busiest_cpu_pct(1000.0) == 1000.0
    assert merged.requests == sum(worker["requests"] for worker in per_worker)
    assert merged.histogram.get_total_count() == merged.requests
    assert sum(merged.timeline.values()) == merged.requests
    expected = HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS)
    for worker in per_worker:
        expected.add(HdrHistogram.decode(worker["hdr"]))
    for percentile in (50, 90, 99, 99.9, 100):
        assert merged.histogram.get_value_at_percentile(percentile) == expected.get_value_at_percentile(percentile)
    bounds = [HdrHistogram.decode(worker["hdr"]).get_value_at_percentile(99) for worker in per_worker]
    assert min(bounds) <= merged.histogram.get_value_at_percentile(99) <= max(bounds)
    # Locust's own aggregate (warm-up included) saw at least every request of the window, with no failures.
    with (tmp_path / "locust_stats.csv").open() as stats:
        total = next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")
    assert int(total["Request Count"]) >= merged.requests
    assert int(total["Failure Count"]) == 0
    assert not merged.failures


def test_a_remote_style_worker_takes_the_scenario_from_the_master(
    live_servers: dict[Framework, RunningServer], tmp_path: Path
) -> None:
    spec = _spec(live_servers["flask"].url, workers=1)
    run = DistributedLocustRun(spec, tmp_path, local_workers=0)  # the master alone, waiting for one worker
    worker = subprocess.Popen(
        [sys.executable, "-m", "bench", "worker", "--master", f"127.0.0.1:{spec.bind_port}", "--once"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert run.wait(timeout_s=spec.run_time_s + 60) == 0, run.log_tail()
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    (recorder,) = [json.loads(path.read_text()) for path in tmp_path.glob("recorder-*.json")]
    assert recorder["requests"] > 0
    assert recorder["cpu_pct"] > 0
    assert merge_recorders(tmp_path).requests == recorder["requests"]
