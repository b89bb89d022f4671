"""Distributed load: one Locust master and N workers, local (pinned) or on other machines (`bench worker`).

Locust's own master/worker engine runs the users. The Locust-side half (bench/drive/scenarios/distribution.py)
ships every worker's recorder to the master, which writes one recorder file per worker, so `merge_recorders`
merges workers exactly as it merges the processes of one machine. This half starts the master and workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from bench.drive.loadgen import SCENARIO_DIR, LoadSpec, LocustRun
from bench.drive.processes import interrupts_deferred, process_tree

if TYPE_CHECKING:
    from bench.drive.runner import Runner

DEFAULT_MASTER_PORT = 5557
_LOCUST = Path(sys.executable).with_name("locust")
# How long a master waits for its workers before it gives up (remote ones may take a while to reconnect).
EXPECT_WORKERS_MAX_WAIT_S = 60


@dataclass(frozen=True)
class MasterSpec(LoadSpec):
    """A LoadSpec run as a Locust master that waits for `workers` workers instead of forking processes."""

    workers: int = 1
    bind_host: str = "127.0.0.1"
    bind_port: int = DEFAULT_MASTER_PORT

    def command(self, out_dir: Path) -> list[str]:
        """The single-process command, with --processes replaced by the master's flags."""
        cmd = super().command(out_dir)
        if "--processes" in cmd:
            at = cmd.index("--processes")
            del cmd[at : at + 2]
        if "--bench-processes" in cmd:
            # Open loop: the paced users' slots interleave over the workers, wherever they run.
            cmd[cmd.index("--bench-processes") + 1] = str(self.workers)
        return [
            *cmd,
            "--master",
            "--expect-workers",
            str(self.workers),
            "--expect-workers-max-wait",
            str(EXPECT_WORKERS_MAX_WAIT_S),
            "--master-bind-host",
            self.bind_host,
            "--master-bind-port",
            str(self.bind_port),
        ]


def worker_command(locustfile: str, master_host: str, master_port: int) -> list[str]:
    """A Locust worker; locustfile "-" takes the scenario from the master (remote workers)."""
    return [
        str(_LOCUST),
        "-f",
        locustfile,
        "--worker",
        "--master-host",
        master_host,
        "--master-port",
        str(master_port),
        "--loglevel",
        "WARNING",
    ]


class DistributedLocustRun(LocustRun):
    """A Locust master plus `local_workers` worker processes on this machine, each pinned to one load CPU."""

    def __init__(
        self, spec: MasterSpec, out_dir: Path, *, cpus: Sequence[int] | None = None, local_workers: int = 0
    ) -> None:
        super().__init__(spec, out_dir, cpus=cpus)
        self.workers: list[subprocess.Popen[bytes]] = []
        locustfile = str(SCENARIO_DIR / f"{spec.scenario}.py")
        host = "127.0.0.1" if spec.bind_host in ("0.0.0.0", "") else spec.bind_host
        try:
            for index in range(local_workers):
                # Round-robin over the load-generator CPUs: one worker per core is the point of having several.
                core = [cpus[index % len(cpus)]] if cpus else None
                with (out_dir / f"worker-{index}.log").open("wb") as log:
                    self.workers.append(
                        subprocess.Popen(
                            worker_command(locustfile, host, spec.bind_port),
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": str(out_dir)},
                            start_new_session=True,
                            preexec_fn=(lambda core=core: os.sched_setaffinity(0, core)) if core else None,
                        )
                    )
        except BaseException:
            self.kill()
            raise

    def tree(self) -> list[psutil.Process]:
        """The master and every local worker still alive."""
        return [*super().tree(), *(proc for worker in self.workers for proc in process_tree(worker.pid))]

    def wait(self, timeout_s: float) -> int:
        """The master's exit code; local workers leave when the master quits, or are killed."""
        code = super().wait(timeout_s)
        deadline = time.monotonic() + 10
        for worker in self.workers:
            try:
                worker.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill_workers()
                break
        return code

    def kill(self) -> None:
        """End the master and every local worker now."""
        with interrupts_deferred():
            self._kill_workers()
            self._kill()

    def _kill_workers(self) -> None:
        procs = [proc for worker in self.workers for proc in process_tree(worker.pid)]
        for worker in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
        psutil.wait_procs(procs, timeout=5)
        for worker in self.workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(timeout=5)


def attach(runner: Runner, *, local_workers: int, remote_workers: int = 0, bind: str = "") -> None:
    """Make every cell of the runner use a master and workers; recorded in metadata["loadgen_distribution"]."""
    host, _, port = bind.rpartition(":") if bind else ("127.0.0.1", "", str(DEFAULT_MASTER_PORT))
    if remote_workers and not bind:
        host = "0.0.0.0"  # remote workers must reach the master
    bind_port = int(port or DEFAULT_MASTER_PORT)

    def _start(spec: LoadSpec, out: Path) -> LocustRun:
        runner.metadata["loadgen_distribution"] = {
            "master": f"{host}:{bind_port}",
            "local_workers": local_workers,
            "remote_workers": remote_workers,
            "worker_cpus": [
                list(runner.placement.other_cpus)[i % len(runner.placement.other_cpus)] for i in range(local_workers)
            ],
        }
        master = MasterSpec(
            **{f.name: getattr(spec, f.name) for f in fields(LoadSpec)},
            workers=local_workers + remote_workers,
            bind_host=host,
            bind_port=bind_port,
        )
        return DistributedLocustRun(master, out, cpus=runner.placement.other_cpus, local_workers=local_workers)

    runner.loadgen = _start


def run_worker(master: str, *, once: bool = False) -> int:
    """`bench worker --master HOST:PORT`: serve one master after another (each cell has its own) until stopped."""
    host, _, port = master.rpartition(":")
    cmd = worker_command("-", host, int(port))
    while True:
        code = subprocess.run(cmd, check=False).returncode
        if once:
            return code
        time.sleep(1)  # the next cell's master needs a moment to bind
