"""The server setups the apps run under, and a process wrapper that starts, checks and stops them.

A setup is an app (entry point, stack, DB driver, upstream client), a server, a worker class and a sizing rule.
Its command line and the labels the report shows are both derived from those fields, so they cannot disagree.
Every setup gets the same CPUs, the same total DB pool budget, access logs off and the same keep-alive; equal-
workers setups also get the same worker count, and the documented-workers variants each server's own advice.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal

import httpx
import psutil

from bench.drive.processes import interrupts_deferred, process_tree
from shared_models.settings import SETTINGS_ERROR

Framework = Literal["fastapi", "flask"]
FRAMEWORKS: tuple[Framework, ...] = ("fastapi", "flask")
Stack = Literal["fastapi-async", "fastapi-sync", "flask-sync"]
Server = Literal["uvicorn", "gunicorn"]
# How many worker processes: the run's setting (equal for every setup), or what the server's documentation
# recommends for the cores it is pinned to (uvicorn: one per core; gunicorn: 2 x cores + 1).
WorkerRule = Literal["equal", "one-per-core", "2n+1"]
_BIN = Path(sys.executable).parent
# Both stacks close idle keep-alive connections after the same time (uvicorn's default).
KEEP_ALIVE_S = 5
# uvicorn's fastest event loop and HTTP parser, the ones its documentation recommends for production.
UVICORN_LOOP = "uvloop"
UVICORN_HTTP = "httptools"
# gunicorn's sync worker closes every connection after one response: it has no keep-alive to configure.
_NO_KEEP_ALIVE = frozenset({"sync"})
# gunicorn's own default (documented as "the maximum number of simultaneous clients"): above the largest user
# count of any profile, so it never caps a gevent worker's admission.
GEVENT_WORKER_CONNECTIONS = 1000
READS = frozenset({"health", "item", "list"})


@dataclass(frozen=True)
class App:
    """One app entry point; its code fixes the framework, stack, DB driver and upstream client."""

    entry: str  # module:factory
    stack: Stack
    db_driver: str
    upstream_client: str
    serves: frozenset[str] | None = None  # the scenarios it can serve; None: all of them

    @property
    def framework(self) -> Framework:
        """The web framework the app is written with."""
        return "fastapi" if self.stack.startswith("fastapi") else "flask"


FASTAPI_ASYNC = App("fastapi_app.main:create_app", "fastapi-async", "asyncpg (async SQLAlchemy)", "aiohttp")
# The upstream client's first word is the package of the client object the app's own code creates: a test builds
# each app and checks it (tests/bench/test_servers.py), so a label cannot outlive a change of client.
FASTAPI_SYNC = App(
    "fastapi_app.main:create_sync_app", "fastapi-sync", "psycopg2 (sync SQLAlchemy, threadpool)", "urllib3 (sync pool)"
)
FLASK = App("flask_app:create_app", "flask-sync", "psycopg2 (sync SQLAlchemy)", "urllib3 (sync pool)")
FLASK_GEVENT = App(
    "flask_app.gevent:create_app",
    "flask-sync",
    "psycopg2 + psycogreen (cooperative)",
    "urllib3 (sync pool, gevent-patched sockets)",
)
BASELINE_APPS: dict[Stack, App] = {
    "fastapi-async": App(
        "bench.baselines.fastapi_async:create_app", "fastapi-async", FASTAPI_ASYNC.db_driver, "—", READS
    ),
    "fastapi-sync": App("bench.baselines.fastapi_sync:create_app", "fastapi-sync", FASTAPI_SYNC.db_driver, "—", READS),
    "flask-sync": App("bench.baselines.flask_sync:create_app", "flask-sync", FLASK.db_driver, "—", READS),
}


@dataclass(frozen=True)
class Sizing:
    """The worker processes and threads per worker one started setup runs with."""

    workers: int
    threads: int


@dataclass(frozen=True)
class ServerSetup:
    """One named way of serving one app: everything its command line and report labels are built from."""

    name: str
    app: App
    server: Server
    worker_class: str = ""  # gunicorn's --worker-class; empty under uvicorn, which has one kind of worker
    threads: int | None = None  # a fixed gthread thread count (a swept variant); None: the run's `threads`
    workers: WorkerRule = "equal"
    scenarios: frozenset[str] | None = None  # measured only on these (a sweep); None: all the app serves
    app_settings: tuple[tuple[str, str], ...] = ()  # environment the app's settings read (an experiment's knob)

    @property
    def framework(self) -> Framework:
        """The web framework of the app."""
        return self.app.framework

    @property
    def stack(self) -> Stack:
        """The app's stack: framework plus sync or async database access."""
        return self.app.stack

    @property
    def baseline(self) -> str | None:
        """The name of the baseline setup of the same stack; None for a baseline itself."""
        return None if self.app is BASELINE_APPS[self.stack] else f"baseline-{self.stack}"

    def supports(self, scenario: str) -> bool:
        """Whether this setup is measured on a scenario (baselines serve only the reads, sweeps one scenario)."""
        return all(allowed is None or scenario in allowed for allowed in (self.app.serves, self.scenarios))

    def sizing(self, *, cpus: int, workers: int, threads: int) -> Sizing:
        """Workers and threads for a server pinned to `cpus` cores, given the run's `workers` and `threads`."""
        count = {"equal": workers, "one-per-core": cpus, "2n+1": 2 * cpus + 1}[self.workers]
        per_worker = (self.threads or threads) if self.worker_class == "gthread" else 1
        return Sizing(workers=max(1, count), threads=per_worker)

    @property
    def keep_alive(self) -> str:
        """The idle keep-alive this setup's server applies."""
        return "none (sync worker)" if self.worker_class in _NO_KEEP_ALIVE else f"{KEEP_ALIVE_S} s"

    @property
    def db_admission(self) -> str:
        """How requests beyond the pool's connections wait for one."""
        if self.app in (FASTAPI_ASYNC, FASTAPI_SYNC) and ("DB_FIFO_ADMISSION", "false") not in self.app_settings:
            return "FIFO semaphore sized to the pool"
        return "the pool's queue (threads bound a worker)" if self.framework == "flask" else "the pool's queue"

    def command(self, *, host: str, port: int, sizing: Sizing) -> list[str]:
        """The exact command line that starts this setup (an experiment's app settings as an `env` prefix)."""
        # On the command line rather than in the environment the harness builds, so the report, the compose
        # file and a reader of `ps` all see the knob.
        prefix = ["/usr/bin/env", *(f"{k}={v}" for k, v in self.app_settings)] if self.app_settings else []
        return prefix + self._server_argv(host=host, port=port, sizing=sizing)

    def _server_argv(self, *, host: str, port: int, sizing: Sizing) -> list[str]:
        if self.server == "uvicorn":
            return [
                str(_BIN / "uvicorn"), "--factory", self.app.entry, "--host", host, "--port", str(port),
                "--workers", str(sizing.workers), "--loop", UVICORN_LOOP, "--http", UVICORN_HTTP,
                "--no-access-log", "--log-level", "warning", "--timeout-keep-alive", str(KEEP_ALIVE_S),
            ]  # fmt: skip
        argv = [
            str(_BIN / "gunicorn"), "--bind", f"{host}:{port}", "--workers", str(sizing.workers),
            "--no-control-socket", "--keep-alive", str(KEEP_ALIVE_S), "--graceful-timeout", "5",
            "--log-level", "warning", "--worker-class", self.worker_class,
        ]  # fmt: skip
        if self.worker_class == "gthread":
            argv += ["--threads", str(sizing.threads)]
        if self.worker_class == "gevent":
            argv += ["--worker-connections", str(GEVENT_WORKER_CONNECTIONS)]
        return [*argv, f"{self.app.entry}()"]

    def describe(self, sizing: Sizing) -> dict[str, str | int | None]:
        """The labels the report shows, from the same fields the command line is built from."""
        worker = f"uvicorn ({UVICORN_LOOP} + {UVICORN_HTTP})" if self.server == "uvicorn" else self.worker_class
        return {
            "framework": self.framework,
            "stack": self.stack,
            "app": self.app.entry,
            "server": self.server,
            "worker_class": worker,
            "workers": sizing.workers,
            "worker_rule": self.workers,
            "threads": sizing.threads,
            "worker_connections": GEVENT_WORKER_CONNECTIONS if self.worker_class == "gevent" else None,
            "keep_alive": self.keep_alive,
            "db_driver": self.app.db_driver,
            "http_client": self.app.upstream_client,
            "baseline": self.baseline,
            "db_admission": self.db_admission,
        }


_UVICORN_WORKER = "uvicorn_worker.UvicornWorker"  # uvicorn's own worker for gunicorn (the `uvicorn-worker` package)
_SWEEP = frozenset({"upstream"})
_READS_DB = frozenset(
    {"item", "list"}
)  # where requests outnumber the pool's connections and wait for one  # gthread's thread count caps the I/O-bound scenario; the sweep measures only it

SETUPS: dict[str, ServerSetup] = {
    s.name: s
    for s in (
        ServerSetup("fastapi-uvicorn", FASTAPI_ASYNC, "uvicorn"),
        ServerSetup("fastapi-gunicorn", FASTAPI_ASYNC, "gunicorn", _UVICORN_WORKER),
        ServerSetup("fastapi-uvicorn-sync", FASTAPI_SYNC, "uvicorn"),
        # The admission experiment: our async app without its FIFO admission (the measurement that chose it).
        ServerSetup(
            "fastapi-uvicorn-unbounded",
            FASTAPI_ASYNC,
            "uvicorn",
            scenarios=_READS_DB,
            app_settings=(("DB_FIFO_ADMISSION", "false"),),
        ),
        ServerSetup("flask-gunicorn-sync", FLASK, "gunicorn", "sync"),
        ServerSetup("flask-gunicorn-gthread", FLASK, "gunicorn", "gthread"),
        ServerSetup("flask-gunicorn-gevent", FLASK_GEVENT, "gunicorn", "gevent"),
        *(
            ServerSetup(f"flask-gunicorn-gthread-{n}t", FLASK, "gunicorn", "gthread", threads=n, scenarios=_SWEEP)
            for n in (8, 32, 128)
        ),
        ServerSetup("fastapi-uvicorn-docs-workers", FASTAPI_ASYNC, "uvicorn", workers="one-per-core"),
        ServerSetup("fastapi-gunicorn-docs-workers", FASTAPI_ASYNC, "gunicorn", _UVICORN_WORKER, workers="2n+1"),
        ServerSetup("flask-gunicorn-sync-docs-workers", FLASK, "gunicorn", "sync", workers="2n+1"),
        ServerSetup("flask-gunicorn-gthread-docs-workers", FLASK, "gunicorn", "gthread", workers="2n+1"),
        # Baselines run with the flags of their stack's main setup, so the app is the only difference.
        ServerSetup("baseline-fastapi-async", BASELINE_APPS["fastapi-async"], "uvicorn"),
        ServerSetup("baseline-fastapi-sync", BASELINE_APPS["fastapi-sync"], "uvicorn"),
        ServerSetup("baseline-flask-sync", BASELINE_APPS["flask-sync"], "gunicorn", "gthread"),
    )
}
# The setup each framework's documentation leads a newcomer to; used by tests and `bench serve`.
DEFAULT_SETUP: dict[Framework, str] = {"fastapi": "fastapi-uvicorn", "flask": "flask-gunicorn-sync"}


# "ValueError: …", "pydantic_core._pydantic_core.ValidationError: 1 validation error …" at a line's start.
# A Python exception line, or the apps' own message for bad settings (they exit without a traceback).
_EXCEPTION_LINE = re.compile(rf"^([A-Za-z_][\w.]*(Error|Exception)\b:?|{re.escape(SETTINGS_ERROR)})")


class ServerStartError(RuntimeError):
    """A server exited or never became healthy; the message carries the end of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pool_size_per_process(budget: int, workers: int) -> int:
    """Split one total DB connection budget evenly over the worker processes (at least one each)."""
    return max(1, budget // workers)


@dataclass
class ServerConfig:
    """Everything needed to start one setup: the setup, its sizing, placement and app settings."""

    setup: ServerSetup
    database_url: str
    carrier_url: str
    workers: int = 1  # the run's equal worker count (a setup with a documented rule uses its own)
    threads: int = 8  # the run's gthread thread count (a swept variant uses its own)
    pool_budget: int = 16
    cpus: Sequence[int] | None = None
    host: str = "127.0.0.1"
    port: int = 0
    app_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def sizing(self) -> Sizing:
        """The workers and threads this setup runs with on its pinned CPUs."""
        cpus = len(self.cpus) if self.cpus else len(os.sched_getaffinity(0))
        return self.setup.sizing(cpus=cpus, workers=self.workers, threads=self.threads)

    def environment(self) -> dict[str, str]:
        """A clean environment: only what the apps' settings read, so nothing leaks in from the shell."""
        pool = pool_size_per_process(self.pool_budget, self.sizing.workers)
        env = {
            "PATH": f"{_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": self.database_url,
            "CARRIER_URL": self.carrier_url,
            "DB_POOL_SIZE": str(pool),
            "DB_MAX_OVERFLOW": "0",
            "LOG_LEVEL": "warning",
        }
        env.update(self.app_env)
        return env


class RunningServer:
    """A started server setup: its URL, process tree and log; a context manager that always stops it."""

    def __init__(self, config: ServerConfig, *, log_dir: Path | None = None) -> None:
        self.config = config
        self.port = config.port or free_port()
        self.url = f"http://{config.host}:{self.port}"
        self.framework: Framework = config.setup.framework
        self.database_url = config.database_url
        self.command = config.setup.command(host=config.host, port=self.port, sizing=config.sizing)
        directory = log_dir or Path(tempfile.mkdtemp(prefix="bench-server-"))
        self.log_path = directory / f"{config.setup.name}-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.ready_after_s = float("nan")

    @property
    def pid(self) -> int:
        """The master (or single) server process id."""
        if self._process is None:
            raise RuntimeError("server not started")
        return self._process.pid

    def start(self, *, timeout_s: float = 30.0) -> RunningServer:
        """Start the server and wait until GET /health answers 200."""
        cpus = self.config.cpus
        with self.log_path.open("wb") as log:
            self.started_at = time.perf_counter()
            self._process = subprocess.Popen(
                self.command,
                cwd=Path(__file__).resolve().parents[2],
                env=self.config.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() kills workers too, Ctrl-C reaches us first
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
            )
        try:
            self._wait_healthy(timeout_s)
        except BaseException:
            self.stop()
            raise
        self.ready_after_s = time.perf_counter() - self.started_at
        return self

    def _wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last_error = "no answer"
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise ServerStartError(
                    f"{self.config.setup.name} exited with code {self._process.returncode} before it was healthy; "
                    f"{self._failure_excerpt()}"
                )
            try:
                response = httpx.get(f"{self.url}/health", timeout=1.0)
                if response.status_code == 200:
                    return
                last_error = f"/health answered {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.02)
        raise ServerStartError(
            f"{self.config.setup.name} was not healthy within {timeout_s:.0f} s ({last_error}); "
            f"{self._failure_excerpt()}"
        )

    def tree(self) -> list[psutil.Process]:
        """The server's live processes (master and workers)."""
        return process_tree(self.pid) if self._process else []

    def _failure_excerpt(self) -> str:
        """The log's first exception (the cause, with its next lines) and its last lines, for an error message."""
        tail = self.log_tail()
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return f"last lines of {self.log_path}:\n{tail}"
        # Workers that crash-loop print the same traceback many times; the tail alone can end in the supervisor's
        # shutdown lines with the reason (e.g. a settings error) scrolled out of it.
        first = next((i for i, line in enumerate(lines) if _EXCEPTION_LINE.search(line)), None)
        if first is None or all(line in tail for line in lines[first : first + 4]):
            return f"last lines of {self.log_path}:\n{tail}"
        cause = "\n".join(lines[first : first + 4])
        return f"first error in {self.log_path}:\n{cause}\nlast lines of {self.log_path}:\n{tail}"

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server's combined stdout/stderr."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """SIGTERM the whole process group, SIGKILL whatever is left after timeout_s."""
        if self._process is None:
            return
        with interrupts_deferred():
            self._stop(timeout_s)

    def _stop(self, timeout_s: float) -> None:
        assert self._process is not None
        survivors = self.tree()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(survivors, timeout=timeout_s)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        psutil.wait_procs(alive, timeout=5)
        self._process.wait(timeout=5)
        self._process = None

    def __enter__(self) -> RunningServer:
        return self.start()

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
