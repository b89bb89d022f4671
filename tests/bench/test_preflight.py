"""Bad input a newcomer tries first: an unreachable DATABASE_URL, a report of a directory that holds no run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main
from bench.drive.servers import free_port


@pytest.mark.parametrize("command", [["run", "--profile", "smoke"], ["serve", "flask"]])
def test_database_url_refusing_connections_is_one_error_line(
    command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()  # nothing listens there: the connection is refused
    monkeypatch.setenv("DATABASE_URL", f"postgresql://bench:secret@127.0.0.1:{port}/bench")
    out = tmp_path / "results"
    argv = [*command, "--out", str(out)] if command[0] == "run" else command
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"error: DATABASE_URL=postgresql+psycopg2://bench:***@127.0.0.1:{port}/bench")
    assert "refused" in lines[0]
    assert "secret" not in captured.err + captured.out
    assert not out.exists()


@pytest.mark.parametrize("command", ["report", "compare"])
def test_a_directory_without_a_run_is_one_error_line(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = [command, str(empty)] if command == "report" else [command, str(empty), str(empty)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: ")
    assert f"{empty} holds no run" in err[0]
    assert list(empty.iterdir()) == []
