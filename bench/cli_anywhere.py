"""The `bench` commands for running anywhere: containers (exec, seed, compose), distributed Locust (worker),
remote targets and the wrk cross-check (issue 12); `bench.cli` wires them in."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.argtypes import bounded_int
from bench.config import ConfigError
from bench.drive.postgres import PostgresSettings
from bench.drive.preflight import check_database
from bench.drive.servers import DEFAULT_SETUP, SETUPS


def port(value: str) -> int:
    """A TCP port number, for argparse."""
    return bounded_int(value, 1, 65535, "a port number", "port")


def _count(value: str) -> int:
    return bounded_int(value, 0, 256, "a whole number", "count")


def _host_port(value: str) -> str:
    host, sep, number = value.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    port(number)
    return value


def add_run_flags(run: argparse.ArgumentParser) -> None:
    """The `bench run` flags of this module: --cross-check, --target, --loadgen-workers, --remote-workers."""
    run.add_argument(
        "--cross-check",
        action="store_true",
        help="after each setup's cells, measure health and item with wrk too and report Locust rps / wrk rps",
    )
    run.add_argument(
        "--target",
        action="append",
        metavar="NAME=URL",
        help="measure a running deployment instead of starting NAME (a setup or framework); repeatable; "
        "DATABASE_URL then names the deployment's database (seeded; without it write scenarios are skipped)",
    )
    run.add_argument(
        "--loadgen-workers",
        type=_count,
        default=0,
        metavar="N",
        help="run Locust as a master plus N local workers (each pinned to one load-generator CPU)",
    )
    run.add_argument(
        "--remote-workers",
        type=_count,
        default=0,
        metavar="M",
        help="the master also waits for M workers started elsewhere with `bench worker --master HOST:PORT`",
    )
    run.add_argument(
        "--master-bind",
        type=_host_port,
        metavar="HOST:PORT",
        help="where the Locust master listens (default 127.0.0.1:5557; 0.0.0.0:5557 with --remote-workers)",
    )


def targets_of(args: argparse.Namespace) -> dict[str, str]:
    """The checked --target deployments (none: the usual local run, whose database is checked instead)."""
    if not args.target:
        check_database(PostgresSettings())
        return {}
    from bench.drive.remote import check_targets, parse_targets

    targets = parse_targets(args.target)
    if PostgresSettings().database_url is not None:
        check_database(PostgresSettings())
    check_targets(targets)
    return targets


def remote_runner(settings: Any, out: Path, targets: dict[str, str], console: Console) -> Any:
    """A runner that measures the targets; DATABASE_URL, if set, is their database."""
    from bench.drive.remote import RemoteRunner

    url = PostgresSettings().database_url
    return RemoteRunner(settings, out, targets, database_url=str(url) if url else None, console=console)


def attach(args: argparse.Namespace, runner: Any, settings: Any) -> None:
    """Plug the cross-check and distributed load into a runner, as the flags ask."""
    if args.cross_check:
        from bench.drive.crosscheck import attach

        attach(runner)
    if args.loadgen_workers or args.remote_workers:
        from bench.drive.distributed import attach as distribute

        distribute(
            runner, local_workers=args.loadgen_workers, remote_workers=args.remote_workers, bind=args.master_bind or ""
        )


def add_commands(sub: Any) -> None:
    """The sub-commands exec, worker, seed and compose."""
    ex = sub.add_parser(
        "exec",
        help="replace this process by one setup's server (the app containers' command)",
        description="Exec the exact command the harness uses for SETUP; sizing from BENCH_WORKERS, "
        "BENCH_THREADS, BENCH_POOL_BUDGET; app settings (DATABASE_URL, CARRIER_URL, ...) from the environment.",
    )
    ex.add_argument("setup", help=f"server setup: {', '.join(SETUPS)}")
    ex.add_argument("--framework", choices=sorted(DEFAULT_SETUP), help="refuse a setup of the other framework")
    ex.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    ex.add_argument("--port", type=port, default=8000, help="port (default 8000)")
    worker = sub.add_parser(
        "worker",
        help="run Locust workers for a `bench run --remote-workers` master on another machine",
        description="Connects to the master, runs its cells' users, sends its recorder back; reconnects for "
        "the next cell until stopped. Pin it yourself, e.g. `taskset -c 2 python -m bench worker ...`.",
    )
    worker.add_argument("--master", type=_host_port, required=True, help="the master's HOST:PORT")
    worker.add_argument("--once", action="store_true", help="serve one master (one cell), then exit")
    sub.add_parser("seed", help="migrate and seed the database named by DATABASE_URL (replaces all rows)")
    compose = sub.add_parser("compose", help="write docker-compose.yml from the setup registry")
    compose.add_argument("--check", action="store_true", help="exit 1 if the committed file differs")


def _exec(args: argparse.Namespace) -> int:
    from bench.drive.container import ExecSettings, exec_setup

    if args.setup not in SETUPS:
        raise ConfigError(f"unknown setup {args.setup!r} (FASTAPI_SETUP/FLASK_SETUP?); choose from {', '.join(SETUPS)}")
    if args.framework and SETUPS[args.setup].framework != args.framework:
        raise ConfigError(f"setup {args.setup} serves {SETUPS[args.setup].framework}, not {args.framework}")
    exec_setup(args.setup, host=args.host, port=args.port, settings=ExecSettings())
    return 0  # not reached: exec replaced this process


def _worker(args: argparse.Namespace) -> int:
    from bench.drive.distributed import run_worker

    return run_worker(args.master, once=args.once)


def _seed(args: argparse.Namespace) -> int:
    from shared_models.migrate import upgrade
    from shared_models.seed import seed

    settings = PostgresSettings()
    if settings.database_url is None:
        raise ConfigError("bench seed needs DATABASE_URL=postgresql://user:pass@host:port/db")
    check_database(settings)
    url = str(settings.database_url)
    upgrade(url)
    summary = seed(url)
    print(f"seeded: {summary.items} items, {summary.users} users in {summary.seconds:.1f} s", flush=True)
    return 0


def _compose(args: argparse.Namespace) -> int:
    from bench.drive.container import COMPOSE_PATH, render_compose

    text = render_compose()
    if args.check:
        current = COMPOSE_PATH.read_text() if COMPOSE_PATH.exists() else ""
        if current != text:
            print(f"{COMPOSE_PATH} differs from the setup registry; run `python -m bench compose`", file=sys.stderr)
            return 1
        return 0
    COMPOSE_PATH.write_text(text)
    print(COMPOSE_PATH)
    return 0


COMMANDS: dict[str, Any] = {"exec": _exec, "worker": _worker, "seed": _seed, "compose": _compose}
