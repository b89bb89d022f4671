"""Environment metadata recorded with every run, so runs are comparable only when their setups match."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[2]
# The distributions whose versions can change a result; compare refuses runs that differ in them.
TRACKED_PACKAGES = (
    "fastapi",
    "starlette",
    "pydantic",
    "pydantic-core",
    "uvicorn",
    "uvicorn-worker",
    "uvloop",
    "httptools",
    "gunicorn",
    "flask",
    "werkzeug",
    "flask-cors",
    "sqlalchemy",
    "asyncpg",
    "psycopg2-binary",
    "httpx",
    "locust",
    "hdrhistogram",
    "pwdlib",
    "argon2-cffi",
    "pyjwt",
    "structlog",
)


def utc_now() -> str:
    """The current time as ISO-8601 UTC."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def git_state() -> dict[str, Any]:
    """The commit and whether the working tree had uncommitted changes."""

    def _git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    sha = _git("rev-parse", "HEAD")
    return {
        "sha": sha or "unknown",
        "short": sha[:7] or "nogit",
        "dirty": bool(_git("status", "--porcelain")),
    }


def package_versions() -> dict[str, str]:
    """Installed versions of the tracked distributions."""
    versions = {}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def platform_info() -> dict[str, Any]:
    """The machine (CPU, SMT, virtualisation, governor, kernel), core counts, memory and OS."""
    return {
        **machine_info(),
        "cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": platform.platform(),
        "machine": platform.machine(),
    }


def python_info() -> dict[str, str]:
    """The interpreter that ran the benchmark (and the servers)."""
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
    }


# --- the machine the numbers came from ------------------------------------------------------------------
_CPUINFO = Path("/proc/cpuinfo")
_SYS_CPU = Path("/sys/devices/system/cpu")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cpuinfo_field(text: str, name: str) -> str | None:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def _detect_virt(kind: str) -> str | None:
    # systemd-detect-virt prints "none" (exit 1) when there is none; without the tool there is no answer at all.
    tool = shutil.which("systemd-detect-virt")
    if tool is None:
        return None
    try:
        out = subprocess.run([tool, kind], capture_output=True, text=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None


def machine_info(*, cpuinfo: str | None = None, sys_cpu: Path = _SYS_CPU) -> dict[str, Any]:
    """CPU model and MHz, SMT, virtualisation, frequency governor: what makes two machines' numbers differ."""
    text = cpuinfo if cpuinfo is not None else (_read(_CPUINFO) or "")
    flags = (_cpuinfo_field(text, "flags") or "").split()
    mhz = _cpuinfo_field(text, "cpu MHz")
    smt = _read(sys_cpu / "smt" / "active")
    logical, physical = psutil.cpu_count(logical=True), psutil.cpu_count(logical=False)
    return {
        "cpu_model": _cpuinfo_field(text, "model name") or platform.processor() or "unknown",
        "cpu_mhz": float(mhz) if mhz else None,
        # /sys says it directly where it exists; otherwise more logical than physical CPUs means SMT siblings.
        "smt": (smt == "1")
        if smt in ("0", "1")
        else (logical is not None and physical is not None and logical > physical),
        "hypervisor_flag": "hypervisor" in flags,
        # A container inside a VM is both: the VM decides steal and CPU sharing, the container only isolation.
        "virtualisation": _detect_virt("--vm"),
        "container": _detect_virt("--container"),
        "governor": _read(sys_cpu / "cpu0" / "cpufreq" / "scaling_governor"),
        "kernel": platform.release(),
    }


# --- CPU time of every core, from /proc/stat --------------------------------------------------------------
_PROC_STAT = Path("/proc/stat")
# The first eight columns of a cpu line; guest time is already inside user (and guest_nice inside nice).
_STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


@dataclass(frozen=True)
class CoreTicks:
    """Cumulative clock ticks of one CPU (or of all CPUs for the `cpu` line)."""

    busy: int
    idle: int
    steal: int

    @property
    def total(self) -> int:
        """All ticks; busy already includes steal (the core was not ours while stolen)."""
        return self.busy + self.idle


def parse_proc_stat(text: str) -> dict[str, CoreTicks]:
    """Ticks per CPU line of /proc/stat: key 'all' for the aggregate, the CPU number as a string for each core."""
    out: dict[str, CoreTicks] = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            continue
        name, *values = line.split()
        ticks = dict(zip(_STAT_FIELDS, (int(v) for v in values[: len(_STAT_FIELDS)]), strict=False))
        idle = ticks.get("idle", 0) + ticks.get("iowait", 0)
        busy = sum(ticks.values()) - idle
        out["all" if name == "cpu" else name.removeprefix("cpu")] = CoreTicks(busy, idle, ticks.get("steal", 0))
    return out


def read_proc_stat(path: Path = _PROC_STAT) -> dict[str, CoreTicks]:
    """The current /proc/stat ticks, or nothing where it does not exist (not Linux)."""
    text = _read(path)
    return parse_proc_stat(text) if text else {}


def steal_pct(before: dict[str, CoreTicks], after: dict[str, CoreTicks]) -> float:
    """Percent of all CPU time the hypervisor gave to someone else between two readings (NaN if unknown)."""
    if "all" not in before or "all" not in after:
        return float("nan")
    total = after["all"].total - before["all"].total
    return (after["all"].steal - before["all"].steal) / total * 100 if total > 0 else float("nan")


def busiest_core_pct(before: dict[str, CoreTicks], after: dict[str, CoreTicks], cores: Iterable[int]) -> float:
    """Utilisation (busy/total, percent) of the busiest of the given cores between two readings (NaN if unknown)."""
    usage = []
    for core in cores:
        a, b = before.get(str(core)), after.get(str(core))
        if a is None or b is None or b.total <= a.total:
            continue
        usage.append((b.busy - a.busy) / (b.total - a.total) * 100)
    return max(usage, default=float("nan"))


def loadavg() -> float:
    """The one-minute load average (runnable tasks, all CPUs together)."""
    return round(os.getloadavg()[0], 2)
