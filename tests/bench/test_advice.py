"""`bench advise RUN --mix ... --p99 ...` and the report's 'your workload' rows, on a fixture run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main
from bench.report.adapt import load
from bench.report.advice import parse_p99
from bench.report.facts import mix_advice, setup_capacities, typical_mixes
from tests.support import fake_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_run.make_run(tmp_path_factory.mktemp("advise"), scenarios=("item", "list", "order", "upstream"))


def test_p99_durations_parse_and_bad_ones_are_named() -> None:
    assert parse_p99("100ms") == 100.0
    assert parse_p99("0.25s") == 250.0
    assert parse_p99("80") == 80.0
    with pytest.raises(ValueError, match="--p99 'fast'"):
        parse_p99("fast")


def test_a_mix_gets_one_verdict_with_a_ci(run_dir: Path) -> None:
    a = load(run_dir)
    advice = mix_advice(a, "upstream=1", 10_000.0)
    # fixture: best FastAPI setup (uvicorn, 3.0× base) vs best Flask setup (gthread, 1.5× base) on upstream
    assert advice.best == {"fastapi": "fastapi-uvicorn", "flask": "flask-gunicorn-gthread"}
    assert advice.ratio == pytest.approx(2.0, rel=0.05)
    assert advice.ratio_ci is not None
    assert advice.ratio_ci[0] > 1
    assert advice.verdict.startswith("FastAPI: ")
    _, basis = setup_capacities(a, 10_000.0)
    assert basis.startswith("closed-loop estimate")


def test_the_report_rows_cover_the_typical_mixes(run_dir: Path) -> None:
    rows = typical_mixes(load(run_dir), 10_000.0)
    assert len(rows) == 3
    by_name = {name: advice for name, _, advice in rows}
    gateway = by_name["Integration gateway (mostly upstream calls)"]
    assert not isinstance(gateway, str)
    assert gateway.verdict.startswith("FastAPI: ")


def test_cli_prints_the_verdict(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advise", str(run_dir), "--mix", "item=0.5,upstream=0.5", "--p99", "10s"]) == 0
    out = capsys.readouterr().out
    assert "verdict: FastAPI: FastAPI ÷ Flask" in out
    assert "fastapi-uvicorn" in out


@pytest.mark.parametrize(
    ("mix", "message"),
    [
        ("item=0.5,nope=0.5", "unknown scenario 'nope'"),
        ("item=0.5,list=0.4", "sum to 0.9, not 1"),
        ("item=1.5,list=-0.5", "weight of 'list' must be a finite number ≥ 0"),
    ],
)
def test_cli_bad_mix_names_the_part(run_dir: Path, capsys: pytest.CaptureFixture[str], mix: str, message: str) -> None:
    assert main(["advise", str(run_dir), "--mix", mix]) == 2
    assert message in capsys.readouterr().err
