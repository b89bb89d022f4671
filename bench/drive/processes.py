"""Child-process helpers shared by the servers, the load generator, the stub and the embedded PostgreSQL."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

import psutil

# Containers, CI and closed terminals stop a process with these; each must unwind exactly like Ctrl-C.
STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignal(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived; a KeyboardInterrupt, so every `with` block stops its children on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise StopSignal(signum)


@contextlib.contextmanager
def stop_signals_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into a KeyboardInterrupt for the duration (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise_stop) for signum in STOP_SIGNALS if signum != signal.SIGINT}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def exit_status(exc: KeyboardInterrupt) -> int:
    """The shell's convention: 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP)."""
    return 128 + (exc.signum if isinstance(exc, StopSignal) else signal.SIGINT)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold off Ctrl-C, SIGTERM and SIGHUP while cleaning up, so a second one cannot abandon half-stopped children."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.signal(signum, lambda s, frame: received.append(s)) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        # Deliver it now to whoever handled it before (KeyboardInterrupt, StopSignal, or the default action).
        signal.raise_signal(received[0])


def process_tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants that are still alive."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def wait_until_idle(
    processes: list[psutil.Process], *, below_pct: float = 5.0, interval_s: float = 0.25, timeout_s: float = 15.0
) -> float:
    """Wait until the processes together use under below_pct of one core over an interval; the seconds waited."""
    start = time.monotonic()

    def cpu_s() -> float:
        total = 0.0
        for proc in processes:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    while processes and time.monotonic() - start < timeout_s:
        before = cpu_s()
        time.sleep(interval_s)
        if (cpu_s() - before) / interval_s * 100 < below_pct:
            break
    return time.monotonic() - start
