"""The load recorders' per-process files of one cell merged: counts, failures, HDR histogram, timeline."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hdrh.histogram import HdrHistogram

# 1 µs to 60 s with 3 significant digits: sub-millisecond resolution and no clipping of slow outliers.
# (Kept here, not in the Locust scenarios, so the harness never imports Locust and its gevent patching.)
HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS = 1, 60_000_000, 3


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
    # The busiest Locust worker's own CPU over the window, as it reported it (remote workers cannot be sampled).
    worker_cpu_pct: float = float("nan")

    def busiest_cpu_pct(self, sampled_pct: float) -> float:
        """The larger of the harness's sampled load-generator CPU and what the workers reported (NaN-safe)."""
        known = [pct for pct in (sampled_pct, self.worker_cpu_pct) if pct == pct]
        return max(known) if known else float("nan")

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
        if data.get("cpu_pct") is not None:
            result.worker_cpu_pct = result.busiest_cpu_pct(float(data["cpu_pct"]))
        starts.append(float(data["window"][0]))
        ends.append(float(data["window"][1]))
        if data["hdr"]:
            result.histogram.add(HdrHistogram.decode(data["hdr"]))
    if starts:
        result.window = (min(starts), max(ends))
    return result
