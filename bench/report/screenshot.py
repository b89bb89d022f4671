"""Screenshot of a report's first screen (1366×768) with headless Chromium, for the run directory and reviews."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

VIEWPORT = (1366, 768)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


class NoBrowserError(RuntimeError):
    """No headless Chromium on PATH."""


def browser() -> str:
    """The path of a Chromium binary, or NoBrowserError naming what to install."""
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    raise NoBrowserError("no Chromium on PATH: install it (apt-get install chromium) to take screenshots")


def chromium_args(profile: Path, width: int, height: int) -> list[str]:
    """Flags for a headless, offline, sandbox-free Chromium at the given window size."""
    return [
        browser(),
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--hide-scrollbars",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ]


def first_screen(report: Path, out: Path, *, size: tuple[int, int] = VIEWPORT) -> Path:
    """Write a PNG of what a 1366×768 window shows of the report before any scrolling."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-shot-") as profile:
        subprocess.run(
            [*chromium_args(Path(profile), *size), f"--screenshot={out.resolve()}", report.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
    return out
