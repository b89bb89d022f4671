"""The harness under faults: a server that cannot start, Ctrl-C, a database restart, missing prerequisites."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from bench.cli import main
from bench.config import resolve_settings
from bench.drive.carrier_stub import CarrierStub
from bench.drive.postgres import EmbeddedPostgres, ExternalPostgres, database_server
from bench.drive.runner import Cell, Runner
from bench.drive.servers import SETUPS, RunningServer, ServerConfig, ServerStartError

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
NOT_RUN = "not run: interrupted"  # what the runner writes for a cell it never measured


def test_port_in_use_gives_a_clear_error_with_the_log_tail(fresh_db: Callable[[], str], carrier: CarrierStub) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        config = ServerConfig(
            setup=SETUPS["flask-gunicorn-sync"], database_url=fresh_db(), carrier_url=carrier.url, port=port
        )
        with pytest.raises(ServerStartError) as info:
            RunningServer(config).start(timeout_s=15)
    message = str(info.value)
    assert "flask-gunicorn-sync" in message
    assert "last lines of" in message
    assert "address already in use" in message.lower()


def test_missing_postgres_is_one_clear_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PG_BIN_DIR", str(tmp_path))
    assert main(["run", "--profile", "smoke", "--out", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: PG_BIN_DIR=")
    assert "DATABASE_URL" in err
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def _use_session_postgres(monkeypatch: pytest.MonkeyPatch, pg_server: EmbeddedPostgres | ExternalPostgres) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_server.admin_url)


def _tiny(servers: str, scenarios: str, **extra: Any) -> Any:
    overrides = {
        "servers": servers.split(","),
        "scenarios": scenarios.split(","),
        "users": [2],
        "duration_s": 1.0,
        "warmup_s": 0.3,
        "seed_users": 20,
        "seed_items": 100,
        "seed_orders": 5,
        # These tests are about faults; the loaded 2-core test machine must not invalidate the healthy cells.
        "shared_core_limit_pct": 100.0,
        "max_steal_pct": 100.0,
        "aa_control": "",
        **extra,
    }
    return resolve_settings("smoke", overrides)


def test_a_setup_that_fails_to_start_is_flagged_and_the_run_goes_on(
    monkeypatch: pytest.MonkeyPatch, pg_server: EmbeddedPostgres | ExternalPostgres, tmp_path: Path
) -> None:
    _use_session_postgres(monkeypatch, pg_server)
    # item, not health: /health/live can saturate Locust's core, which would make the good cell invalid too.
    runner = Runner(_tiny("flask-gunicorn-sync,fastapi-uvicorn", "item"), tmp_path)
    good_env = runner._app_env

    def _broken_for_flask(server: str) -> dict[str, str]:
        env = good_env(server)
        return {**env, "DB_POOL_SIZE": "0"} if server.startswith("flask") else env  # settings refuse pool size 0

    monkeypatch.setattr(runner, "_app_env", _broken_for_flask)
    run_dir = runner.run()
    rows = {row["server"]: row for row in json.loads((run_dir / "summary.json").read_text())}
    assert rows["flask-gunicorn-sync"]["valid"] is False
    assert rows["flask-gunicorn-sync"]["invalid_reason"].startswith("server failed to start")
    assert rows["fastapi-uvicorn"]["valid"] is True
    assert rows["fastapi-uvicorn"]["rps"] > 0


@pytest.fixture
def own_pg() -> Iterator[EmbeddedPostgres]:
    """A cluster of this test's own: the apps have no pre-ping, so restarting the session's cluster would hand the
    servers of other tests one 503 per stale pooled connection."""
    with database_server() as pg:
        if not isinstance(pg, EmbeddedPostgres):
            pytest.skip("restarting the database needs the embedded PostgreSQL (DATABASE_URL is set)")
        yield pg


def test_database_restart_mid_run_is_counted_and_flagged_without_hanging(
    monkeypatch: pytest.MonkeyPatch, own_pg: EmbeddedPostgres, tmp_path: Path
) -> None:
    pg_server = own_pg
    _use_session_postgres(monkeypatch, pg_server)
    settings = _tiny("fastapi-uvicorn", "item", repeats=3, duration_s=3.5, warmup_s=0.3)
    runner = Runner(settings, tmp_path)
    restarter: list[threading.Thread] = []

    def _restart_once_traffic_flows() -> None:
        # Locust may take 1-10 s to start on a busy machine, so wait until its users have connected to the
        # server, not for a fixed time: the outage then starts about when the 3.5 s window opens.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _locust_connected():
            time.sleep(0.05)
        pg_server.restart(down_s=1.5)

    def _restart_during_this_cell(cell: Cell) -> None:
        if cell.repeat == 2:
            thread = threading.Thread(target=_restart_once_traffic_flows)
            thread.start()
            restarter.append(thread)

    started = time.monotonic()
    run_dir = runner.run(before_cell=_restart_during_this_cell)
    for thread in restarter:
        thread.join()
    assert time.monotonic() - started < 120
    rows = {row["repeat"]: row for row in json.loads((run_dir / "summary.json").read_text())}
    assert rows[1]["valid"] is True
    assert rows[2]["failures"] > 0
    assert rows[2]["valid"] is False
    assert "error rate" in rows[2]["invalid_reason"]
    assert rows[3]["valid"] is True, rows[3]["invalid_reason"]  # the pool recovered (pre-ping)


def _locust_connected() -> bool:
    """Whether a Locust process this test started holds an open TCP connection (its users are running)."""
    for proc in psutil.Process().children(recursive=True):
        try:
            if "locust" in " ".join(proc.cmdline()) and any(
                c.status == psutil.CONN_ESTABLISHED for c in proc.net_connections(kind="tcp")
            ):
                return True
        except psutil.Error:
            continue
    return False


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_stop_every_child_and_keep_finished_cells(
    signum: int, status: int, pg_server: EmbeddedPostgres | ExternalPostgres, tmp_path: Path
) -> None:
    # SIGTERM is what containers and CI send: it must unwind exactly like Ctrl-C (128 + signal as exit status).
    env = {**os.environ, "DATABASE_URL": pg_server.admin_url, "MPLCONFIGDIR": str(tmp_path / "mpl")}
    cmd = [
        sys.executable,
        "-m",
        "bench",
        "run",
        "--profile",
        "smoke",
        "--servers",
        "fastapi-uvicorn",
        "--scenarios",
        "health,item,list,upstream",
        "--repeats",
        "3",  # 12 cells: the signal must land with work left, however many finished cells the host made valid
        "--users",
        "2",
        "--duration",
        "2",
        "--warmup",
        "0.3",
        "--shared-core-limit-pct",
        "100",
        "--max-steal-pct",
        "100",
        "--out",
        str(tmp_path),
        "--no-report",
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    summary = tmp_path / "latest" / "summary.json"
    deadline = time.monotonic() + 90
    finished: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not finished:
        time.sleep(0.3)
        if summary.exists():
            # Finished, valid or not: a busy CI host can invalidate (loadgen saturated) every cell but the last,
            # and a signal sent after the last one reaches a run that has already ended with status 0.
            finished = [r for r in json.loads(summary.read_text()) if r["invalid_reason"] != NOT_RUN]
    assert finished, "no cell finished within 90 s"
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children, "the run should have live children (server, locust, stub)"
    proc.send_signal(signum)
    code = proc.wait(timeout=20)
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], [(p.pid, p.name()) for p in alive]
    assert code == status
    rows = json.loads(summary.read_text())
    kept = {r["cell_id"]: r for r in rows}
    assert all(kept[r["cell_id"]] == r for r in finished), "a finished cell's row changed or went missing"
    assert any(r["invalid_reason"] == NOT_RUN for r in rows)
    metadata = json.loads((tmp_path / "latest" / "metadata.json").read_text())
    assert metadata["interrupted"] is True
    assert metadata["finished_at"]
