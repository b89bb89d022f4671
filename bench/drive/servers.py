"""The server setups both apps run under, and a process wrapper that starts, checks and stops them.

Every setup is a documented command line; the report prints them. All setups get the same worker count, the
same total DB pool budget, the same CPUs, access logs off and the same settings, so only the stack differs.
"""

from __future__ import annotations

import contextlib
import os
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

Framework = Literal["fastapi", "flask"]
FRAMEWORKS: tuple[Framework, ...] = ("fastapi", "flask")
_BIN = Path(sys.executable).parent
# Both stacks close idle keep-alive connections after the same time (uvicorn's default).
KEEP_ALIVE_S = 5


@dataclass(frozen=True)
class ServerSetup:
    """One named way of serving one of the apps."""

    name: str
    framework: Framework
    server: str
    worker_class: str
    db_driver: str
    keep_alive: str
    http_client: str
    uses_threads: bool = False

    def command(self, *, host: str, port: int, workers: int, threads: int) -> list[str]:
        """The exact command line that starts this setup."""
        bind = f"{host}:{port}"
        gunicorn = [str(_BIN / "gunicorn"), "--bind", bind, "--workers", str(workers), "--no-control-socket"]
        gunicorn += ["--keep-alive", str(KEEP_ALIVE_S), "--graceful-timeout", "5", "--log-level", "warning"]
        match self.name:
            case "fastapi-uvicorn":
                return [
                    str(_BIN / "uvicorn"),
                    "--factory",
                    "fastapi_app.main:create_app",
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                    "--loop",
                    "uvloop",
                    "--http",
                    "httptools",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                    "--timeout-keep-alive",
                    str(KEEP_ALIVE_S),
                ]
            case "fastapi-gunicorn":
                return [
                    *gunicorn,
                    "--worker-class",
                    "uvicorn_worker.UvicornWorker",
                    "fastapi_app.main:create_app()",
                ]
            case "flask-gunicorn-sync":
                return [*gunicorn, "--worker-class", "sync", "flask_app:create_app()"]
            case "flask-gunicorn-gthread":
                return [
                    *gunicorn,
                    "--worker-class",
                    "gthread",
                    "--threads",
                    str(threads),
                    "flask_app:create_app()",
                ]
        raise ValueError(f"unknown server setup {self.name!r}")


SETUPS: dict[str, ServerSetup] = {
    s.name: s
    for s in (
        ServerSetup(
            "fastapi-uvicorn", "fastapi", "uvicorn", "uvicorn (uvloop + httptools)", "asyncpg", "5 s", "aiohttp"
        ),
        ServerSetup(
            "fastapi-gunicorn", "fastapi", "gunicorn", "uvicorn_worker.UvicornWorker", "asyncpg", "5 s", "aiohttp"
        ),
        ServerSetup(
            "flask-gunicorn-sync", "flask", "gunicorn", "sync", "psycopg2", "none (sync worker)", "httpx (sync)"
        ),
        ServerSetup(
            "flask-gunicorn-gthread",
            "flask",
            "gunicorn",
            "gthread",
            "psycopg2",
            "5 s",
            "httpx (sync)",
            uses_threads=True,
        ),
    )
}
# The setup each framework's documentation leads a newcomer to; used by tests and `bench serve`.
DEFAULT_SETUP: dict[Framework, str] = {"fastapi": "fastapi-uvicorn", "flask": "flask-gunicorn-sync"}


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
    workers: int = 1
    threads: int = 8
    pool_budget: int = 16
    cpus: Sequence[int] | None = None
    host: str = "127.0.0.1"
    port: int = 0
    app_env: Mapping[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """A clean environment: only what the apps' settings read, so nothing leaks in from the shell."""
        pool = pool_size_per_process(self.pool_budget, self.workers)
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
        self.command = config.setup.command(
            host=config.host, port=self.port, workers=config.workers, threads=config.threads
        )
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
                    f"last lines of {self.log_path}:\n{self.log_tail()}"
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
            f"last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def tree(self) -> list[psutil.Process]:
        """The server's live processes (master and workers)."""
        return process_tree(self.pid) if self._process else []

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
