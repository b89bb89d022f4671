"""The embedded PostgreSQL: lifecycle, cleanup on every exit path, DATABASE_URL and the error path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.drive import postgres
from bench.drive.postgres import (
    EmbeddedPostgres,
    ExternalPostgres,
    PostgresSettings,
    PostgresUnavailableError,
    database_server,
    find_pg_bin,
)
from shared_models.migrate import sync_url

REPO = Path(__file__).resolve().parents[2]
NO_PG_BIN_DIR = PostgresSettings(pg_bin_dir=None)  # explicit: a PG_BIN_DIR in the environment must not leak in


def _scalar(url: str, sql: str) -> object:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def _processes_using(path: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if any(str(path) in arg for arg in proc.info["cmdline"] or ()):
            found.append(proc)
    return found


def _assert_gone(root: Path, pid: int) -> None:
    assert not root.exists(), f"{root} was not removed"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert _processes_using(root) == []


def test_embedded_lifecycle() -> None:
    with EmbeddedPostgres() as pg:
        root, pid = pg.data_dir.parent, pg.pid
        assert pg.admin_url == f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
        assert psutil.Process(pid).name() == "postgres"
        # Own session: a Ctrl-C sent to the terminal's process group cannot reach the server.
        assert os.getsid(pid) == pid != os.getsid(0)
        assert _scalar(pg.admin_url, "SELECT 1") == 1
        assert pg.version()[0].isdigit()
        settings = pg.settings()
        assert settings["fsync"] == "off"
        assert settings["max_connections"] == "300"
        assert settings["shared_buffers"] == "256MB"
        assert "port" in settings

        pg.create_database("lifecycle")
        assert _scalar(pg.url_for("lifecycle"), "SELECT current_database()") == "lifecycle"
        pg.create_database("lifecycle_copy", template="lifecycle")
        engine = create_engine(sync_url(pg.url_for("lifecycle")))
        with engine.connect():  # an open connection must not block the drop
            pg.drop_database("lifecycle")
        engine.dispose()
        pg.drop_database("lifecycle")  # idempotent
        dbs = _scalar(pg.admin_url, "SELECT string_agg(datname, ',') FROM pg_database")
        assert dbs is not None
        assert "lifecycle" not in str(dbs).split(",")
        assert "lifecycle_copy" in str(dbs).split(",")

        old_port = pg.port
        _scalar(pg.url_for("lifecycle_copy"), "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
        pg.restart(down_s=0.2)
        assert pg.port == old_port
        assert pg.pid != pid
        assert _scalar(pg.url_for("lifecycle_copy"), "SELECT v FROM kept") == 42
        new_pid = pg.pid
    _assert_gone(root, new_pid)
    pg.stop()  # a second stop is harmless


def test_error_inside_block_cleans_up() -> None:
    with pytest.raises(ZeroDivisionError), EmbeddedPostgres() as pg:  # noqa: PT012
        root, pid = pg.data_dir.parent, pg.pid
        _ = 1 / 0
    _assert_gone(root, pid)


def test_failed_start_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(prefix: str) -> str:
        created.append(Path(real_mkdtemp(prefix=prefix)))
        return str(created[-1])

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    monkeypatch.setitem(postgres.SERVER_SETTINGS, "shared_buffers", "not-a-size")
    pg = EmbeddedPostgres()
    with pytest.raises(RuntimeError, match="did not start") as info:
        pg.start()
    assert "shared_buffers" in str(info.value)  # the server's own log explains why
    assert pg.root is None
    assert len(created) == 1
    assert not created[0].exists()
    assert _processes_using(created[0]) == []


_CHILD = textwrap.dedent(
    """
    import sys, time
    from bench.drive.postgres import EmbeddedPostgres
    with EmbeddedPostgres() as pg:
        print(pg.data_dir.parent, pg.pid, flush=True)
        time.sleep(60)
    """
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_cleans_up(signum: signal.Signals) -> None:
    # The child gets its own process group, like a command in a terminal; Ctrl-C signals the whole group.
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None
        root_text, pid_text = child.stdout.readline().split()
        os.killpg(child.pid, signum)
        _, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # Cleaned up, then the program still dies of the signal, as if unhandled: nothing is swallowed.
    assert child.returncode == -signum
    if signum == signal.SIGINT:
        assert "KeyboardInterrupt" in stderr
    _assert_gone(Path(root_text), int(pid_text))


def test_database_url_uses_external_server(
    monkeypatch: pytest.MonkeyPatch, pg_server: EmbeddedPostgres | ExternalPostgres
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_server.url_for("postgres").replace("://", "+asyncpg://", 1))
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with database_server() as server:
        assert isinstance(server, ExternalPostgres)
        assert {p.pid for p in psutil.Process().children(recursive=True)} == before  # nothing started
        assert server.admin_url == pg_server.url_for("postgres")  # driver stripped: a libpq URL
        assert server.port == pg_server.port
        assert server.version() == pg_server.version()
        server.create_database("external_probe")
        assert _scalar(server.url_for("external_probe"), "SELECT 7") == 7
        server.drop_database("external_probe")
        with pytest.raises(NotImplementedError, match="embedded"):
            server.restart()
    assert _scalar(pg_server.admin_url, "SELECT 1") == 1  # leaving the block stopped nothing


def _fake_bin(path: Path) -> Path:
    path.mkdir(parents=True)
    for name in ("initdb", "postgres", "pg_ctl"):
        (path / name).write_text("#!/bin/sh\n")
        (path / name).chmod(0o755)
    return path


def test_find_pg_bin_order(tmp_path: Path) -> None:
    explicit = _fake_bin(tmp_path / "explicit")
    on_path = _fake_bin(tmp_path / "onpath")
    system = tmp_path / "system"
    for version in ("9", "14", "15"):
        _fake_bin(system / version / "bin")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_pg_bin(PostgresSettings(pg_bin_dir=explicit), search_path=str(on_path)) == explicit
    assert find_pg_bin(NO_PG_BIN_DIR, search_path=str(on_path), system_roots=[system]) == on_path
    found = find_pg_bin(NO_PG_BIN_DIR, search_path=str(empty), system_roots=[system])
    assert found == system / "15" / "bin"  # newest by number, not by string order
    # The real one of this machine is found by the defaults.
    assert (find_pg_bin(NO_PG_BIN_DIR) / "initdb").is_file()


def _assert_both_remedies(message: str) -> None:
    assert "apt-get install postgresql" in message
    assert "DATABASE_URL=postgresql://user:pass@host:port/db" in message


def test_no_binaries_and_no_url_explains_both_remedies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PG_BIN_DIR", str(empty))
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(PostgresUnavailableError) as info, database_server():
        pytest.fail("no server can start")
    _assert_both_remedies(str(info.value))
    assert str(empty) in str(info.value)  # names the bad PG_BIN_DIR

    with pytest.raises(PostgresUnavailableError) as info:
        find_pg_bin(PostgresSettings(pg_bin_dir=None), search_path=str(empty), system_roots=[tmp_path / "none"])
    _assert_both_remedies(str(info.value))


def test_forked_child_exit_leaves_parents_cluster_alone(pg_server: EmbeddedPostgres | ExternalPostgres) -> None:
    if not isinstance(pg_server, EmbeddedPostgres):
        pytest.skip("needs the embedded server")
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            postgres._stop_all()  # what the child's atexit would run
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    assert _scalar(pg_server.admin_url, "SELECT 1") == 1
