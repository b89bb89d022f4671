"""Measurement helpers: resource sampling of process trees, and merging the recorders' per-process files."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from hdrh.histogram import HdrHistogram

SAMPLE_INTERVAL_S = 0.25
# 1 µs to 60 s with 3 significant digits: sub-millisecond resolution and no clipping of slow outliers.
# (Kept here, not in the Locust scenarios, so the harness never imports Locust and its gevent patching.)
HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS = 1, 60_000_000, 3


@dataclass
class Sample:
    """One reading of the server and load-generator process trees."""

    at: float
    server_cpu_s: float
    server_rss_mb: float
    server_processes: int
    loadgen_cpu_s: dict[int, float]
    worker_rss_mb: float = float("nan")


def _tree_usage(procs: list[psutil.Process]) -> tuple[float, float, int, float]:
    """CPU seconds and RSS summed over a tree, its size, and the mean RSS of the processes that serve requests.

    A tree of one process serves requests itself (uvicorn with one worker); in a larger tree the root is a
    supervisor (gunicorn's arbiter, uvicorn's multi-process manager) and only its children serve.
    """
    cpu = rss = 0.0
    worker_rss: list[float] = []
    for index, proc in enumerate(procs):
        try:
            times = proc.cpu_times()
            cpu += times.user + times.system
            mb = proc.memory_info().rss / 1_048_576
        except psutil.Error:
            continue
        rss += mb
        if index > 0 or len(procs) == 1:
            worker_rss.append(mb)
    mean_worker = sum(worker_rss) / len(worker_rss) if worker_rss else float("nan")
    return cpu, rss, len(worker_rss) + (1 if len(procs) > 1 else 0), mean_worker


class ResourceSampler:
    """Samples CPU seconds and RSS of the server tree and CPU of each load-generator process, in a thread."""

    def __init__(
        self,
        server_tree: Callable[[], list[psutil.Process]],
        loadgen_tree: Callable[[], list[psutil.Process]],
    ) -> None:
        self._server_tree = server_tree
        self._loadgen_tree = loadgen_tree
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
        self.samples.append(Sample(time.time(), server_cpu, server_rss, alive, loadgen, worker_rss))

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
        """Server CPU seconds, peak RSS and peak load-generator CPU % between two epoch times."""
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
        cpu = (last.server_cpu_s - first.server_cpu_s) * ((end - start) / span)
        return WindowUsage(cpu, peak_rss, processes, loadgen_pct, worker_rss)

    def write_csv(self, path: Path, window_start: float) -> None:
        """Write the samples (t relative to the window start; negative during warm-up)."""
        lines = ["t,server_cpu_s,server_rss_mb,server_processes,loadgen_cpu_s"]
        for s in self.samples:
            lines.append(
                f"{s.at - window_start:.3f},{s.server_cpu_s:.3f},{s.server_rss_mb:.1f},{s.server_processes},"
                f"{sum(s.loadgen_cpu_s.values()):.3f}"
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


@dataclass
class LoadResult:
    """The recorders' files of one cell merged: counts, failures, latency histogram, per-second timeline."""

    window: tuple[float, float] = (float("nan"), float("nan"))
    requests: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    histogram: HdrHistogram = field(default_factory=lambda: HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS))
    timeline: Counter[int] = field(default_factory=Counter)
    timeline_failures: Counter[int] = field(default_factory=Counter)
    processes: int = 0
    stopped_at: float = float("inf")

    @property
    def truncated(self) -> bool:
        """True when a Locust process stopped before the end of the window."""
        return self.processes > 0 and self.stopped_at < self.window[1]

    @property
    def failure_count(self) -> int:
        """All failed requests in the window."""
        return sum(self.failures.values())

    def percentile_ms(self, percentile: float) -> float:
        """A latency percentile in milliseconds (NaN when nothing was recorded)."""
        if self.requests == 0:
            return float("nan")
        return float(self.histogram.get_value_at_percentile(percentile)) / 1000

    def timeline_csv(self, duration_s: float) -> str:
        """Completions and failures per whole second of the window."""
        rows = ["second,requests,failures"]
        rows += [
            f"{sec},{self.timeline.get(sec, 0)},{self.timeline_failures.get(sec, 0)}"
            for sec in range(int(duration_s + 0.999))
        ]
        return "\n".join(rows) + "\n"


def merge_recorders(directory: Path) -> LoadResult:
    """Merge every recorder-<pid>.json written by the Locust processes of one cell."""
    result = LoadResult()
    starts: list[float] = []
    ends: list[float] = []
    for path in sorted(directory.glob("recorder-*.json")):
        data = json.loads(path.read_text())
        result.processes += 1
        result.requests += int(data["requests"])
        result.failures.update({str(k): int(v) for k, v in data["failures"].items()})
        result.timeline.update({int(k): int(v) for k, v in data["timeline"].items()})
        result.timeline_failures.update({int(k): int(v) for k, v in data["timeline_failures"].items()})
        result.stopped_at = min(result.stopped_at, float(data.get("stopped_at", float("inf"))))
        starts.append(float(data["window"][0]))
        ends.append(float(data["window"][1]))
        if data["hdr"]:
            result.histogram.add(HdrHistogram.decode(data["hdr"]))
    if starts:
        result.window = (min(starts), max(ends))
    return result
