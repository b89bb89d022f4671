"""Runs one Locust load test for a cell (closed loop, or open loop at a fixed rate), pinned to the load-generator CPUs."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.drive.processes import interrupts_deferred, process_tree

SCENARIO_DIR = Path(__file__).with_name("scenarios")
_LOCUST = Path(sys.executable).with_name("locust")


@dataclass(frozen=True)
class LoadSpec:
    """What one Locust run does."""

    scenario: str
    host: str
    users: int
    warmup_s: float
    duration_s: float
    seed_users: int
    seed_items: int
    processes: int = 1
    rng_seed: int = 20261125
    # Open loop: total requests/s over all users (None = closed loop); `users` paced users share it.
    rate: float | None = None

    @property
    def run_time_s(self) -> int:
        """Locust's -t, only a safety net: the scenarios stop the test themselves right after the window."""
        return math.ceil(self.warmup_s + self.duration_s + 15)

    def command(self, out_dir: Path) -> list[str]:
        """The locust command line for this spec, writing its CSVs and recorder files into out_dir."""
        cmd = [
            str(_LOCUST),
            "-f",
            str(SCENARIO_DIR / f"{self.scenario}.py"),
            "--headless",
            "--host",
            self.host,
            "--users",
            str(self.users),
            # Everyone starts within about a second; the warm-up absorbs the ramp.
            "--spawn-rate",
            str(max(self.users, 1)),
            "--run-time",
            f"{self.run_time_s}s",
            "--stop-timeout",
            "0",
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--csv",
            str(out_dir / "locust"),
            "--exit-code-on-error",
            "0",
            "--bench-out",
            str(out_dir),
            "--bench-warmup",
            str(self.warmup_s),
            "--bench-duration",
            str(self.duration_s),
            "--bench-seed-users",
            str(self.seed_users),
            "--bench-seed-items",
            str(self.seed_items),
            "--bench-rng-seed",
            str(self.rng_seed),
        ]
        if self.rate is not None:
            cmd += ["--bench-rate", str(self.rate), "--bench-processes", str(self.processes)]
        if self.processes > 1:
            cmd += ["--processes", str(self.processes)]
        return cmd


class LocustRun:
    """A running Locust process group; `wait()` returns its exit code, `kill()` ends it and its workers."""

    def __init__(self, spec: LoadSpec, out_dir: Path, *, cpus: Sequence[int] | None = None) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.spec = spec
        self.out_dir = out_dir
        self.command = spec.command(out_dir)
        self._log = (out_dir / "locust.log").open("wb")
        self.process = subprocess.Popen(
            self.command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": str(out_dir)},
            start_new_session=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )

    def tree(self) -> list[psutil.Process]:
        """The Locust master and worker processes still alive."""
        return process_tree(self.process.pid)

    def wait(self, timeout_s: float) -> int:
        """Wait for Locust to finish; kill it if it overruns."""
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9
        finally:
            self._log.close()

    def kill(self) -> None:
        """End the whole Locust process group now."""
        with interrupts_deferred():
            self._kill()

    def _kill(self) -> None:
        procs = self.tree()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        psutil.wait_procs(procs, timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self._log.close()

    def log_tail(self, lines: int = 15) -> str:
        """The end of Locust's output."""
        try:
            return "\n".join((self.out_dir / "locust.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
