"""An independent check of the load generator: wrk right after a Locust cell, same server, scenario and users.

Locust rps ÷ wrk rps near 1 says Locust measured the server, not itself. Below `LIMIT_RATIO` the run names
the setup the load generator limited (typically gunicorn's sync worker: no keep-alive, so every request
reconnects, and Locust pays more per connection than wrk's C event loop).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.drive.schedule import base_setup, control_of
from bench.drive.servers import SETUPS, RunningServer

if TYPE_CHECKING:
    from bench.drive.runner import Cell, Runner

LIMIT_RATIO = 0.95
SCENARIO_PATHS: dict[str, str] = {"health": "/health/live", "item": "/items/{id}"}
_UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured."""

    requests: int
    duration_s: float
    rps: float
    non_2xx: int
    socket_errors: int


def parse_wrk(text: str) -> WrkResult:
    """Read wrk's standard summary; ValueError naming what is missing if it is not one."""
    done = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),", text, re.MULTILINE)
    rate = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.MULTILINE)
    if done is None or rate is None:
        raise ValueError(f"not a wrk summary (no 'N requests in T' / 'Requests/sec:' line): {text[-300:]!r}")
    non_2xx = re.search(r"^\s*Non-2xx or 3xx responses:\s*(\d+)", text, re.MULTILINE)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return WrkResult(
        requests=int(done.group(1)),
        duration_s=float(done.group(2)) * _UNITS_S[done.group(3)],
        rps=float(rate.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def find_wrk(*, install: bool = True) -> tuple[str | None, str]:
    """wrk's path, installing the Debian package as root if missing; else (None, why not)."""
    found = shutil.which("wrk")
    if found:
        return found, ""
    if not install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "wrk is not installed (as root with apt-get the run installs it: apt-get install wrk)"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LANG": "C.UTF-8"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(step, capture_output=True, text=True, env=env, timeout=600, check=False)
        if done.returncode != 0:
            return None, f"`{' '.join(step)}` failed: {(done.stderr or done.stdout).strip()[-200:]}"
    found = shutil.which("wrk")
    return (found, "") if found else (None, "apt-get installed no wrk binary")


def _item_script(seed_items: int) -> str:
    # The same request mix as the Locust item scenario: uniformly random seeded ids.
    return (
        "math.randomseed(20261125)\n"
        f"request = function() return wrk.format('GET', '/items/' .. math.random(1, {seed_items})) end\n"
    )


@dataclass
class CrossCheck:
    """Runs wrk after a setup's cells and compares with Locust's rps of the same scenario and users."""

    wrk: str
    out_dir: Path
    duration_s: float
    seed_items: int
    cpus: Sequence[int] | None = None
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run

    def measure(
        self, server: str, url: str, scenario: str, users: int, locust_rps: float, *, no_keep_alive: bool
    ) -> dict[str, Any]:
        """wrk on the scenario Locust just measured (same server, users and CPUs); the comparison."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return compare(server, scenario, users, locust_rps, self._wrk(server, url, scenario, users), no_keep_alive)

    def _wrk(self, server: str, url: str, scenario: str, users: int) -> WrkResult:
        threads = max(1, min(len(self.cpus or [1]), users))
        cmd = [self.wrk, "-t", str(threads), "-c", str(users), "-d", f"{self.duration_s:g}s", "--timeout", "5s"]
        if scenario == "item":
            script = self.out_dir / "item.lua"
            script.write_text(_item_script(self.seed_items))
            cmd += ["-s", str(script)]
        cmd.append(url + SCENARIO_PATHS[scenario].split("{")[0].rstrip("/"))
        cpus = self.cpus
        done = self.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=self.duration_s + 60,
            check=False,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
        (self.out_dir / f"{server}-{scenario}-u{users}.txt").write_text(
            " ".join(cmd) + "\n" + done.stdout + done.stderr
        )
        return parse_wrk(done.stdout)


def compare(
    server: str, scenario: str, users: int, locust_rps: float, wrk: WrkResult, no_keep_alive: bool
) -> dict[str, Any]:
    """One comparison row for metadata.json: the two rates, their ratio and, if limited, why."""
    ratio = locust_rps / wrk.rps if wrk.rps else float("nan")
    note = ""
    if ratio < LIMIT_RATIO:
        note = (
            f"the load generator limited {server} ({scenario}, {users} users): Locust reached {ratio:.2f} of wrk's rps"
        )
        if no_keep_alive:
            note += "; the server closes every connection, and Locust pays more per reconnect than wrk"
    if wrk.non_2xx or wrk.socket_errors:
        note = "; ".join(filter(None, [note, f"wrk saw {wrk.non_2xx} non-2xx and {wrk.socket_errors} socket errors"]))
    return {
        "server": server,
        "scenario": scenario,
        "users": users,
        "locust_rps": round(locust_rps, 1),
        "wrk_rps": round(wrk.rps, 1),
        "ratio": round(ratio, 3),
        "loadgen_limited": ratio < LIMIT_RATIO,
        "note": note,
        "wrk": asdict(wrk),
    }


def attach(runner: Runner, *, install: bool = True) -> None:
    """Make the runner cross-check every setup with wrk (or record why it cannot) in metadata["cross_check"]."""
    wrk, skipped = find_wrk(install=install)
    check = (
        CrossCheck(
            wrk,
            runner.run_dir / "raw" / "crosscheck",
            duration_s=runner.settings.duration_s,
            seed_items=runner.settings.seed_items,
            cpus=runner.placement.other_cpus,
        )
        if wrk
        else None
    )

    def _after_cell(cell: Cell, row: dict[str, Any], live: RunningServer) -> None:
        # Right after the Locust cell, so both tools see the same server and the same machine load.
        section = runner.metadata.setdefault(
            "cross_check", {"tool": "wrk", "limit_ratio": LIMIT_RATIO, "skipped": skipped, "results": []}
        )
        if check is None or cell.scenario not in SCENARIO_PATHS or cell.repeat != 1 or not row["requests"]:
            return
        if control_of(cell.server):
            return  # an A/A control copy runs the same setup, already cross-checked
        no_keep_alive = SETUPS[base_setup(cell.server)].keep_alive.startswith("none")
        try:
            r = check.measure(
                cell.server, live.url, cell.scenario, cell.users, float(row["rps"]), no_keep_alive=no_keep_alive
            )
        except (ValueError, OSError, subprocess.SubprocessError) as exc:
            section["results"].append({"server": cell.server, "error": f"{type(exc).__name__}: {exc}"})
            runner.console.print(f"cross-check {cell.id}: wrk failed: {exc}", markup=False)
            return
        section["results"].append(r)
        runner.console.print(
            f"cross-check {cell.id}: Locust {r['locust_rps']:.0f} rps, wrk {r['wrk_rps']:.0f} rps, "
            f"ratio {r['ratio']:.2f}" + (f" ({r['note']})" if r["note"] else ""),
            markup=False,
            soft_wrap=True,
        )

    if check is None:
        runner.console.print(f"cross-check skipped: {skipped}", markup=False)
    runner.after_cell.append(_after_cell)
