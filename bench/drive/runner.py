"""Runs the benchmark matrix: database, stub, each server setup, each cell; writes the run directory.

Order of work: one embedded PostgreSQL, migrated and seeded once; one carrier stub; then per server setup one
server process that serves all its cells. Write cells are followed by the invariant check and an exact data
reset, so every cell starts from the same data. Rows for every configured cell exist from the start and are
rewritten atomically after each cell, so an interrupted run keeps every finished cell.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy.exc import OperationalError
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from bench.config import RunSettings
from bench.drive import dbstate
from bench.drive.carrier_stub import CarrierStub
from bench.drive.loadgen import LoadSpec, LocustRun
from bench.drive.postgres import database_server
from bench.drive.servers import (
    SETUPS,
    RunningServer,
    ServerConfig,
    ServerStartError,
    free_port,
    pool_size_per_process,
)
from bench.drive.verify import verify_server
from bench.measure.environment import git_state, package_versions, platform_info, python_info, utc_now
from bench.measure.recorder import merge_recorders
from bench.measure.row import measured_row
from bench.measure.sampler import ResourceSampler
from bench.registry import WRITE_SCENARIOS
from bench.runformat import CellRow, RunMetadata, cell_id, empty_row, invalid_reasons, write_summary
from shared_models.migrate import upgrade
from shared_models.seed import seed

_JWT_SECRET = "benchmark-run-secret-" + "x" * 24  # production mode refuses the default secret
# Database bookkeeping between cells survives a database restart of up to this long.
_DB_RETRY_S = 30.0


def _retrying_db() -> Retrying:
    return Retrying(
        retry=retry_if_exception_type(OperationalError),
        stop=stop_after_delay(_DB_RETRY_S),
        wait=wait_fixed(0.5),
        reraise=True,
    )


@dataclass(frozen=True)
class Cell:
    """One measurement: a server setup, a scenario, a concurrency level and a repeat."""

    server: str
    scenario: str
    users: int
    repeat: int

    @property
    def id(self) -> str:
        """The cell's stable name (also its raw/ directory)."""
        return cell_id(self.server, self.scenario, self.users, self.repeat)


@dataclass(frozen=True)
class Placement:
    """Which CPUs the server gets and which the load generator, database and stub share."""

    server_cpus: tuple[int, ...]
    other_cpus: tuple[int, ...]

    @classmethod
    def split(cls, cpus: list[int]) -> Placement:
        """Give the server the first half of the CPUs (at least one) and everything else the rest."""
        cpus = sorted(cpus)
        if len(cpus) == 1:
            return cls((cpus[0],), (cpus[0],))
        half = max(1, len(cpus) // 2)
        return cls(tuple(cpus[:half]), tuple(cpus[half:]))

    def as_dict(self) -> dict[str, list[int]]:
        """For metadata.json."""
        other = list(self.other_cpus)
        return {
            "server_cpus": list(self.server_cpus),
            "loadgen_cpus": other,
            "db_cpus": other,
            "stub_cpus": other,
        }


def plan(settings: RunSettings) -> list[Cell]:
    """Every cell of the matrix, grouped by server so each setup starts once."""
    return [
        Cell(server, scenario, users, repeat)
        for server in settings.servers
        for scenario in settings.scenarios
        for users in settings.users
        for repeat in range(1, settings.repeats + 1)
    ]


def new_run_dir(out_root: Path) -> tuple[str, Path]:
    """Create results/<UTC timestamp>-<sha>/ and its raw/ folder."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    run_id = f"{stamp}-{git_state()['short']}"
    run_dir = out_root / run_id
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = out_root / f"{run_id}.{suffix}"
    (run_dir / "raw").mkdir(parents=True)
    return run_dir.name, run_dir


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    # SIGTERM (e.g. from a CI timeout) unwinds like Ctrl-C, so every child is stopped and finished cells kept.
    def _raise(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Runner:
    """Executes one run; `run()` returns the run directory."""

    def __init__(self, settings: RunSettings, out_root: Path, *, console: Console | None = None) -> None:
        self.settings = settings
        self.out_root = out_root
        self.console = console or Console(stderr=True)
        self.placement = Placement.split(sorted(os.sched_getaffinity(0)))
        self.workers = settings.server_workers(len(self.placement.server_cpus))
        self.cells = plan(settings)
        self.run_id, self.run_dir = new_run_dir(out_root)
        self.rows: dict[str, dict[str, Any]] = {}
        self.metadata: dict[str, Any] = {}

    # --- bookkeeping -------------------------------------------------------------------------------------
    def _threads(self, server: str) -> int:
        return self.settings.threads if SETUPS[server].uses_threads else 1

    def _base_row(self, cell: Cell, reason: str) -> dict[str, Any]:
        return empty_row(
            run_id=self.run_id,
            framework=SETUPS[cell.server].framework,
            server=cell.server,
            scenario=cell.scenario,
            users=cell.users,
            repeat=cell.repeat,
            workers=self.workers,
            threads=self._threads(cell.server),
            reason=reason,
        ).model_dump()

    def _save(self) -> None:
        write_summary(self.run_dir, (CellRow.model_validate(row) for row in self.rows.values()))
        RunMetadata.model_validate(self.metadata).dump(self.run_dir / "metadata.json")

    def _start_metadata(self) -> None:
        self.metadata = {
            "run_id": self.run_id,
            "profile": self.settings.profile,
            "settings": self.settings.model_dump(),
            "git": git_state(),
            "packages": package_versions(),
            "python": python_info(),
            "platform": platform_info(),
            "placement": self.placement.as_dict(),
            "workers": self.workers,
            "servers": {
                name: {
                    "command": " ".join(
                        SETUPS[name].command(
                            host="127.0.0.1", port=0, workers=self.workers, threads=self._threads(name)
                        )
                    )
                    .replace(":0 ", ":PORT ")
                    .replace("--port 0 ", "--port PORT "),
                    "framework": SETUPS[name].framework,
                    "server": SETUPS[name].server,
                    "worker_class": SETUPS[name].worker_class,
                    "workers": self.workers,
                    "threads": self._threads(name),
                    "keep_alive": SETUPS[name].keep_alive,
                    "db_driver": SETUPS[name].db_driver,
                    "http_client": SETUPS[name].http_client,
                    "pool_size_per_worker": pool_size_per_process(self.settings.pool_budget, self.workers),
                    "pool_budget": self.settings.pool_budget,
                }
                for name in self.settings.servers
            },
            "started_at": utc_now(),
            "finished_at": None,
            "interrupted": False,
            "cells_total": len(self.cells),
            "cells_done": 0,
        }

    # --- the run -----------------------------------------------------------------------------------------
    def run(
        self, on_cell: Callable[[Cell, dict[str, Any]], None] | None = None, *, with_ergonomics: bool = False
    ) -> Path:
        """Run every cell; always leaves a consistent run directory, also on Ctrl-C."""
        self._start_metadata()
        for cell in self.cells:
            self.rows[cell.id] = self._base_row(cell, "not run: interrupted")
        self._save()
        self._link_latest()  # latest points at the run in progress, so it can be watched
        try:
            with _sigterm_as_interrupt(), self._progress() as progress:
                task = progress.add_task("cells", total=len(self.cells), last="")
                self._run_all(progress, task, on_cell, with_ergonomics)
        except KeyboardInterrupt:
            self.metadata["interrupted"] = True
            self.console.print("[yellow]interrupted: every process stopped, finished cells kept[/yellow]")
            raise
        finally:
            self.metadata["finished_at"] = utc_now()
            self.metadata["cells_done"] = sum(1 for r in self.rows.values() if r["requests"] or r["valid"])
            self._save()
        return self.run_dir

    def _progress(self) -> Progress:
        return Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[last]}"),
            console=self.console,
            transient=False,
        )

    def _run_all(
        self,
        progress: Progress,
        task: Any,
        on_cell: Callable[[Cell, dict[str, Any]], None] | None,
        with_ergonomics: bool,
    ) -> None:
        s = self.settings
        with database_server() as pg:
            db_name = f"bench_{os.getpid()}_{int(time.time())}"
            pg.create_database(db_name)
            try:
                url = pg.url_for(db_name)
                progress.console.print(f"database: migrating and seeding {s.seed_items} items, {s.seed_users} users")
                upgrade(url)
                seeded = seed(url, users=s.seed_users, items=s.seed_items, orders=s.seed_orders)
                engine = dbstate.engine_for(url)
                baseline = dbstate.capture(engine)
                self.metadata["postgres"] = {
                    "version": pg.version(),
                    "settings": pg.settings(),
                    "embedded": pg.__class__.__name__ == "EmbeddedPostgres",
                    "seed_seconds": round(seeded.seconds, 2),
                }
                with CarrierStub(port=free_port(), delay_ms=s.carrier_delay_ms, cpus=self.placement.other_cpus) as stub:
                    for server in s.servers:
                        cells = [c for c in self.cells if c.server == server]
                        self._run_server(server, cells, url, stub.url, engine, baseline, progress, task, on_cell)
                    if with_ergonomics:
                        self._ergonomics(url, stub.url, progress)
                engine.dispose()
            finally:
                pg.drop_database(db_name)

    def _run_server(
        self,
        server: str,
        cells: list[Cell],
        url: str,
        carrier_url: str,
        engine: Any,
        baseline: dbstate.Baseline,
        progress: Progress,
        task: Any,
        on_cell: Callable[[Cell, dict[str, Any]], None] | None,
    ) -> None:
        s = self.settings
        config = ServerConfig(
            setup=SETUPS[server],
            database_url=url,
            carrier_url=carrier_url,
            workers=self.workers,
            threads=s.threads,
            pool_budget=s.pool_budget,
            cpus=self.placement.server_cpus,
            app_env=self._app_env(server),
        )
        log_dir = self.run_dir / "raw" / "servers"
        log_dir.mkdir(exist_ok=True)
        try:
            with RunningServer(config, log_dir=log_dir) as live:
                problems = _retrying_db()(verify_server, live.url, engine, seed_items=s.seed_items)
                if problems:
                    self._fail_cells(cells, "verification failed: " + "; ".join(problems), progress, task)
                    return
                dirty = False
                for cell in cells:
                    if dirty:
                        _retrying_db()(dbstate.reset, engine, baseline)
                        dirty = False
                    row = self._measure(cell, live)
                    if cell.scenario in WRITE_SCENARIOS:
                        _retrying_db()(dbstate.wait_until_quiet, engine)
                        broken = _retrying_db()(dbstate.check_invariant, engine, baseline)
                        if broken:
                            row["valid"] = False
                            row["invalid_reason"] = "; ".join(
                                filter(None, [row["invalid_reason"], "invariant broken: " + "; ".join(broken)])
                            )
                        dirty = True
                    self.rows[cell.id] = row
                    self._save()
                    last = f"{cell.id}: {row['rps']:.0f} rps" + ("" if row["valid"] else " [red](invalid)[/red]")
                    progress.update(task, advance=1, last=last)
                    if on_cell:
                        on_cell(cell, row)
                if dirty:
                    _retrying_db()(dbstate.reset, engine, baseline)
        except ServerStartError as exc:
            progress.console.print(f"[red]{exc}[/red]")
            self._fail_cells(cells, f"server failed to start: {str(exc).splitlines()[0]}", progress, task)

    def _app_env(self, server: str) -> dict[str, str]:
        """App settings of every setup: production mode, so docs are off as they would be in production."""
        return {"APP_ENV": "production", "JWT_SECRET": _JWT_SECRET, "CARRIER_TIMEOUT_S": "5"}

    def _ergonomics(self, url: str, carrier_url: str, progress: Progress) -> None:
        from bench.ergonomics import measure_ergonomics

        progress.console.print("ergonomics: counting code, probing both apps, timing cold starts")
        try:
            measure_ergonomics(
                database_url=url,
                carrier_url=carrier_url,
                out_path=self.run_dir / "ergonomics.json",
                cold_start_runs=self.settings.ergonomics_cold_starts,
            )
        except (ServerStartError, OSError, RuntimeError, ValueError) as exc:
            # The performance cells are the run's main product; a failed side measurement is reported, not fatal.
            self.metadata["ergonomics_error"] = f"{type(exc).__name__}: {exc}"
            progress.console.print(f"[yellow]ergonomics not measured: {exc}[/yellow]")

    def _fail_cells(self, cells: list[Cell], reason: str, progress: Progress, task: Any) -> None:
        for cell in cells:
            self.rows[cell.id] = self._base_row(cell, reason)
        self._save()
        progress.update(task, advance=len(cells), last=f"{cells[0].server}: {reason[:60]}")

    def _measure(self, cell: Cell, live: RunningServer) -> dict[str, Any]:
        s = self.settings
        out = self.run_dir / "raw" / cell.id
        spec = LoadSpec(
            scenario=cell.scenario,
            host=live.url,
            users=cell.users,
            warmup_s=s.warmup_s,
            duration_s=s.duration_s,
            seed_users=s.seed_users,
            seed_items=s.seed_items,
            processes=s.loadgen_processes,
            rng_seed=20261125 + cell.repeat,
        )
        locust = LocustRun(spec, out, cpus=self.placement.other_cpus)
        try:
            with ResourceSampler(live.tree, locust.tree) as sampler:
                code = locust.wait(timeout_s=spec.run_time_s + 60)
        except BaseException:
            locust.kill()
            raise
        load = merge_recorders(out)
        start, end = load.window
        duration = s.duration_s
        usage = sampler.window(start, end) if load.processes else sampler.window(0, 0)
        row = measured_row(self._base_row(cell, ""), load, usage, duration)
        reasons = invalid_reasons(row, max_error_rate=s.max_error_rate, loadgen_cpu_limit_pct=s.loadgen_cpu_limit_pct)
        if load.truncated:
            reasons.insert(0, f"window truncated: Locust stopped {load.window[1] - load.stopped_at:.1f} s early")
        if code != 0 or not load.processes:
            reasons.insert(0, f"locust exited with {code}: {locust.log_tail(3)}")
        row["valid"] = not reasons
        row["invalid_reason"] = "; ".join(reasons)
        if load.requests:
            (out / "hdr.txt").write_text(load.histogram.encode().decode() + "\n")
        (out / "timeline.csv").write_text(load.timeline_csv(duration))
        sampler.write_csv(out / "resources.csv", start if load.processes else time.time())
        cell_record = {
            "cell": cell.__dict__,
            "command": locust.command,
            "server_command": live.command,
            "placement": self.placement.as_dict(),
            "window": [start, end],
            "locust_exit_code": code,
            "result": row,
        }
        (out / "cell.json").write_text(json.dumps(cell_record, indent=1, default=str) + "\n")
        return row

    def _link_latest(self) -> None:
        latest = self.out_root / "latest"
        try:
            if latest.is_symlink() or latest.exists():
                latest.unlink()
            latest.symlink_to(self.run_dir.name)
        except OSError as exc:
            self.console.print(f"[yellow]could not update {latest}: {exc}[/yellow]")
