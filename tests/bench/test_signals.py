"""SIGTERM and SIGHUP stop a bench command exactly like Ctrl-C (`bench run`: test_runner_faults.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench.drive.processes import StopSignal, exit_status, interrupts_deferred, stop_signals_as_interrupt
from bench.drive.servers import free_port

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def test_stop_signals_raise_a_keyboard_interrupt_with_the_shells_exit_status() -> None:
    def _terminated() -> None:
        with stop_signals_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt) as info:
        _terminated()
    assert isinstance(info.value, StopSignal)
    assert exit_status(info.value) == 143
    assert exit_status(KeyboardInterrupt()) == 130
    assert signal.getsignal(signal.SIGTERM) is before  # restored


def test_a_stop_signal_during_cleanup_waits_until_the_cleanup_is_done() -> None:
    cleaned: list[str] = []

    def _hung_up_while_cleaning() -> None:
        with stop_signals_as_interrupt(), interrupts_deferred():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.2)
            cleaned.append("done")

    with pytest.raises(StopSignal) as info:
        _hung_up_while_cleaning()
    assert cleaned == ["done"]
    assert info.value.signum == signal.SIGHUP


def _wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        content = path.read_text(errors="replace") if path.exists() else ""
        if text in content:
            return content
        assert proc.poll() is None, f"exited with {proc.returncode}: {content[-2000:]}"
        time.sleep(0.3)
    raise AssertionError(f"{text!r} not printed within {timeout_s} s")


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers bind: TIME_WAIT leftovers of closed connections do not hold the port, a listener does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize(
    ("framework", "signum"),
    [("flask", signal.SIGTERM), ("fastapi", signal.SIGTERM), ("flask", signal.SIGHUP)],
)
def test_serve_stops_every_child_on_a_stop_signal(framework: str, signum: int, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # its own PostgreSQL, as a newcomer runs it
    out = tmp_path / "serve.log"
    with out.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench", "serve", framework, "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(out, "serving", proc, timeout_s=120)
        children = psutil.Process(proc.pid).children(recursive=True)
        names = {p.name() for p in children}
        assert "postgres" in names, names
        assert len(children) >= 4, names  # PostgreSQL and its helpers, the stub, the server master and worker
        proc.send_signal(signum)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], [(p.pid, p.name()) for p in alive]
    assert _port_is_free(port)
