"""`python -m bench`: run the matrix, serve one app, build a report, compare two runs, measure ergonomics."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from bench.config import PROFILES_PATH, ConfigError, resolve_settings
from bench.drive.postgres import PostgresSettings, PostgresUnavailableError
from bench.drive.preflight import check_database
from bench.drive.processes import exit_status, stop_signals_as_interrupt
from bench.drive.servers import DEFAULT_SETUP, SETUPS, RunningServer, ServerConfig, ServerStartError, free_port
from bench.registry import SCENARIOS

RESULTS = Path(__file__).resolve().parent.parent / "results"
_console = Console(stderr=True, soft_wrap=True)  # logs get whole lines, not 80-column fragments


def _csv_list(value: str) -> list[str]:
    items = [part.strip() for part in value.split(",") if part.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list, got an empty value")
    return items


def _int_list(value: str) -> list[int]:
    try:
        return [int(part) for part in _csv_list(value)]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from exc


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a port number, got {value!r}") from exc
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1..65535, got {port}")
    return port


def _existing_dir(value: str) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is not a directory")
    return path


def require_run_dir(path: Path, what: str) -> Path:
    """The directory of a finished or interrupted run, or a ConfigError naming the path."""
    if not any((path / name).is_file() for name in ("summary.csv", "summary.json")):
        raise ConfigError(f"{what}: {path} holds no run (no summary.csv or summary.json); pass results/<run>")
    return path


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface with one sub-parser per command."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run the benchmark matrix and write results/<run>/",
        description="Run every (server setup × scenario × users × repeat) cell and write a run "
        "directory with raw data, summary.csv and report.html.",
    )
    run.add_argument("--profile", default="quick", help="profile in profiles.toml: smoke, quick (default), full")
    run.add_argument("--profiles-file", type=Path, default=PROFILES_PATH, help="TOML file with the profiles")
    run.add_argument("--servers", type=_csv_list, help=f"comma-separated setups from: {', '.join(SETUPS)}")
    run.add_argument("--scenarios", type=_csv_list, help=f"comma-separated scenarios from: {', '.join(SCENARIOS)}")
    run.add_argument("--users", type=_int_list, help="comma-separated concurrency levels, e.g. 32,128")
    run.add_argument("--repeats", type=int, help="repeats of every cell")
    run.add_argument("--duration", dest="duration_s", type=float, help="measured seconds per cell")
    run.add_argument("--warmup", dest="warmup_s", type=float, help="warm-up seconds per cell (not measured)")
    run.add_argument("--workers", type=int, help="server workers (0 = one per server core)")
    run.add_argument("--threads", type=int, help="threads per gthread worker")
    run.add_argument("--pool-budget", type=int, help="total DB connections per setup, split over workers")
    run.add_argument("--carrier-delay-ms", type=int, help="upstream delay of the shipping-quote scenario")
    run.add_argument("--loadgen-processes", type=int, help="Locust processes")
    run.add_argument("--out", type=Path, default=RESULTS, help="results root (default: results/)")
    run.add_argument("--no-report", action="store_true", help="skip the ergonomics measurements and the report")
    _add_anywhere_run_flags(run)

    serve = sub.add_parser("serve", help="start PostgreSQL, seed, the carrier stub and one app; Ctrl-C stops all")
    serve.add_argument("framework", choices=sorted(DEFAULT_SETUP), help="which app")
    serve.add_argument("--server", choices=sorted(SETUPS), help="server setup (default: the framework's usual one)")
    serve.add_argument("--port", type=_port, default=8000, help="port on 127.0.0.1 (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")

    report = sub.add_parser("report", help="regenerate report.html/report.md of a run from its raw data")
    report.add_argument("run_dir", type=_existing_dir, help="results/<run> (or results/latest)")

    compare = sub.add_parser("compare", help="compare two runs cell by cell, with significance")
    compare.add_argument("run_a", type=_existing_dir, help="baseline run directory")
    compare.add_argument("run_b", type=_existing_dir, help="new run directory")
    compare.add_argument(
        "--fail-above",
        type=float,
        default=5.0,
        metavar="PCT",
        help="exit 1 if a significant regression exceeds PCT percent (default 5)",
    )
    compare.add_argument("--force", action="store_true", help="compare even if the setups differ")
    compare.add_argument("--out", type=Path, help="where to write compare.html/md (default: RUN_B)")

    ergo = sub.add_parser("ergonomics", help="measure the ergonomics of both apps and print JSON")
    ergo.add_argument("--out", type=Path, help="also write the JSON to this file")
    _add_anywhere_commands(sub)
    return parser


# --- running anywhere: containers, cross-check (issue 12) -----------------------------------------------------
def _count(value: str) -> int:
    try:
        count = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from exc
    if not 0 <= count <= 256:
        raise argparse.ArgumentTypeError(f"must be 0..256, got {count}")
    return count


def _host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    _port(port)
    return value


def _add_anywhere_run_flags(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--cross-check",
        action="store_true",
        help="after each setup's cells, measure health and item with wrk too and report Locust rps / wrk rps",
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


def _attach_anywhere(args: argparse.Namespace, runner: Any, settings: Any) -> None:
    if args.cross_check:
        from bench.drive.crosscheck import attach

        attach(runner)
    if args.loadgen_workers or args.remote_workers:
        from bench.drive.distributed import attach as distribute

        distribute(
            runner, local_workers=args.loadgen_workers, remote_workers=args.remote_workers, bind=args.master_bind or ""
        )


def _add_anywhere_commands(sub: Any) -> None:
    ex = sub.add_parser(
        "exec",
        help="replace this process by one setup's server (the app containers' command)",
        description="Exec the exact command the harness uses for SETUP; sizing from BENCH_WORKERS, "
        "BENCH_THREADS, BENCH_POOL_BUDGET; app settings (DATABASE_URL, CARRIER_URL, ...) from the environment.",
    )
    ex.add_argument("setup", help=f"server setup: {', '.join(SETUPS)}")
    ex.add_argument("--framework", choices=sorted(DEFAULT_SETUP), help="refuse a setup of the other framework")
    ex.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    ex.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
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


def _run(args: argparse.Namespace) -> int:
    from bench.drive.runner import Runner

    overrides = {
        key: getattr(args, key)
        for key in (
            "servers",
            "scenarios",
            "users",
            "repeats",
            "duration_s",
            "warmup_s",
            "workers",
            "threads",
            "pool_budget",
            "carrier_delay_ms",
            "loadgen_processes",
        )
    }
    settings = resolve_settings(args.profile, overrides, path=args.profiles_file)
    check_database(PostgresSettings())
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        probe = args.out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out {args.out} is not writable: {exc.strerror}") from exc
    if (args.loadgen_workers or args.remote_workers) and settings.loadgen_processes > 1:
        raise ConfigError("use either --loadgen-workers/--remote-workers or --loadgen-processes, not both")
    runner = Runner(settings, args.out, console=_console)
    _attach_anywhere(args, runner, settings)
    started = time.monotonic()
    _console.print(
        f"run {runner.run_id}: {len(runner.cells)} cells, profile {settings.profile}, "
        f"server CPUs {list(runner.placement.server_cpus)}, others {list(runner.placement.other_cpus)}"
    )
    run_dir = runner.run(with_ergonomics=not args.no_report)
    if not args.no_report:
        from bench.report.render import build_report

        build_report(run_dir)
    _console.print(f"finished in {time.monotonic() - started:.0f} s")
    print(run_dir)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from bench.drive.carrier_stub import CarrierStub
    from bench.drive.postgres import database_server
    from shared_models.migrate import upgrade
    from shared_models.seed import seed

    setup = SETUPS[args.server or DEFAULT_SETUP[args.framework]]
    if setup.framework != args.framework:
        raise ConfigError(f"--server {setup.name} serves {setup.framework}, not {args.framework}")
    check_database(PostgresSettings())
    with database_server() as pg:
        pg.create_database("serve")
        url = pg.url_for("serve")
        upgrade(url)
        summary = seed(url)
        _console.print(f"database {url}: {summary.items} items, {summary.users} users ({summary.seconds:.1f} s)")
        with CarrierStub(port=free_port(), delay_ms=50) as stub:
            config = ServerConfig(
                setup=setup,
                database_url=url,
                carrier_url=stub.url,
                workers=args.workers,
                port=args.port,
                app_env={"LOG_LEVEL": "info"},
            )
            with RunningServer(config) as live:
                _console.print(f"{setup.name}: {' '.join(live.command)}")
                docs = "/docs" if setup.framework == "fastapi" else "/openapi.json"
                print(
                    f"serving {args.framework} at {live.url}  (API description: {live.url}{docs})  — Ctrl-C to stop",
                    flush=True,  # a log or a container sees it now, not when the buffer fills
                )
                try:
                    while live.tree():
                        time.sleep(0.5)
                except KeyboardInterrupt:
                    pass
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    handlers: dict[str, Any] = {"run": _run, "serve": _serve, "exec": _exec, "seed": _seed, "compose": _compose}
    handlers["worker"] = _worker
    if args.command in handlers:
        return int(handlers[args.command](args))
    if args.command == "report":
        from bench.report.render import build_report

        print(build_report(require_run_dir(args.run_dir, "report")))
        return 0
    if args.command == "compare":
        from bench.report.compare import compare_main

        return compare_main(
            require_run_dir(args.run_a, "compare RUN_A"),
            require_run_dir(args.run_b, "compare RUN_B"),
            fail_above_pct=args.fail_above,
            force=args.force,
            out_dir=args.out,
        )
    from bench.ergonomics import main as ergonomics_main

    return ergonomics_main(["--out", str(args.out)] if args.out else [])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; bad input gives one clear line naming the problem and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        # SIGTERM and SIGHUP (containers, CI, a closed terminal) unwind exactly like Ctrl-C: every child stops.
        with stop_signals_as_interrupt():
            return _dispatch(args)
    except (ConfigError, PostgresUnavailableError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        # Only environment-backed settings classes get here (flags are validated by resolve_settings).
        first = exc.errors()[0]
        name = "_".join(str(part) for part in first["loc"]).upper()
        print(f"error: environment variable {name}: {first['msg']}", file=sys.stderr)
        return 2
    except ServerStartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print("interrupted", file=sys.stderr)
        return exit_status(exc)
