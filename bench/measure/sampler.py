"""Resource sampling: CPU seconds and RSS of the server tree, CPU of the database tree, of each load-generator
process and of every core."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.measure.environment import CoreTicks, busiest_core_pct, read_proc_stat, steal_pct

SAMPLE_INTERVAL_S = 0.25
Tree = Callable[[], list[psutil.Process]]


@dataclass
class Sample:
    """One reading of the server, database and load-generator process trees and of the cores."""

    at: float
    server_cpu_s: float
    server_rss_mb: float
    server_processes: int
    loadgen_cpu_s: dict[int, float]
    worker_rss_mb: float = float("nan")
    db_cpu_s: float = float("nan")
    cores: dict[str, CoreTicks] = field(default_factory=dict)


_CPUCLOCK_SCHED = 2  # Linux encodes a process's CPU-time clock id as (~pid << 3) | CPUCLOCK_SCHED


def process_cpu_s(proc: psutil.Process) -> float:
    """CPU seconds of one process, all its threads (ended ones too), to the nanosecond where Linux allows.

    /proc/<pid>/stat counts in 10 ms ticks per process; a PostgreSQL backend serving 100 primary-key reads
    uses less than one tick, so summing ticks over a tree would make CPU per request mostly rounding.
    """
    try:
        return time.clock_gettime((~proc.pid << 3) | _CPUCLOCK_SCHED)
    except (OSError, OverflowError, ValueError):
        times = proc.cpu_times()  # not Linux: the coarser per-process times
        return times.user + times.system


def tree_cpu_s(procs: list[psutil.Process]) -> float:
    """CPU seconds of a tree: its live processes plus the children its root has already reaped.

    PostgreSQL backends (and restarted workers) exit while we watch; the postmaster waits for them, so the
    kernel adds their CPU time to its children_user/children_system and nothing is lost or counted twice.
    """
    cpu = 0.0
    for index, proc in enumerate(procs):
        try:
            cpu += process_cpu_s(proc)
            if index == 0:
                times = proc.cpu_times()
                cpu += times.children_user + times.children_system
        except psutil.Error:
            continue
    return cpu


def _tree_usage(procs: list[psutil.Process]) -> tuple[float, float, int, float]:
    """CPU seconds and RSS summed over a tree, its size, and the mean RSS of the processes that serve requests.

    A tree of one process serves requests itself (uvicorn with one worker); in a larger tree the root is a
    supervisor (gunicorn's arbiter, uvicorn's multi-process manager) and only its children serve.
    """
    rss = 0.0
    worker_rss: list[float] = []
    for index, proc in enumerate(procs):
        try:
            mb = proc.memory_info().rss / 1_048_576
        except psutil.Error:
            continue
        rss += mb
        if index > 0 or len(procs) == 1:
            worker_rss.append(mb)
    mean_worker = sum(worker_rss) / len(worker_rss) if worker_rss else float("nan")
    return tree_cpu_s(procs), rss, len(worker_rss) + (1 if len(procs) > 1 else 0), mean_worker


def _no_tree() -> list[psutil.Process]:
    return []


class ResourceSampler:
    """Samples the server, database and load-generator trees and the per-core ticks, in a thread."""

    def __init__(
        self,
        server_tree: Tree,
        loadgen_tree: Tree,
        *,
        db_tree: Tree | None = None,
        other_cores: Sequence[int] = (),
        read_cores: Callable[[], dict[str, CoreTicks]] = read_proc_stat,
    ) -> None:
        self._server_tree = server_tree
        self._loadgen_tree = loadgen_tree
        self._db_tree = db_tree or _no_tree
        self._read_cores = read_cores
        self.other_cores = tuple(other_cores)
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="resource-sampler", daemon=True)

    def _take(self) -> None:
        server_cpu, server_rss, alive, worker_rss = _tree_usage(self._server_tree())
        loadgen: dict[int, float] = {}
        for proc in self._loadgen_tree():
            try:
                times = proc.cpu_times()
                loadgen[proc.pid] = times.user + times.system
            except psutil.Error:
                continue
        db = self._db_tree()
        db_cpu = tree_cpu_s(db) if db else float("nan")
        self.samples.append(
            Sample(time.time(), server_cpu, server_rss, alive, loadgen, worker_rss, db_cpu, self._read_cores())
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            self._take()
            self._stop.wait(SAMPLE_INTERVAL_S)

    def __enter__(self) -> ResourceSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def window(self, start: float, end: float) -> WindowUsage:
        """Server and database CPU seconds, peak RSS, peak load-generator CPU %, busiest other core and steal."""
        inside = [s for s in self.samples if start <= s.at <= end]
        before = [s for s in self.samples if s.at <= start]
        first = before[-1] if before else (inside[0] if inside else None)
        last = inside[-1] if inside else None
        if first is None or last is None or last.at <= first.at:
            return WindowUsage(float("nan"), float("nan"), 0, float("nan"), float("nan"))
        span = last.at - first.at
        peak_rss = max(s.server_rss_mb for s in inside)
        processes = max(s.server_processes for s in inside)
        worker_rss = max(s.worker_rss_mb for s in inside)
        loadgen_pct = max(
            ((last.loadgen_cpu_s.get(pid, cpu) - cpu) / span * 100 for pid, cpu in first.loadgen_cpu_s.items()),
            default=float("nan"),
        )
        # Scale the sampled CPU to the exact window so cpu per request is not biased by sampling phase.
        scale = (end - start) / span
        return WindowUsage(
            (last.server_cpu_s - first.server_cpu_s) * scale,
            peak_rss,
            processes,
            loadgen_pct,
            worker_rss,
            db_cpu_s=(last.db_cpu_s - first.db_cpu_s) * scale,
            other_core_cpu_pct=busiest_core_pct(first.cores, last.cores, self.other_cores),
            steal_pct=steal_pct(first.cores, last.cores),
        )

    def write_csv(self, path: Path, window_start: float) -> None:
        """Write the samples (t relative to the window start; negative during warm-up)."""
        lines = ["t,server_cpu_s,server_rss_mb,server_processes,loadgen_cpu_s,db_cpu_s"]
        for s in self.samples:
            lines.append(
                f"{s.at - window_start:.3f},{s.server_cpu_s:.3f},{s.server_rss_mb:.1f},{s.server_processes},"
                f"{sum(s.loadgen_cpu_s.values()):.3f},{s.db_cpu_s:.3f}"
            )
        path.write_text("\n".join(lines) + "\n")


@dataclass
class WindowUsage:
    """Resource use of one measured window."""

    server_cpu_s: float
    server_rss_mb: float
    server_processes: int
    loadgen_cpu_pct: float
    worker_rss_mb: float = float("nan")
    db_cpu_s: float = float("nan")
    other_core_cpu_pct: float = float("nan")
    steal_pct: float = float("nan")

    def cpu_columns(self, requests: int) -> dict[str, float]:
        """CPU-ms per request of the server and of PostgreSQL, the busiest shared core and steal, as row fields."""

        def per_request_ms(cpu_s: float) -> float:
            return cpu_s * 1000 / requests if requests and math.isfinite(cpu_s) else float("nan")

        return {
            "server_cpu_ms_per_req": per_request_ms(self.server_cpu_s),
            "db_cpu_s": self.db_cpu_s,
            "db_cpu_ms_per_req": per_request_ms(self.db_cpu_s),
            "other_core_cpu_pct": self.other_core_cpu_pct,
            "steal_pct": self.steal_pct,
        }
