"""The Locust-side half of distributed load: workers ship their recorders to the master, which writes them.

Imported by the scenarios' base module, so it runs inside every Locust process (never in the harness: importing
Locust monkey-patches the process for gevent). The master ends a test with `stop()` before `quit()`: stop waits
until every worker reported stopped, and a worker sends its recorder before that report, so none is lost.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import gevent
import psutil
from locust import events

RECORDER_MESSAGE = "bench_recorder"


@events.init.add_listener
def _register_recorder_sink(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if runner is None or type(runner).__name__ != "MasterRunner":
        return

    def _write(msg: Any, **__: Any) -> None:
        options = environment.parsed_options
        if options is None or not options.bench_out:
            return
        directory = Path(options.bench_out)
        directory.mkdir(parents=True, exist_ok=True)
        worker = re.sub(r"[^A-Za-z0-9_.-]", "_", str(msg.node_id))
        target = directory / f"recorder-{worker}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(msg.data))
        tmp.replace(target)

    runner.register_message(RECORDER_MESSAGE, _write)


_cpu_marks: dict[str, tuple[float, float]] = {}


def _mark_cpu(name: str) -> None:
    times = psutil.Process().cpu_times()
    _cpu_marks[name] = (time.time(), times.user + times.system)


def time_worker_cpu(window: tuple[float, float]) -> None:
    """On a worker: measure its own CPU over the window (the harness cannot sample a worker on another machine)."""
    _cpu_marks.clear()
    start, end = window
    gevent.spawn_later(max(0.0, start - time.time()), _mark_cpu, "start")
    gevent.spawn_later(max(0.0, end - time.time()), _mark_cpu, "end")


def worker_cpu_pct() -> float | None:
    """This worker's CPU over the window in % of one core, once the window has passed."""
    if "start" not in _cpu_marks or "end" not in _cpu_marks:
        return None
    (t0, cpu0), (t1, cpu1) = _cpu_marks["start"], _cpu_marks["end"]
    return round((cpu1 - cpu0) / (t1 - t0) * 100, 1) if t1 > t0 else None


def send_recorder(runner: Any, payload: dict[str, Any]) -> None:
    """From a worker: hand the recorder, with the worker's own CPU, to the master (maybe on another machine)."""
    runner.send_message(RECORDER_MESSAGE, {**payload, "cpu_pct": worker_cpu_pct()})


def finish(runner: Any) -> None:
    """End the test: a master first waits for every worker's stop (and recorder), then quits."""
    if type(runner).__name__ == "MasterRunner":
        runner.stop()
    runner.quit()
