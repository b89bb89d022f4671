"""Environment metadata recorded with every run, so runs are comparable only when their setups match."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
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


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def platform_info() -> dict[str, Any]:
    """CPU model, core counts, memory, kernel and OS."""
    return {
        "cpu_model": _cpu_model(),
        "cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "kernel": platform.release(),
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
