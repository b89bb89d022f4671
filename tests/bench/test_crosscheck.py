"""The wrk cross-check: the parser on real wrk outputs, the comparison rule, and a tiny real run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.config import resolve_settings
from bench.drive import crosscheck
from bench.drive.crosscheck import CrossCheck, WrkResult, compare, find_wrk, parse_wrk
from bench.drive.postgres import EmbeddedPostgres, ExternalPostgres
from bench.drive.runner import Runner
from bench.report.render import build_report
from tests.support import fake_run

FIXTURES = Path(__file__).parent / "fixtures" / "wrk"


def test_parser_reads_real_wrk_summaries() -> None:
    assert parse_wrk((FIXTURES / "ok.txt").read_text()) == WrkResult(19171, 2.01, 9527.93, 0, 0)
    assert parse_wrk((FIXTURES / "non2xx-latency.txt").read_text()) == WrkResult(34892, 2.0, 17435.10, 34892, 0)
    assert parse_wrk((FIXTURES / "timeouts.txt").read_text()) == WrkResult(8, 3.09, 2.59, 0, 8)


def test_parser_refuses_something_else() -> None:
    with pytest.raises(ValueError, match="not a wrk summary"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_a_ratio_below_the_limit_names_the_setup_and_the_reconnect_cost() -> None:
    wrk = WrkResult(10_000, 10.0, 1000.0, 0, 0)
    fine = compare("fastapi-uvicorn", "item", 32, 1020.0, wrk, no_keep_alive=False)
    assert fine["ratio"] == 1.02
    assert fine["loadgen_limited"] is False
    assert fine["note"] == ""
    limited = compare("flask-gunicorn-sync", "health", 32, 920.0, wrk, no_keep_alive=True)
    assert limited["loadgen_limited"] is True
    assert limited["note"].startswith("the load generator limited flask-gunicorn-sync (health, 32 users)")
    assert "reconnect" in limited["note"]
    errors = compare("x", "item", 8, 1000.0, WrkResult(10, 1.0, 1000.0, 3, 1), no_keep_alive=False)
    assert errors["note"] == "wrk saw 3 non-2xx and 1 socket errors"


def test_wrk_runs_the_scenario_locust_just_measured(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, (FIXTURES / "ok.txt").read_text(), "")

    check = CrossCheck("wrk", tmp_path, duration_s=3, seed_items=500, cpus=[1], run=fake_run)
    result = check.measure("s", "http://127.0.0.1:9", "item", 8, 9500.0, no_keep_alive=False)
    assert calls == [
        ["wrk", "-t", "1", "-c", "8", "-d", "3s", "--timeout", "5s", "-s", str(tmp_path / "item.lua"),
         "http://127.0.0.1:9/items"]
    ]  # fmt: skip
    assert "math.random(1, 500)" in (tmp_path / "item.lua").read_text()
    assert (result["scenario"], result["locust_rps"], result["wrk_rps"]) == ("item", 9500.0, 9527.9)
    assert result["ratio"] == round(9500 / 9527.93, 3)
    assert (tmp_path / "s-item-u8.txt").read_text().startswith("wrk -t 1 -c 8")
    check.measure("s", "http://127.0.0.1:9", "health", 16, 1.0, no_keep_alive=True)
    assert calls[-1][-1] == "http://127.0.0.1:9/health/live"
    assert "-s" not in calls[-1]


def test_without_wrk_and_without_installing_it_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crosscheck.shutil, "which", lambda name: None)
    path, reason = find_wrk(install=False)
    assert path is None
    assert "apt-get install wrk" in reason


@pytest.mark.e2e
def test_a_run_with_cross_check_stores_the_ratios(
    monkeypatch: pytest.MonkeyPatch, pg_server: EmbeddedPostgres | ExternalPostgres, tmp_path: Path
) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed")
    monkeypatch.setenv("DATABASE_URL", pg_server.admin_url)
    overrides = {"servers": ["fastapi-uvicorn"], "scenarios": ["health", "item", "list"], "users": [4], "repeats": 2}
    overrides |= {"duration_s": 1.0, "warmup_s": 0.3, "seed_users": 20, "seed_items": 100, "seed_orders": 5}
    overrides |= {"shared_core_limit_pct": 100.0, "max_steal_pct": 100.0}  # a busy machine is not what is tested
    runner = Runner(resolve_settings("smoke", overrides), tmp_path)
    crosscheck.attach(runner, install=False)
    run_dir = runner.run()
    section = json.loads((run_dir / "metadata.json").read_text())["cross_check"]
    assert section["skipped"] == ""
    # Repeat 1 of each wrk-able scenario (the cells run in a seeded interleaved order), not the A/A control copy.
    assert sorted((r["server"], r["scenario"], r["users"]) for r in section["results"]) == [
        ("fastapi-uvicorn", "health", 4),
        ("fastapi-uvicorn", "item", 4),
    ]
    for result in section["results"]:
        assert result["wrk_rps"] > 0
        assert result["ratio"] > 0
        assert result["wrk"]["non_2xx"] == 0
    assert sorted(p.name for p in (run_dir / "raw" / "crosscheck").iterdir()) == [
        "fastapi-uvicorn-health-u4.txt",
        "fastapi-uvicorn-item-u4.txt",
        "item.lua",
    ]


def test_the_report_methodology_shows_the_ratios(tmp_path: Path) -> None:
    run_dir = fake_run.make_run(tmp_path, with_ergonomics=False, users=(8,), repeats=1, scenarios=("health",))
    metadata = json.loads((run_dir / "metadata.json").read_text())
    wrk = WrkResult(1000, 1.0, 1000.0, 0, 0)
    metadata["cross_check"] = {
        "tool": "wrk",
        "skipped": "",
        "results": [
            compare("fastapi-uvicorn", "health", 8, 1010.0, wrk, no_keep_alive=False),
            compare("flask-gunicorn-sync", "health", 8, 920.0, wrk, no_keep_alive=True),
        ],
    }
    (run_dir / "metadata.json").write_text(json.dumps(metadata))
    text = build_report(run_dir).read_text()
    assert "Cross-check: Locust rps ÷ wrk rps" in text
    assert "fastapi-uvicorn health 8 users: 1.01 (1010 ÷ 1000)" in text
    assert (
        "flask-gunicorn-sync health 8 users: 0.92 (920 ÷ 1000) — <b>the load generator limited this setup</b>" in text
    )
