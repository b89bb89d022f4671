"""`python -m bench`: run the matrix, serve one app, build a report, compare two runs, measure ergonomics."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from rich.console import Console

from bench import cli_anywhere as anywhere
from bench.config import PROFILES_PATH, ConfigError, resolve_settings
from bench.drive.postgres import PostgresSettings, PostgresUnavailableError
from bench.drive.preflight import check_database
from bench.drive.processes import exit_status, stop_signals_as_interrupt
from bench.drive.servers import DEFAULT_SETUP, SETUPS, RunningServer, ServerConfig, ServerStartError, free_port
from bench.registry import SCENARIOS

if TYPE_CHECKING:
    from bench.drive.progress import SideMeasurement

RESULTS = Path(__file__).resolve().parent.parent / "results"
_console = Console(stderr=True, soft_wrap=True)  # logs get whole lines, not 80-column fragments


def _csv_list(value: str) -> list[str]:
    items = [part.strip() for part in value.split(",") if part.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list, got an empty value")
    return items


def _open_scenarios(value: str) -> list[str]:
    """--open-scenarios: a comma-separated list, or `none` for no open-loop phase."""
    return [] if value.strip().lower() == "none" else _csv_list(value)


def _int_list(value: str) -> list[int]:
    try:
        return [int(part) for part in _csv_list(value)]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {value!r}") from exc


def _float_list(value: str) -> list[float]:
    try:
        return [float(part) for part in _csv_list(value)]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {value!r}") from exc


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
    run.add_argument("--slo-p99-ms", type=float, help="p99 target of the capacity search (default 100)")
    run.add_argument("--open-rates", type=_float_list, help="fixed open-loop rates (rps) instead of capacity fractions")
    run.add_argument(
        "--open-scenarios",
        type=_open_scenarios,
        help="scenarios with open-loop cells (default: the profile's); 'none' for no open-loop phase",
    )
    run.add_argument("--aa-control", help="setup started twice as an A/A control pair ('' = no control)")
    run.add_argument("--order-seed", type=int, help="seed of the interleaved cell order (default: a new one)")
    run.add_argument("--max-steal-pct", type=float, help="a cell with more CPU steal than this is invalid")
    run.add_argument(
        "--shared-core-limit-pct", type=float, help="a cell whose busiest non-server core exceeds this is invalid"
    )
    run.add_argument("--out", type=Path, default=RESULTS, help="results root (default: results/)")
    run.add_argument("--no-report", action="store_true", help="skip the ergonomics measurements and the report")
    anywhere.add_run_flags(run)

    serve = sub.add_parser("serve", help="start PostgreSQL, seed, the carrier stub and one app; Ctrl-C stops all")
    serve.add_argument("framework", choices=sorted(DEFAULT_SETUP), help="which app")
    serve.add_argument("--server", choices=sorted(SETUPS), help="server setup (default: the framework's usual one)")
    serve.add_argument("--port", type=anywhere.port, default=8000, help="port on 127.0.0.1 (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")

    report = sub.add_parser("report", help="regenerate report.html/report.md of a run from its raw data")
    report.add_argument("run_dir", type=_existing_dir, help="results/<run> (or results/latest)")
    report.add_argument("--screenshots", action="store_true", help="also save screenshots/first-screen.png (Chromium)")

    compare = sub.add_parser("compare", help="compare two runs group by group, with CIs across repeats")
    compare.add_argument("run_a", type=_existing_dir, help="baseline run directory")
    compare.add_argument("run_b", type=_existing_dir, help="new run directory")
    compare.add_argument(
        "--fail-above",
        type=float,
        default=5.0,
        metavar="PCT",
        help="exit 1 if a called regression exceeds PCT percent (default 5)",
    )
    compare.add_argument("--force", action="store_true", help="compare even if the setups differ")
    compare.add_argument("--out", type=Path, help="where to write compare.html/md (default: RUN_B)")

    ergo = sub.add_parser("ergonomics", help="measure the ergonomics of both apps and print JSON")
    ergo.add_argument("--out", type=Path, help="also write the JSON to this file")
    _add_advise(sub)
    anywhere.add_commands(sub)
    return parser


# --- `bench advise`: one verdict for a team's request mix and p99 target (bench.report.advice) ---------------
def _p99(value: str) -> float:
    from bench.report.advice import parse_p99

    try:
        return parse_p99(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _add_advise(sub: Any) -> None:
    advise = sub.add_parser("advise", help="combine a run's scenarios by your request mix into one verdict")
    advise.add_argument("run_dir", type=_existing_dir, help="results/<run> (or results/latest)")
    advise.add_argument("--mix", required=True, help="SCENARIO=WEIGHT,... summing to 1, e.g. item=0.7,list=0.3")
    advise.add_argument("--p99", type=_p99, default=100.0, help="p99 latency target, e.g. 100ms or 0.2s")


def _advise(args: argparse.Namespace) -> int:
    from bench.report.advice import advise_main

    return advise_main(args.run_dir, args.mix, args.p99)


# --- end of `bench advise` -------------------------------------------------------------------------------------


def _ergonomics_step(cold_starts: int, import_runs: int) -> SideMeasurement:
    """The ergonomics measurement the runner makes after its cells, against the run's database and stub."""
    from bench.ergonomics import measure_ergonomics

    def measure(database_url: str, carrier_url: str, out_path: Path) -> None:
        measure_ergonomics(
            database_url=database_url,
            carrier_url=carrier_url,
            out_path=out_path,
            cold_start_runs=cold_starts,
            import_runs=import_runs,
        )

    return measure


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
            "aa_control",
            "order_seed",
            "max_steal_pct",
            "shared_core_limit_pct",
        )
    }
    overrides["open_loop"] = {
        "slo_p99_ms": args.slo_p99_ms,
        "rates": args.open_rates,
        "scenarios": args.open_scenarios,
    }
    settings = resolve_settings(args.profile, overrides, path=args.profiles_file)
    targets = anywhere.targets_of(args)  # remote deployments (issue 12): checked before anything is created
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        probe = args.out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out {args.out} is not writable: {exc.strerror}") from exc
    if (args.loadgen_workers or args.remote_workers) and settings.loadgen_processes > 1:
        raise ConfigError("use either --loadgen-workers/--remote-workers or --loadgen-processes, not both")
    runner = (
        anywhere.remote_runner(settings, args.out, targets, _console)
        if targets
        else Runner(settings, args.out, console=_console)
    )
    anywhere.attach(args, runner, settings)
    started = time.monotonic()
    _console.print(
        f"run {runner.run_id}: {len(runner.cells)} cells, profile {settings.profile}, "
        f"server CPUs {list(runner.placement.server_cpus)}, others {list(runner.placement.other_cpus)}"
    )
    run_dir = runner.run(
        ergonomics=None
        if args.no_report or targets
        else _ergonomics_step(settings.ergonomics_cold_starts, settings.ergonomics_import_runs)
    )
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
    handlers: dict[str, Any] = {"run": _run, "serve": _serve, "advise": _advise, **anywhere.COMMANDS}
    if args.command in handlers:
        return int(handlers[args.command](args))
    if args.command == "report":
        from bench.report.render import report_main

        print(report_main(require_run_dir(args.run_dir, "report"), screenshots=args.screenshots))
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
