"""The abstract Locust user every scenario extends, and the Locust events that feed the window recorder.

Locust's own statistics keep whole milliseconds and include the warm-up; the recorder (`WindowRecorder`) keeps
every request that completes inside the measured window in an HDR histogram with microsecond precision, counts
failures by status, and writes one JSON file per Locust process when the test stops. The harness merges them.

Closed loop (default): every user sends its next request as soon as the previous one is answered. Open loop
(`--bench-rate R`): every user sends on its own slot of a fixed schedule (`bench.drive.pacing.PacedSchedule`),
and the recorder measures each latency from the request's intended send time, so a late send counts its wait.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, events
from locust.contrib.fasthttp import ResponseContextManager
from locust.env import Environment

from bench.drive.pacing import PacedSchedule, global_slot
from bench.drive.scenarios import distribution
from bench.measure.recorder import WindowRecorder
from shared_models.accounts import LOAD_USER_PASSWORD, load_user_email

_recorder = WindowRecorder()


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument("--bench-out", default="", help="directory for the recorder's per-process files")
    parser.add_argument("--bench-warmup", type=float, default=0.0, help="seconds excluded before the window")
    parser.add_argument("--bench-duration", type=float, default=10.0, help="measured window in seconds")
    parser.add_argument("--bench-seed-users", type=int, default=1000, help="seeded load users")
    parser.add_argument("--bench-seed-items", type=int, default=10000, help="seeded items")
    parser.add_argument("--bench-rng-seed", type=int, default=20261125, help="seed of every user's RNG")
    parser.add_argument("--bench-rate", type=float, default=0.0, help="open loop: total requests/s (0 = closed)")
    parser.add_argument("--bench-processes", type=int, default=1, help="Locust processes sharing the rate")


@events.test_start.add_listener
def _open_window(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    _recorder.open(options.bench_warmup, options.bench_duration)
    runner = environment.runner
    if runner is not None and type(runner).__name__ == "WorkerRunner":
        distribution.time_worker_cpu(_recorder.window)  # reported with its recorder (bench/drive/distributed.py)
    if runner is not None and type(runner).__name__ == "MasterRunner":
        # Workers start later (when the spawn message reaches them): they adopt the master's window and clock
        # origin, so no worker's window outlives the quit below and all share one send schedule.
        # A remote worker's own options are defaults until the spawn: the window's lengths travel with it.
        window = {"t0": _recorder.t0, "warmup": options.bench_warmup, "duration": options.bench_duration}
        runner.send_message("bench_window", window)
    if runner is not None and type(runner).__name__ in ("LocalRunner", "MasterRunner"):
        # The test ends a little after the window, timed from the same event that opened it (Locust's own
        # --run-time clock starts earlier, at process start, and would cut the window short on a busy machine).
        end_in = max(0.0, _recorder.window[1] - time.time()) + 0.25
        gevent.spawn_later(end_in, distribution.finish, runner)


@events.init.add_listener
def _listen_for_window(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if runner is not None and type(runner).__name__ == "WorkerRunner":

        def adopt(environment: Environment, msg: Any, **_: Any) -> None:
            _recorder.share(float(msg.data["t0"]), float(msg.data["warmup"]), float(msg.data["duration"]))

        runner.register_message("bench_window", adopt)


@events.request.add_listener
def _on_request(
    response_time: float,
    exception: BaseException | None = None,
    response: Any = None,
    start_time: float | None = None,
    context: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    end = (start_time + response_time / 1000) if start_time else time.time()
    failure = None
    if exception is not None:
        status = getattr(response, "status_code", 0) or 0
        failure = str(status)
    _recorder.record(end, response_time, failure, intended=(context or {}).get("intended"), start=start_time)


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
    """A user with a reproducible RNG and explicit response checks: closed loop, or paced with `--bench-rate`."""

    abstract = True
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
        self.local_index = BenchUser._counter - 1
        self.schedule: PacedSchedule | None = None
        self.intended: float | None = None

    def on_start(self) -> None:
        """Prepare (e.g. log in), then in open mode wait for this user's first slot; scenarios override prepare()."""
        self.prepare()
        options = self.environment.parsed_options
        if options is not None and options.bench_rate > 0:
            runner = self.environment.runner
            slot = global_slot(
                self.local_index,
                max(0, getattr(runner, "worker_index", 0)),
                options.bench_processes,
                options.num_users,
            )
            t0 = _recorder.t0 if _recorder.t0 != float("inf") else time.time()
            self.schedule = PacedSchedule(options.bench_rate, options.num_users, slot, t0)
            self.intended = self.schedule.first(time.time())
            _recorder.last_first_send = max(_recorder.last_first_send, self.intended)
            gevent.sleep(max(0.0, self.intended - time.time()))

    def prepare(self) -> None:
        """Per-user set-up before the first task (nothing by default)."""

    def wait_time(self) -> float:
        """Closed loop: none. Open loop: until the next slot, none when already behind (the lag is measured)."""
        if self.schedule is None:
            return 0.0
        delay = self.schedule.advance(time.time())
        self.intended = self.schedule.intended(self.schedule.k)
        return delay

    def context(self) -> dict[str, Any]:
        """The intended send time reaches the request event, so the recorder measures from it."""
        return {"intended": self.intended} if self.intended is not None else {}

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
