"""How a run shows its progress: a live bar on a terminal, one plain line per finished cell anywhere else.

In a container, in CI or with the output redirected, a live bar prints nothing until the run ends; the plain
reporter writes a line per finished cell (cell, rps, p99, valid or why not) with the ETA, so logs show progress.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from bench.drive.schedule import Cell


def is_interactive(console: Console) -> bool:
    """True when both the console's stream and stdout are terminals (the only case a live bar is seen)."""
    return console.is_terminal and sys.stdout.isatty()


def cell_progress(console: Console, *, interactive: bool | None = None) -> Progress:
    """The progress display of a run: a rich bar on a terminal, `LineProgress` otherwise."""
    if interactive if interactive is not None else is_interactive(console):
        return Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[last]}"),
            console=console,
            transient=False,
        )
    return LineProgress(console)


def format_duration(seconds: float) -> str:
    """A short human duration: 45 s, 3 min 05 s, 1 h 02 min."""
    total = max(0, round(seconds))
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def cell_line(row: Mapping[str, Any]) -> str:
    """One finished cell in words: its id, rps, p99 and whether it is valid (and if not, why)."""
    verdict = "valid" if row.get("valid") else f"invalid: {row.get('invalid_reason') or 'no reason recorded'}"
    p99 = row.get("p99_ms")
    p99_text = f"{p99:.1f} ms" if isinstance(p99, int | float) and p99 == p99 else "n/a"
    return f"{row.get('cell_id', '?')}: {float(row.get('rps') or 0):.0f} rps, p99 {p99_text}, {verdict}"


class LineProgress(Progress):
    """A Progress without a live display that prints one plain line each time cells finish."""

    def __init__(self, console: Console) -> None:
        super().__init__(console=console, disable=True)

    def update(
        self,
        task_id: TaskID,
        *,
        total: float | None = None,
        completed: float | None = None,
        advance: float | None = None,
        description: str | None = None,
        visible: bool | None = None,
        refresh: bool = False,
        **fields: Any,
    ) -> None:
        """Update the task as rich does; when cells finished, print what finished and the ETA."""
        super().update(
            task_id,
            total=total,
            completed=completed,
            advance=advance,
            description=description,
            visible=visible,
            refresh=refresh,
            **fields,
        )
        if advance:
            self.console.print(self._line(task_id, fields), markup=False, highlight=False, soft_wrap=True)

    def _line(self, task_id: TaskID, fields: Mapping[str, Any]) -> str:
        task = self._tasks[task_id]
        row = fields.get("row")
        if isinstance(row, Mapping):
            what = cell_line(row)
        else:
            what = str(fields.get("line") or Text.from_markup(str(fields.get("last", ""))).plain)
        done, total = int(task.completed), int(task.total or 0)
        remaining = total - done
        elapsed = task.elapsed or 0.0
        if remaining <= 0:
            eta = f"done after {format_duration(elapsed)}"
        elif done and elapsed:
            eta = f"ETA {format_duration(elapsed / done * remaining)}"
        else:
            eta = "ETA unknown"
        return f"[{done}/{total}] {what} | {eta}"


# A measurement made after the cells while the run's database and carrier stub are still up (the ergonomics
# step): called with the database URL, the carrier URL and the file to write. Passed in by the CLI, so the drive
# stage does not import a later one.
SideMeasurement = Callable[[str, str, Path], None]


@dataclass(frozen=True)
class Hooks:
    """The run's progress display and the caller's per-cell callbacks, handed down through every block."""

    progress: Progress
    task: Any
    on_cell: Callable[[Cell, dict[str, Any]], None] | None = None
    before_cell: Callable[[Cell], None] | None = None
