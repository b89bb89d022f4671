"""Remote targets: deployments that already run, measured with the same scenarios, checks and run format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.cli import main
from bench.config import ConfigError, RunSettings, resolve_settings
from bench.drive.remote import NO_DATABASE, RemoteRunner, parse_targets
from bench.drive.servers import RunningServer, free_port


def test_targets_name_a_setup_or_a_framework() -> None:
    assert parse_targets(["fastapi=http://10.0.0.5:8000/", "flask-gunicorn-gthread=https://flask.example"]) == {
        "fastapi-uvicorn": "http://10.0.0.5:8000",
        "flask-gunicorn-gthread": "https://flask.example",
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("fastapi", "expected NAME=URL"),
        ("django=http://x:1", "neither a framework nor a setup"),
        ("flask=ftp://x", "is not an http(s)://HOST[:PORT] URL"),
        ("flask=http://", "is not an http(s)://HOST[:PORT] URL"),
    ],
)
def test_bad_targets_name_the_flag(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match="--target") as info:
        parse_targets([value])
    assert message in str(info.value)


def test_an_unreachable_target_is_one_error_line_before_anything_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["run", "--profile", "smoke", "--target", f"flask={url}", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"error: --target flask-gunicorn-sync={url}: unreachable (ConnectError")
    assert not (tmp_path / "out").exists()


def _settings(scenarios: list[str]) -> RunSettings:
    overrides = {"scenarios": scenarios, "users": [2], "duration_s": 1.0, "warmup_s": 0.3}
    # The shared 2-core test machine is busy by design; the environment limits are not what is tested here.
    overrides |= {"shared_core_limit_pct": 100.0, "max_steal_pct": 100.0}
    return resolve_settings("smoke", overrides | {"seed_users": 20, "seed_items": 200, "seed_orders": 20})


@pytest.mark.e2e
def test_both_apps_measured_as_targets_with_their_database(
    start_app: Callable[..., RunningServer], fresh_db: Callable[[], str], tmp_path: Path
) -> None:
    database_url = fresh_db()
    fastapi, flask = (start_app(framework, database_url=database_url) for framework in ("fastapi", "flask"))
    targets = parse_targets([f"fastapi={fastapi.url}", f"flask={flask.url}"])
    runner = RemoteRunner(_settings(["item", "order"]), tmp_path, targets, database_url=database_url)
    run_dir = runner.run()
    rows = json.loads((run_dir / "summary.json").read_text())
    assert {(r["server"], r["scenario"]) for r in rows} == {
        (s, c) for s in ("fastapi-uvicorn", "flask-gunicorn-sync") for c in ("item", "order")
    }
    for row in rows:
        assert row["valid"], row["invalid_reason"]  # verification, the write invariant and the reset all held
        assert row["rps"] > 0
    metadata = json.loads((run_dir / "metadata.json").read_text())
    assert metadata["placement"]["external"] is True
    assert metadata["placement"]["server_cpus"] == []
    assert metadata["servers"]["fastapi-uvicorn"]["command"] == f"external deployment at {fastapi.url}"
    assert not (run_dir / "raw" / "servers").exists() or not any((run_dir / "raw" / "servers").iterdir())


@pytest.mark.e2e
def test_without_database_url_write_scenarios_are_skipped_with_the_reason(
    start_app: Callable[..., RunningServer], fresh_db: Callable[[], str], tmp_path: Path
) -> None:
    flask = start_app("flask", database_url=fresh_db())
    runner = RemoteRunner(_settings(["item", "order"]), tmp_path, {"flask-gunicorn-sync": flask.url}, database_url=None)
    rows = {r["scenario"]: r for r in json.loads((runner.run() / "summary.json").read_text())}
    assert rows["item"]["valid"], rows["item"]["invalid_reason"]
    assert rows["order"]["valid"] is False
    assert rows["order"]["invalid_reason"] == NO_DATABASE
    assert rows["order"]["requests"] == 0
