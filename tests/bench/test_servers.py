"""Server setups are documented command lines that differ only in the stack, never in sizing or settings."""

from __future__ import annotations

import pytest

from bench.drive.servers import DEFAULT_SETUP, KEEP_ALIVE_S, SETUPS, ServerConfig, pool_size_per_process


@pytest.mark.parametrize("name", sorted(SETUPS))
def test_every_setup_binds_the_given_port_with_the_given_workers(name: str) -> None:
    command = " ".join(SETUPS[name].command(host="127.0.0.1", port=8123, workers=3, threads=6))
    assert "--workers 3" in command
    assert "8123" in command
    assert "access-log" not in command or "--no-access-log" in command  # access logs off everywhere
    assert "--log-level warning" in command


def test_setups_differ_only_where_the_stack_differs() -> None:
    commands = {name: s.command(host="h", port=1, workers=2, threads=4) for name, s in SETUPS.items()}
    assert "--threads" in commands["flask-gunicorn-gthread"]
    assert all("--threads" not in cmd for name, cmd in commands.items() if name != "flask-gunicorn-gthread")
    for name, cmd in commands.items():
        joined = " ".join(cmd)
        # The same idle keep-alive everywhere it exists (gunicorn's sync worker has none).
        assert f"--keep-alive {KEEP_ALIVE_S}" in joined or f"--timeout-keep-alive {KEEP_ALIVE_S}" in joined, name
        if SETUPS[name].server == "gunicorn":
            assert "--no-control-socket" in cmd
    assert "uvicorn_worker.UvicornWorker" in commands["fastapi-gunicorn"]
    assert {"uvloop", "httptools"} <= set(commands["fastapi-uvicorn"])
    assert DEFAULT_SETUP == {"fastapi": "fastapi-uvicorn", "flask": "flask-gunicorn-sync"}


@pytest.mark.parametrize(("budget", "workers", "expected"), [(16, 1, 16), (16, 2, 8), (16, 3, 5), (2, 4, 1)])
def test_one_pool_budget_is_split_over_the_workers(budget: int, workers: int, expected: int) -> None:
    assert pool_size_per_process(budget, workers) == expected


def test_server_environment_is_clean_and_identical_across_frameworks() -> None:
    envs = {
        name: ServerConfig(
            setup=setup,
            database_url="postgresql://u@h/db",
            carrier_url="http://c",
            workers=2,
            pool_budget=16,
            app_env={"APP_ENV": "production"},
        ).environment()
        for name, setup in SETUPS.items()
    }
    first = next(iter(envs.values()))
    assert all(env == first for env in envs.values())
    assert first["DB_POOL_SIZE"] == "8"
    assert first["DB_MAX_OVERFLOW"] == "0"
    assert first["APP_ENV"] == "production"
    assert "HOME" not in first  # nothing leaks in from the shell that started the benchmark
