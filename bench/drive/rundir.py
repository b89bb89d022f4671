"""The run directory and the static part of its metadata: where a run is written and what ran in it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.drive.schedule import base_setup, control_of
from bench.drive.servers import SETUPS, Sizing, pool_size_per_process
from bench.measure.environment import git_state


def new_run_dir(out_root: Path) -> tuple[str, Path]:
    """Create results/<UTC timestamp>-<sha>/ and its raw/ folder."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    run_id = f"{stamp}-{git_state()['short']}"
    run_dir = out_root / run_id
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = out_root / f"{run_id}.{suffix}"
    (run_dir / "raw").mkdir(parents=True)
    return run_dir.name, run_dir


def link_latest(out_root: Path, run_dir: Path, console: Console) -> None:
    """Point results/latest at a run (also while it is in progress, so it can be watched)."""
    latest = out_root / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(run_dir.name)
    except OSError as exc:
        console.print(f"[yellow]could not update {latest}: {exc}[/yellow]")


def server_metadata(name: str, *, sizing: Sizing, pool_budget: int) -> dict[str, Any]:
    """How one setup of the run (an A/A control included) was started, for metadata.json and the report."""
    setup = SETUPS[base_setup(name)]
    command = " ".join(setup.command(host="127.0.0.1", port=0, sizing=sizing))
    return {
        "command": command.replace(":0 ", ":PORT ").replace("--port 0 ", "--port PORT "),
        **setup.describe(sizing),  # labels derived from the fields that built the command
        "pool_size_per_worker": pool_size_per_process(pool_budget, sizing.workers),
        "pool_budget": pool_budget,
        "control_of": control_of(name),
    }
