"""The abstract Locust user every scenario extends, and the recorder that measures the window precisely.

Locust's own statistics keep whole milliseconds and include the warm-up; the recorder here keeps every request
that completes inside the measured window in an HDR histogram with microsecond precision, counts failures by
status, and writes one JSON file per Locust process when the test stops. The harness merges them.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import gevent
from hdrh.histogram import HdrHistogram
from locust import FastHttpUser, constant, events
from locust.contrib.fasthttp import ResponseContextManager
from locust.env import Environment

from bench.drive.scenarios import distribution
from bench.measure.recorder import HDR_DIGITS, HDR_HIGHEST_US, HDR_LOWEST_US
from shared_models.seed import LOAD_USER_PASSWORD, load_user_email


class _Recorder:
    """Per-process measurement of the window [start + warm-up, start + warm-up + duration)."""

    def __init__(self) -> None:
        self.histogram = HdrHistogram(HDR_LOWEST_US, HDR_HIGHEST_US, HDR_DIGITS)
        self.window = (float("inf"), float("inf"))
        self.requests = 0
        self.failures: Counter[str] = Counter()
        self.timeline: Counter[int] = Counter()
        self.timeline_failures: Counter[int] = Counter()

    def open(self, start: float, duration_s: float) -> None:
        self.window = (start, start + duration_s)

    def record(self, end: float, response_time_ms: float, failure_key: str | None) -> None:
        start, stop = self.window
        if not start <= end < stop:
            return
        self.requests += 1
        self.histogram.record_value(min(HDR_HIGHEST_US, max(HDR_LOWEST_US, round(response_time_ms * 1000))))
        second = int(end - start)
        self.timeline[second] += 1
        if failure_key is not None:
            self.failures[failure_key] += 1
            self.timeline_failures[second] += 1

    def payload(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "window": list(self.window),
            "stopped_at": time.time(),
            "requests": self.requests,
            "failures": dict(self.failures),
            "timeline": {str(k): v for k, v in self.timeline.items()},
            "timeline_failures": {str(k): v for k, v in self.timeline_failures.items()},
            "hdr": self.histogram.encode().decode() if self.requests else "",
        }

    def dump(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        payload = self.payload()
        target = directory / f"recorder-{os.getpid()}.json"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload))
        tmp.replace(target)


_recorder = _Recorder()


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument("--bench-out", default="", help="directory for the recorder's per-process files")
    parser.add_argument("--bench-warmup", type=float, default=0.0, help="seconds excluded before the window")
    parser.add_argument("--bench-duration", type=float, default=10.0, help="measured window in seconds")
    parser.add_argument("--bench-seed-users", type=int, default=1000, help="seeded load users")
    parser.add_argument("--bench-seed-items", type=int, default=10000, help="seeded items")
    parser.add_argument("--bench-rng-seed", type=int, default=20261125, help="seed of every user's RNG")


@events.test_start.add_listener
def _open_window(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    start = distribution.window_start(environment, options.bench_warmup)  # workers share the master's window
    _recorder.open(start, options.bench_duration)
    runner = environment.runner
    if runner is not None and type(runner).__name__ in ("LocalRunner", "MasterRunner"):
        # The test ends a little after the window, timed from the same event that opened it (Locust's own
        # --run-time clock starts earlier, at process start, and would cut the window short on a busy machine).
        end_in = max(0.0, start - time.time()) + options.bench_duration + 0.25
        gevent.spawn_later(end_in, distribution.finish, runner)


@events.request.add_listener
def _on_request(
    response_time: float,
    exception: BaseException | None = None,
    response: Any = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    end = (start_time + response_time / 1000) if start_time else time.time()
    failure = None
    if exception is not None:
        status = getattr(response, "status_code", 0) or 0
        failure = str(status)
    _recorder.record(end, response_time, failure)


@events.test_stop.add_listener
def _dump(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    runner = environment.runner
    # The master of a multi-process run sees no requests; only processes that ran users write a file.
    if options is None or not options.bench_out or runner is None or type(runner).__name__ == "MasterRunner":
        return
    if type(runner).__name__ == "WorkerRunner":
        distribution.send_recorder(runner, _recorder.payload())  # the master (maybe another machine) writes it
    else:
        _recorder.dump(Path(options.bench_out))


class BenchUser(FastHttpUser):
    """Closed-loop user (no think time) with a reproducible RNG and explicit response checks."""

    abstract = True
    wait_time = constant(0)
    _counter = 0

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        options = environment.parsed_options
        BenchUser._counter += 1
        base_seed = options.bench_rng_seed if options else 0
        self.rng = random.Random(base_seed * 100_003 + os.getpid() * 1_009 + BenchUser._counter)
        self.seed_users = options.bench_seed_users if options else 1000
        self.seed_items = options.bench_seed_items if options else 10000
        self.token: str | None = None

    def random_item_id(self) -> int:
        """An id of a seeded item (ids are 1..seed_items)."""
        return self.rng.randint(1, self.seed_items)

    def log_in(self) -> None:
        """Log in as a random seeded load user and keep the bearer token."""
        email = load_user_email(self.rng.randrange(self.seed_users))
        with self.client.post(
            "/auth/token",
            data={"username": email, "password": LOAD_USER_PASSWORD},
            name="/auth/token",
            catch_response=True,
        ) as response:
            token = _json(response).get("access_token")
            if response.status_code != 200 or not isinstance(token, str):
                response.failure(f"login: {response.status_code}")
                return
            self.token = token

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header of the logged-in user."""
        return {"Authorization": f"Bearer {self.token}"}

    def expect(self, response: ResponseContextManager, status: int, *keys: str) -> dict[str, Any]:
        """Mark the request failed unless it has the status and a JSON object with these keys."""
        body = _json(response)
        if response.status_code != status:
            response.failure(f"expected {status}, got {response.status_code}")
        elif missing := [key for key in keys if key not in body]:
            response.failure(f"missing keys {missing}")
        return body

    def place_order(self) -> None:
        """POST an order of 1–5 distinct random items, 1–3 units each."""
        ids = self.rng.sample(range(1, self.seed_items + 1), self.rng.randint(1, 5))
        lines = [{"item_id": item_id, "quantity": self.rng.randint(1, 3)} for item_id in ids]
        with self.client.post(
            "/orders", json={"lines": lines}, headers=self.auth, name="/orders", catch_response=True
        ) as response:
            body = self.expect(response, 201, "id", "lines", "total")
            if response.status_code == 201 and len(body["lines"]) != len(lines):
                response.failure("order lines missing")


def _json(response: ResponseContextManager) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, TypeError):
        return {}
    return body if isinstance(body, dict) else {}
