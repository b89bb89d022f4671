"""docker-compose.yml: generated from the setup registry, and every service wired as the README describes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.cli import main
from bench.drive.container import COMPOSE_PATH, compose_spec, render_compose, setup_argv, setup_sizing
from bench.drive.postgres import SERVER_SETTINGS
from bench.drive.servers import DEFAULT_SETUP, FRAMEWORKS, SETUPS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_PATH.read_text())
    assert isinstance(data, dict)
    return data


def test_the_committed_file_is_the_generated_one() -> None:
    assert COMPOSE_PATH.read_text() == render_compose(), "run `python -m bench compose` and commit the result"
    assert main(["compose", "--check"]) == 0


def test_services_and_their_wiring(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "postgres",
        "seed",
        "stub",
        "fastapi",
        "flask",
        "locust-master",
        "locust-worker",
        "harness",
    }
    assert services["postgres"]["image"] == "postgres:15"
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    # The container runs the harness's PostgreSQL settings (only listening is opened to the compose network).
    pg_flags = services["postgres"]["command"][2::2]
    assert pg_flags == [f"{k}={v}" for k, v in SERVER_SETTINGS.items() if k != "listen_addresses"]
    assert services["seed"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("stub", "fastapi", "flask"):
        assert "/health" in services[name]["healthcheck"]["test"][-1]
    for framework in FRAMEWORKS:
        app = services[framework]
        assert app["depends_on"]["seed"] == {"condition": "service_completed_successfully"}
        assert app["depends_on"]["stub"] == {"condition": "service_healthy"}
        assert app["environment"]["CARRIER_URL"] == "http://stub:8099"
        assert app["environment"]["DATABASE_URL"].startswith("postgresql://postgres:bench@postgres:5432/")
        assert len(app["environment"]["JWT_SECRET"]) >= 32
    master, worker = services["locust-master"], services["locust-worker"]
    assert "--master" in master["command"]
    assert master["depends_on"] == {f: {"condition": "service_healthy"} for f in FRAMEWORKS}
    assert worker["command"][-2:] == ["--master-host", "locust-master"]
    assert "ports" not in worker  # --scale locust-worker=N needs workers without fixed host ports
    harness = services["harness"]
    assert harness["profiles"] == ["harness"]
    assert harness["volumes"] == ["./results:/app/results"]
    assert harness["command"][-2:] == ["--out", "/app/results"]
    assert harness["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name, service in services.items():
        if name != "postgres":
            assert service["build"] == "."
            assert service["image"] == "fastapi-flask-bench"


def test_app_commands_come_from_the_registry(compose: dict[str, Any]) -> None:
    for framework in FRAMEWORKS:
        command = compose["services"][framework]["command"]
        variable = f"${{{framework.upper()}_SETUP:-{DEFAULT_SETUP[framework]}}}"
        assert command == ["python", "-m", "bench", "exec", variable, "--framework", framework, "--port", "8000"]
    listed = compose["x-setup-commands"]
    assert set(listed) == set(SETUPS)
    for name in SETUPS:
        argv = SETUPS[name].command(host="0.0.0.0", port=8000, sizing=setup_sizing(name, workers=1, threads=8, cpus=1))
        programs = [a for a in argv if a.startswith("/")]  # `env` and the server, found on the container's PATH
        assert programs
        assert all(Path(p).parent.name == "bin" for p in programs)
        assert listed[name] == " ".join(Path(a).name if a in programs else a for a in argv)


def test_exec_runs_exactly_the_registry_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr("os.execvp", lambda program, argv: calls.append((program, list(argv))))
    monkeypatch.setenv("BENCH_WORKERS", "4")
    monkeypatch.setenv("BENCH_POOL_BUDGET", "16")
    monkeypatch.delenv("DB_POOL_SIZE", raising=False)
    assert main(["exec", "flask-gunicorn-gthread", "--framework", "flask", "--port", "8000"]) == 0
    sizing = setup_sizing("flask-gunicorn-gthread", workers=4, threads=8)
    expected = setup_argv("flask-gunicorn-gthread", host="0.0.0.0", port=8000, sizing=sizing)
    assert calls == [("gunicorn", expected)]
    assert os.environ["DB_POOL_SIZE"] == "4"  # 16 connections over 4 workers, as the harness splits them
    monkeypatch.delenv("DB_POOL_SIZE")
    assert " ".join(expected) in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["exec", "flask-gunicorn-sync", "--framework", "fastapi"], "serves flask, not fastapi"),
        (["exec", "no-such-setup"], "unknown setup 'no-such-setup'"),
    ],
)
def test_exec_refuses_a_wrong_setup(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_docker_compose_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client here")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"docker has no compose plugin here: {probe.stderr.strip() or probe.stdout.strip()}")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_PATH), "config", "--quiet"], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_spec_is_plain_data() -> None:
    assert yaml.safe_load(render_compose()) == compose_spec()
