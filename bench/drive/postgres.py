"""A throwaway PostgreSQL for tests and benchmarks, or an external one named by DATABASE_URL."""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Self, TypeAlias

import psutil
from pydantic import PostgresDsn
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from bench.drive.processes import interrupts_deferred, process_tree

# Benchmark-friendly server settings: the cluster is disposable, so durability is traded for stable timings.
SERVER_SETTINGS: dict[str, str] = {
    "fsync": "off",  # no disk flushes: the data dies with the cluster anyway, and flushes add latency noise
    "synchronous_commit": "off",  # commits do not wait for WAL writes (same reason)
    "full_page_writes": "off",  # torn pages only matter after an OS crash we never recover from
    "wal_level": "minimal",  # no replication, so the least WAL...
    "max_wal_senders": "0",  # ...which wal_level=minimal requires
    "max_wal_size": "4GB",  # no forced checkpoints in the middle of a measured run
    "checkpoint_timeout": "1h",  # same
    "max_connections": "300",  # the pools of every worker of both apps plus the harness, with headroom
    "shared_buffers": "256MB",  # the whole seed data set stays in PostgreSQL's own cache
    "jit": "off",  # JIT compilation only adds latency variance to short OLTP queries
    "listen_addresses": "127.0.0.1",  # loopback only: trust auth must never be reachable from outside
    "log_min_messages": "warning",  # a quiet log; start-up failures are still reported
    # The setup verification counts the statements each app sends per request (bench/drive/verify.py); the
    # extension's per-statement bookkeeping is the same small cost for every setup.
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track_utility": "on",  # BEGIN, COMMIT and ROLLBACK are round trips too: count them
}
SYSTEM_ROOTS = (Path("/usr/lib/postgresql"),)  # Debian/Ubuntu keep one bin dir per major version here
_REMEDY = (
    "install the PostgreSQL server binaries (e.g. `apt-get install postgresql`, or set PG_BIN_DIR to the "
    "directory holding initdb and postgres), or point the project at a running server with "
    "DATABASE_URL=postgresql://user:pass@host:port/db"
)


class PostgresSettings(BaseSettings):
    """Where PostgreSQL comes from; the only reader of the environment in this module."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore", env_ignore_empty=True)

    database_url: PostgresDsn | None = None
    pg_bin_dir: Path | None = None


class PostgresUnavailableError(RuntimeError):
    """Neither PostgreSQL binaries nor DATABASE_URL are available."""


def find_pg_bin(
    settings: PostgresSettings,
    *,
    search_path: str | None = None,
    system_roots: Iterable[Path] = SYSTEM_ROOTS,
) -> Path:
    """Return the directory holding initdb and postgres: PG_BIN_DIR, then PATH, then the newest system one."""
    if settings.pg_bin_dir is not None:
        # An explicit choice that is wrong is an error, not a reason to silently run some other version.
        if _has_binaries(settings.pg_bin_dir):
            return settings.pg_bin_dir
        raise PostgresUnavailableError(f"PG_BIN_DIR={settings.pg_bin_dir} has no initdb/postgres; {_REMEDY}")
    found = shutil.which("initdb", path=search_path)
    if found is not None and _has_binaries(Path(found).resolve().parent):
        # resolve(): /usr/local/bin/initdb is often a symlink into the versioned dir that also has pg_ctl.
        return Path(found).resolve().parent
    candidates = [d / "bin" for root in system_roots if root.is_dir() for d in root.iterdir()]
    usable = [d for d in candidates if _has_binaries(d) and d.parent.name.isdigit()]
    if usable:
        return max(usable, key=lambda d: int(d.parent.name))
    raise PostgresUnavailableError(f"No PostgreSQL found. To fix it, {_REMEDY}")


def _has_binaries(bin_dir: Path) -> bool:
    return all((bin_dir / name).is_file() for name in ("initdb", "postgres"))


def _free_port() -> int:
    # The kernel picks an unused port; the tiny race until postgres binds it is handled by a retry in start().
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server:
    """Database administration shared by the embedded and the external server."""

    admin_url: str
    port: int

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Make the server available (nothing to do for an external one)."""

    def stop(self) -> None:
        """Release the server (nothing to do for an external one)."""

    def tree(self) -> list[psutil.Process] | None:
        """The postmaster and its backends, or None where they are not ours to see (an external server)."""
        return None

    def url_for(self, dbname: str) -> str:
        """The libpq URL of one database on this server."""
        return make_url(self.admin_url).set(database=dbname).render_as_string(hide_password=False)

    def _admin(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        # AUTOCOMMIT: CREATE/DROP DATABASE cannot run inside a transaction. NullPool: nothing stays connected.
        url = make_url(self.admin_url).set(drivername="postgresql+psycopg2")
        engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                result = conn.execute(text(sql), params)
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def _quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def create_database(self, name: str, template: str | None = None) -> None:
        """Create a database, optionally as a copy of a template database."""
        suffix = f" TEMPLATE {self._quote(template)}" if template else ""
        self._admin(f"CREATE DATABASE {self._quote(name)}{suffix}")

    def drop_database(self, name: str) -> None:
        """Drop a database if it exists, terminating its connections first (PostgreSQL 13+)."""
        self._admin(f"DROP DATABASE IF EXISTS {self._quote(name)} WITH (FORCE)")

    def version(self) -> str:
        """The server version, e.g. '15.8 (Debian 15.8-1)'."""
        return str(self._admin("SHOW server_version")[0][0])

    def settings(self) -> dict[str, str]:
        """The settings whose values do not come from the built-in defaults, for benchmark metadata."""
        rows = self._admin(
            "SELECT name, current_setting(name) FROM pg_settings "
            "WHERE source NOT IN ('default', 'override', 'client', 'session') ORDER BY name"
        )
        return {str(name): str(value) for name, value in rows}


class EmbeddedPostgres(_Server):
    """A private PostgreSQL cluster in a temporary directory, removed on stop, error, signal or exit."""

    def __init__(
        self, bin_dir: Path | None = None, *, startup_timeout_s: float = 30.0, cpus: Sequence[int] | None = None
    ) -> None:
        self.bin_dir = bin_dir if bin_dir is not None else find_pg_bin(PostgresSettings())
        self.startup_timeout_s = startup_timeout_s
        # Backends are forked by the postmaster and inherit its affinity, so pinning it pins them all.
        self.cpus = tuple(cpus) if cpus else None
        self.root: Path | None = None
        self.port = 0
        self.admin_url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self.owner_pid = os.getpid()
        # PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user.
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user is not None:
            try:
                pwd.getpwnam(self._user)
            except KeyError:
                raise PostgresUnavailableError(
                    "as root, a `postgres` system user must exist to run PostgreSQL"
                ) from None

    @property
    def pid(self) -> int:
        """The postmaster's process id."""
        if self._proc is None or self._proc.poll() is not None:
            raise RuntimeError("the embedded PostgreSQL is not running")
        return self._proc.pid

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        if self.root is None:
            raise RuntimeError("the embedded PostgreSQL has not been started")
        return self.root / "data"

    def tree(self) -> list[psutil.Process] | None:
        """The postmaster and every backend alive now (empty when stopped)."""
        return process_tree(self._proc.pid) if self._proc is not None and self._proc.poll() is None else []

    def _run_kwargs(self) -> dict[str, Any]:
        # Our PG* variables (PGHOST, PGDATA...) must not steer the child; LC_ALL=C keeps its messages English.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C"}
        kwargs: dict[str, Any] = {"env": env, "cwd": self.root}
        if self._user is not None:
            kwargs |= {"user": self._user, "group": pwd.getpwnam(self._user).pw_gid, "extra_groups": []}
        return kwargs

    def start(self) -> None:
        """Create the cluster (first time only) and start the server; clean up everything if that fails."""
        if self._proc is not None and self._proc.poll() is None:
            return  # already running; a second postmaster on the same data would fail anyway
        self.owner_pid = os.getpid()
        _register(self)
        try:
            if self.root is None:
                self.root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
                if self._user is not None:
                    shutil.chown(self.root, self._user, self._user)
                subprocess.run(
                    [self.bin_dir / "initdb", "-D", self.data_dir, "-A", "trust", "--no-sync", "-E", "UTF8",
                     "--locale=C", "-U", "postgres"],
                    check=True, capture_output=True, **self._run_kwargs(),
                )  # fmt: skip
                for attempt in range(3):
                    self.port = _free_port()
                    self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
                    if self._launch(retry_on_port_clash=attempt < 2):
                        break
            else:
                self._launch(retry_on_port_clash=False)
        except BaseException:
            self.stop()  # KeyboardInterrupt included: clean up, then let it propagate
            raise

    def _launch(self, *, retry_on_port_clash: bool) -> bool:
        assert self.root is not None
        args = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port)]
        for name, value in (SERVER_SETTINGS | {"unix_socket_directories": str(self.root)}).items():
            args += ["-c", f"{name}={value}"]
        log_path = self.root / "postgres.log"
        with log_path.open("ab") as log:
            # A session of its own: Ctrl-C in the terminal must not kill the server before our cleanup runs.
            cpus = self.cpus
            self._proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
                **self._run_kwargs(),
            )
        try:
            for attempt in Retrying(
                stop=stop_after_delay(self.startup_timeout_s),
                wait=wait_fixed(0.05),
                retry=retry_if_exception_type(OperationalError),
                reraise=True,
            ):
                with attempt:
                    if self._proc.poll() is not None:
                        raise _DiedError()
                    self._admin("SELECT 1")
        except (_DiedError, OperationalError) as exc:
            self._shutdown()
            log_text = log_path.read_text(errors="replace")
            if retry_on_port_clash and "could not bind" in log_text:
                return False
            raise RuntimeError(f"PostgreSQL did not start on port {self.port}:\n{log_text[-2000:]}") from exc
        return True

    def _shutdown(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        # SIGINT is PostgreSQL's "fast" shutdown: exactly what `pg_ctl stop -m fast` sends.
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            # The server's session is its own process group, so this also takes every backend with it.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart(self, down_s: float = 0) -> None:
        """Stop the server, stay down for down_s seconds, and start it again on the same port and data."""
        if self.root is None:
            raise RuntimeError("the embedded PostgreSQL has not been started")
        self._shutdown()
        time.sleep(down_s)
        self.start()

    def stop(self) -> None:
        """Stop the server and remove its directory; safe to call twice."""
        with interrupts_deferred():
            self._stop()

    def _stop(self) -> None:
        try:
            self._shutdown()
        finally:
            root, self.root = self.root, None
            if root is not None:
                shutil.rmtree(root, ignore_errors=True)
            _live.discard(self)


class _DiedError(Exception):
    """The postmaster exited during start-up."""


class ExternalPostgres(_Server):
    """A server named by DATABASE_URL: administered, never started or stopped."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url).set(drivername="postgresql")  # libpq form, whatever driver the URL named
        self.admin_url = parsed.render_as_string(hide_password=False)
        self.port = parsed.port or 5432
        self.pid: int | None = None  # the postmaster is not ours and may not even be on this machine

    def restart(self, down_s: float = 0) -> None:
        """Refuse: an external server cannot be restarted from here."""
        raise NotImplementedError(
            "restart() needs the embedded PostgreSQL; unset DATABASE_URL to run fault-injection tests"
        )


Server: TypeAlias = EmbeddedPostgres | ExternalPostgres


@contextmanager
def database_server(settings: PostgresSettings | None = None, *, cpus: Sequence[int] | None = None) -> Iterator[Server]:
    """Yield the DATABASE_URL server if set (starting nothing), else a fresh embedded cluster pinned to cpus."""
    settings = settings if settings is not None else PostgresSettings()
    if settings.database_url is not None:
        yield ExternalPostgres(str(settings.database_url))
        return
    with EmbeddedPostgres(find_pg_bin(settings), cpus=cpus) as server:
        yield server


# --- cleanup on interpreter exit and SIGTERM/SIGHUP -------------------------------------------------------
# Ctrl-C needs nothing here: KeyboardInterrupt unwinds through `with` blocks and then atexit runs.
_live: set[EmbeddedPostgres] = set()
_lock = threading.Lock()
_installed = False


def _stop_all() -> None:
    for server in list(_live):
        # A forked child inherits _live and atexit; only the process that started a cluster may stop it.
        if server.owner_pid == os.getpid():
            server.stop()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _stop_all()
    # Then die of the same signal, as if we had never handled it, so the exit status stays truthful.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _register(server: EmbeddedPostgres) -> None:
    global _installed
    with _lock:
        _live.add(server)
        if _installed:
            return
        _installed = True
        atexit.register(_stop_all)
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread; atexit still covers normal exits
        for signum in (signal.SIGTERM, signal.SIGHUP):
            # Only where nobody else handles it: a server's own handler (uvicorn, gunicorn) must keep working.
            if signal.getsignal(signum) is signal.SIG_DFL:
                signal.signal(signum, _on_signal)
