"""Server setups: command lines and report labels both derive from a setup's fields, and differ only by stack."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import pytest
from flask import Flask

from bench.drive.servers import (
    BASELINE_APPS,
    DEFAULT_SETUP,
    SETUPS,
    App,
    RunningServer,
    ServerConfig,
    ServerSetup,
    Sizing,
    pool_size_per_process,
)

SIZING = Sizing(workers=3, threads=6)


def _sizing(setup: ServerSetup) -> Sizing:
    return setup.sizing(cpus=1, workers=3, threads=6)


def _flag(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


@pytest.mark.parametrize("name", sorted(SETUPS))
def test_every_setup_binds_the_given_port_with_the_given_sizing(name: str) -> None:
    argv = SETUPS[name].command(host="127.0.0.1", port=8123, sizing=SIZING)
    command = " ".join(argv)
    assert _flag(argv, "--workers") == "3"
    assert "8123" in command
    assert "access-log" not in command or "--no-access-log" in command  # access logs off everywhere
    assert "--log-level warning" in command
    assert any(SETUPS[name].app.entry in arg for arg in argv)


def _without_env(argv: list[str]) -> list[str]:
    """The server's own argv: an experiment's `env K=V …` prefix left out."""
    if argv[0].endswith("/env"):
        argv = argv[1:]
        while "=" in argv[0]:
            argv = argv[1:]
    return argv


@pytest.mark.parametrize("name", sorted(SETUPS))
def test_the_report_labels_say_what_the_command_line_does(name: str) -> None:
    setup = SETUPS[name]
    full = setup.command(host="h", port=1, sizing=_sizing(setup))
    argv = _without_env(full)
    labels = setup.describe(_sizing(setup))
    # Admission: FIFO in both FastAPI apps unless the command line turns it off; Flask's threads bound it.
    fifo = setup.framework == "fastapi" and setup.baseline is not None and "DB_FIFO_ADMISSION=false" not in full
    assert str(labels["db_admission"]).startswith("FIFO") == fifo
    assert labels["workers"] == int(_flag(argv, "--workers") or 0)
    assert labels["server"] == argv[0].rsplit("/", 1)[-1]
    # Threads: only a gthread worker has them, and the label is the number on its command line.
    assert labels["threads"] == int(_flag(argv, "--threads") or 1)
    assert labels["worker_connections"] == (int(c) if (c := _flag(argv, "--worker-connections")) else None)
    if setup.server == "gunicorn":
        assert labels["worker_class"] == _flag(argv, "--worker-class")
        assert "--no-control-socket" in argv
    else:
        assert str(labels["worker_class"]) == f"uvicorn ({_flag(argv, '--loop')} + {_flag(argv, '--http')})"
    # Keep-alive: the value on the command line, except where gunicorn's sync worker ignores it.
    keep_alive = _flag(argv, "--keep-alive") or _flag(argv, "--timeout-keep-alive")
    expected = "none (sync worker)" if _flag(argv, "--worker-class") == "sync" else f"{keep_alive} s"
    assert labels["keep_alive"] == expected
    assert labels["db_driver"] == setup.app.db_driver
    assert labels["http_client"] == setup.app.upstream_client


def test_the_same_flags_everywhere_except_where_the_stack_differs() -> None:
    commands = {name: _without_env(s.command(host="h", port=1, sizing=SIZING)) for name, s in SETUPS.items()}
    keep_alives = {_flag(cmd, "--keep-alive") or _flag(cmd, "--timeout-keep-alive") for cmd in commands.values()}
    assert len(keep_alives) == 1  # the same idle keep-alive everywhere it exists
    by_server: dict[str, set[tuple[str, ...]]] = {}
    for name, cmd in commands.items():
        # Without the app and the worker class with its own options, setups of one server run the same command.
        rest = [arg.replace(SETUPS[name].app.entry, "APP") for arg in cmd]
        for option in ("--worker-class", "--threads", "--worker-connections"):
            if option in rest:
                del rest[rest.index(option) : rest.index(option) + 2]
        by_server.setdefault(SETUPS[name].server, set()).add(tuple(rest))
    assert {server: len(variants) for server, variants in by_server.items()} == {"uvicorn": 1, "gunicorn": 1}


@pytest.mark.parametrize("stack", sorted(BASELINE_APPS))
def test_each_stack_has_one_baseline_served_like_its_main_setup(stack: str) -> None:
    baselines = [s for s in SETUPS.values() if s.stack == stack and s.baseline is None]
    assert len(baselines) == 1
    baseline = baselines[0]
    assert all(s.baseline == baseline.name for s in SETUPS.values() if s.stack == stack and s is not baseline)
    assert [sc for sc in ("health", "item", "list", "order", "journey", "upstream") if baseline.supports(sc)] == [
        "health",
        "item",
        "list",
    ]
    # The same server command as a setup of our app on that stack: only the app differs.
    twins = [
        s
        for s in SETUPS.values()
        if s.stack == stack and s is not baseline and (s.server, s.worker_class, s.workers) == (
            baseline.server, baseline.worker_class, baseline.workers) and s.threads is None
    ]  # fmt: skip
    assert twins
    ours = twins[0].command(host="h", port=1, sizing=SIZING)
    theirs = baseline.command(host="h", port=1, sizing=SIZING)
    assert [a.replace(twins[0].app.entry, "APP") for a in ours] == [
        a.replace(baseline.app.entry, "APP") for a in theirs
    ]


def test_the_thread_sweep_runs_distinct_thread_counts_on_the_upstream_scenario_only() -> None:
    sweep = [s for s in SETUPS.values() if s.threads is not None]
    counts = [s.sizing(cpus=1, workers=1, threads=8).threads for s in sweep]
    assert len(set(counts)) == len(sweep) >= 3
    for setup in sweep:
        assert setup.worker_class == "gthread"
        assert setup.supports("upstream")
        assert not setup.supports("item")
        argv = setup.command(host="h", port=1, sizing=setup.sizing(cpus=1, workers=1, threads=8))
        assert _flag(argv, "--threads") == str(setup.threads)


@pytest.mark.parametrize("cpus", [1, 2, 4])
def test_documented_worker_counts_follow_each_servers_advice(cpus: int) -> None:
    documented = [s for s in SETUPS.values() if s.workers != "equal"]
    assert {s.server for s in documented} == {"uvicorn", "gunicorn"}
    for setup in documented:
        workers = setup.sizing(cpus=cpus, workers=7, threads=8).workers
        # gunicorn's documentation: (2 x cores) + 1; uvicorn's: one process per core.
        assert workers == (2 * cpus + 1 if setup.server == "gunicorn" else cpus), setup.name
    for setup in SETUPS.values():
        if setup.workers == "equal":
            assert setup.sizing(cpus=cpus, workers=7, threads=8).workers == 7


def test_setups_name_what_they_serve() -> None:
    assert DEFAULT_SETUP == {"fastapi": "fastapi-uvicorn", "flask": "flask-gunicorn-sync"}
    for name, setup in SETUPS.items():
        assert name.startswith((setup.framework, "baseline-"))
        assert name.startswith("baseline-") == (setup.baseline is None)
        if setup.baseline is not None:
            assert SETUPS[setup.baseline].stack == setup.stack


@pytest.mark.parametrize(("budget", "workers", "expected"), [(16, 1, 16), (16, 2, 8), (16, 3, 5), (2, 4, 1)])
def test_one_pool_budget_is_split_over_the_workers(budget: int, workers: int, expected: int) -> None:
    assert pool_size_per_process(budget, workers) == expected


def _environment(setup: ServerSetup) -> dict[str, str]:
    return ServerConfig(
        setup=setup,
        database_url="postgresql://u@h/db",
        carrier_url="http://c",
        workers=2,
        pool_budget=16,
        cpus=[0],
        app_env={"APP_ENV": "production"},
    ).environment()


def test_server_environment_is_clean_and_identical_across_frameworks() -> None:
    envs = {name: _environment(setup) for name, setup in SETUPS.items() if setup.workers == "equal"}
    first = next(iter(envs.values()))
    assert all(env == first for env in envs.values())
    assert first["DB_POOL_SIZE"] == "8"
    assert first["DB_MAX_OVERFLOW"] == "0"
    assert first["APP_ENV"] == "production"
    assert "HOME" not in first  # nothing leaks in from the shell that started the benchmark


def test_documented_worker_counts_split_the_same_pool_budget() -> None:
    for setup in SETUPS.values():
        env = _environment(setup)
        workers = setup.sizing(cpus=1, workers=2, threads=8).workers
        assert int(env["DB_POOL_SIZE"]) == pool_size_per_process(16, workers)


# A gunicorn start that CI saw fail: both workers refused the settings, and the arbiter's chained traceback (the
# two exits raced) pushed the cause out of the log's last 20 lines.
_SITE = "/venv/lib/python3.11/site-packages/gunicorn"
_HALT = [
    "Traceback (most recent call last):",
    f'  File "{_SITE}/arbiter.py", line 683, in reap_workers',
    "    raise HaltServer(reason, self.WORKER_BOOT_ERROR)",
    "gunicorn.errors.HaltServer: <HaltServer 'Worker failed to boot.' 3>",
]
CRASH_LOG = [
    "invalid app settings: settings: Value error, JWT_SECRET is the built-in development default; set JWT_SECRET",
    "invalid app settings: settings: Value error, JWT_SECRET is the built-in development default; set JWT_SECRET",
    "[2026-12-02 17:33:25 +0000] [10218] [ERROR] Worker (pid:10223) exited with code 3.",
    "[2026-12-02 17:33:25 +0000] [10218] [ERROR] Worker (pid:10225) exited with code 3.",
    *_HALT,
    "",
    "During handling of the above exception, another exception occurred:",
    "",
    *[f'  File "{_SITE}/arbiter.py", line {n}, in run' for n in range(200, 212)],
    *_HALT,
]


def test_a_failed_start_names_the_settings_error_even_when_the_tail_lost_it(tmp_path: Path) -> None:
    server = RunningServer(
        ServerConfig(setup=SETUPS["flask-gunicorn-sync"], database_url="postgresql://x@127.0.0.1/x", carrier_url=""),
        log_dir=tmp_path,
    )
    server.log_path.write_text("\n".join(CRASH_LOG) + "\n")
    assert "JWT_SECRET" not in server.log_tail()
    excerpt = server._failure_excerpt()
    assert excerpt.startswith(f"first error in {server.log_path}:\ninvalid app settings: settings: Value error, JWT")
    assert excerpt.endswith(_HALT[-1])


async def _carrier_client_of(entry: str) -> object:
    """Build the app an entry point names and return the upstream client its own code creates."""
    module, factory = entry.split(":")
    if module == "flask_app.gevent":
        # Its factory builds flask_app's app after patching psycopg2 for gevent, process-wide: read the app it builds.
        module = "flask_app"
    app = getattr(importlib.import_module(module), factory)()
    if isinstance(app, Flask):
        return app.extensions["carrier"]
    async with app.router.lifespan_context(app):  # the FastAPI apps open their client in the lifespan
        client: object = app.state.carrier_client
        return client


@pytest.mark.parametrize("app", sorted({s.app for s in SETUPS.values() if s.app.upstream_client != "—"}, key=str))
def test_the_upstream_client_label_names_the_client_the_app_creates(app: App) -> None:
    client = asyncio.run(_carrier_client_of(app.entry))
    assert app.upstream_client.split()[0] == type(client).__module__.split(".")[0]
