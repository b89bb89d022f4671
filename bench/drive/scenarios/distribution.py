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


def window_start(environment: Any, warmup_s: float) -> float:
    """When the measured window opens: the master's moment on every worker, so all windows coincide."""
    options = environment.parsed_options
    kind = type(environment.runner).__name__
    master_start = getattr(options, "bench_window_start", None)
    if kind == "WorkerRunner" and master_start:
        return float(master_start)  # clocks of remote machines must agree (NTP), as for any distributed timing
    start = time.time() + warmup_s
    if kind == "MasterRunner" and options is not None:
        # Locust sends the master's parsed options, this one included, to the workers with every spawn message.
        options.bench_window_start = start
    return start


def send_recorder(runner: Any, payload: dict[str, Any]) -> None:
    """From a worker: hand the recorder to the master (which may be on another machine)."""
    runner.send_message(RECORDER_MESSAGE, payload)


def finish(runner: Any) -> None:
    """End the test: a master first waits for every worker's stop (and recorder), then quits."""
    if type(runner).__name__ == "MasterRunner":
        runner.stop()
    runner.quit()
