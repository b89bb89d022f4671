"""Progress without a terminal: one plain line per finished cell with rps, p99, validity and the ETA."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from bench.drive.progress import LineProgress, cell_line, cell_progress, format_duration


def _row(cell_id: str, **extra: Any) -> dict[str, Any]:
    return {"cell_id": cell_id, "rps": 1234.4, "p99_ms": 12.345, "valid": True, "invalid_reason": "", **extra}


def test_without_a_terminal_each_finished_cell_is_one_line_with_the_eta() -> None:
    stream = io.StringIO()
    console = Console(file=stream, width=40)  # narrow on purpose: the lines must not wrap
    progress = cell_progress(console)
    assert isinstance(progress, LineProgress)
    now = [100.0]
    progress.get_time = lambda: now[0]  # type: ignore[method-assign]
    with progress:
        task = progress.add_task("cells", total=4, last="")
        now[0] += 30
        progress.update(task, advance=1, last="ignored", row=_row("fastapi-uvicorn/item/u32/r1"))
        now[0] += 30
        bad = _row("fastapi-uvicorn/item/u32/r2", valid=False, invalid_reason="error rate 3.0% > 1.0%")
        progress.update(task, advance=1, row=bad)
        progress.update(task, last="no advance, no line")
        now[0] += 10
        progress.update(task, advance=2, line="flask-gunicorn-sync: 2 cells invalid: server failed to start")
    lines = stream.getvalue().splitlines()
    assert lines == [
        "[1/4] fastapi-uvicorn/item/u32/r1: 1234 rps, p99 12.3 ms, valid | ETA 1 min 30 s",
        "[2/4] fastapi-uvicorn/item/u32/r2: 1234 rps, p99 12.3 ms, invalid: error rate 3.0% > 1.0% | ETA 1 min 00 s",
        "[4/4] flask-gunicorn-sync: 2 cells invalid: server failed to start | done after 1 min 10 s",
    ]


def test_a_terminal_gets_the_live_bar() -> None:
    console = Console(file=io.StringIO(), force_terminal=True)
    assert not isinstance(cell_progress(console, interactive=True), LineProgress)
    assert isinstance(cell_progress(console, interactive=False), LineProgress)


def test_cell_line_without_measurements_and_durations() -> None:
    assert cell_line({"cell_id": "x", "rps": 0, "p99_ms": None, "valid": False, "invalid_reason": ""}) == (
        "x: 0 rps, p99 n/a, invalid: no reason recorded"
    )
    assert format_duration(44.6) == "45 s"
    assert format_duration(3725) == "1 h 02 min"
