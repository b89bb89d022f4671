"""The load recorder each Locust process keeps (measured window, HDR histogram, open-loop lag) and their merge."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hdrh.histogram import HdrHistogram

# 1 µs to 60 s with 3 significant digits: sub-millisecond resolution and no clipping of slow outliers.
# (Kept out of the Locust scenarios: the harness and the tests use this module without importing Locust.)
HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS = 1, 60_000_000, 3
# Open loop: a send more than this behind its intended time is counted late (gevent's timers are a few ms coarse).
LATE_TOLERANCE_S = 0.010


class WindowRecorder:
    """One Locust process's measurement of the window [t0 + warm-up, t0 + warm-up + duration); dumped as JSON."""

    def __init__(self) -> None:
        self.histogram = HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS)
        self.window = (float("inf"), float("inf"))
        self.requests = 0
        self.failures: Counter[str] = Counter()
        self.timeline: Counter[int] = Counter()
        self.timeline_failures: Counter[int] = Counter()
        self.t0 = float("inf")
        # Open loop only: sends in the window that left later than intended, their summed and largest lag.
        self.late = 0
        self.lag_sum_ms = 0.0
        self.lag_max_ms = 0.0
        self.last_first_send = 0.0  # open loop: when the last user to start took its first slot

    def open(self, warmup_s: float, duration_s: float) -> None:
        """Open the window at test start (a worker that has the master's window keeps it)."""
        if self.t0 != float("inf"):
            return  # a worker already has the master's window (its message precedes the spawn that calls this)
        self.share(time.time(), warmup_s, duration_s)

    def share(self, t0: float, warmup_s: float, duration_s: float) -> None:
        """Use this clock origin (the master's, in a multi-process run)."""
        self.t0 = t0
        self.window = (t0 + warmup_s, t0 + warmup_s + duration_s)

    def record(
        self,
        end: float,
        response_time_ms: float,
        failure_key: str | None,
        *,
        intended: float | None = None,
        start: float | None = None,
    ) -> None:
        """Count a request that ended at `end`; with an intended send time, its latency counts from that time."""
        lag_ms = 0.0
        if intended is not None and start is not None:
            lag_ms = max(0.0, (start - intended) * 1000)
            response_time_ms += lag_ms
        window_start, stop = self.window
        if not window_start <= end < stop:
            return
        self.requests += 1
        self.histogram.record_value(min(HDR_HIGHEST_US, max(HDR_LOWEST_US, round(response_time_ms * 1000))))
        if lag_ms > LATE_TOLERANCE_S * 1000:
            self.late += 1
        self.lag_sum_ms += lag_ms
        self.lag_max_ms = max(self.lag_max_ms, lag_ms)
        second = int(end - window_start)
        self.timeline[second] += 1
        if failure_key is not None:
            self.failures[failure_key] += 1
            self.timeline_failures[second] += 1

    def dump(self, directory: Path) -> None:
        """Write recorder-<pid>.json atomically for `merge_recorders`."""
        directory.mkdir(parents=True, exist_ok=True)
        payload = {
            "pid": os.getpid(),
            "window": list(self.window),
            "stopped_at": time.time(),
            "requests": self.requests,
            "failures": dict(self.failures),
            "timeline": {str(k): v for k, v in self.timeline.items()},
            "timeline_failures": {str(k): v for k, v in self.timeline_failures.items()},
            "hdr": self.histogram.encode().decode() if self.requests else "",
            "late": self.late,
            "lag_sum_ms": self.lag_sum_ms,
            "lag_max_ms": self.lag_max_ms,
            "last_first_send": self.last_first_send,
        }
        target = directory / f"recorder-{os.getpid()}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload))
        tmp.replace(target)


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
    # Open loop: sends that left more than the tolerance after their intended time, and the lag (ms) of all sends.
    late: int = 0
    lag_sum_ms: float = 0.0
    lag_max_ms: float = 0.0
    last_first_send: float = 0.0

    @property
    def truncated(self) -> bool:
        """True when a Locust process stopped before the end of the window."""
        return self.processes > 0 and self.stopped_at < self.window[1]

    @property
    def failure_count(self) -> int:
        """All failed requests in the window."""
        return sum(self.failures.values())

    @property
    def ramp_overrun_s(self) -> float:
        """Open loop: how far into the window the last user sent its first request (0 when all started before)."""
        return max(0.0, self.last_first_send - self.window[0]) if self.last_first_send else 0.0

    def lag_summary(self) -> dict[str, float]:
        """Open loop: late sends, mean and largest lag behind the intended send time, start-up overrun (cell.json)."""
        return {
            "late": self.late,
            "mean_ms": self.mean_lag_ms,
            "max_ms": self.lag_max_ms,
            "ramp_overrun_s": self.ramp_overrun_s,
        }

    @property
    def mean_lag_ms(self) -> float:
        """Mean lag of a send behind its intended time (open loop; 0 in closed loop)."""
        return self.lag_sum_ms / self.requests if self.requests else float("nan")

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
        result.late += int(data.get("late", 0))
        result.lag_sum_ms += float(data.get("lag_sum_ms", 0.0))
        result.lag_max_ms = max(result.lag_max_ms, float(data.get("lag_max_ms", 0.0)))
        result.last_first_send = max(result.last_first_send, float(data.get("last_first_send", 0.0)))
        starts.append(float(data["window"][0]))
        ends.append(float(data["window"][1]))
        if data["hdr"]:
            result.histogram.add(HdrHistogram.decode(data["hdr"]))
    if starts:
        result.window = (min(starts), max(ends))
    return result
