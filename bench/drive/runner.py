"""Runs the benchmark matrix: database, stub, each server setup, each cell; writes the run directory.

Order of work: one embedded PostgreSQL, migrated and seeded once; one carrier stub; then the blocks of the
schedule: each is a fresh start of one setup serving one repeat of its cells, in a seeded interleaved order.
PostgreSQL, the stub, Locust and this harness are pinned away from the server's cores, and the affinity of
the live processes is read back at every cell. Write cells are followed by the invariant check and an exact
data reset, so every cell starts from the same data. Rows for every configured cell exist from the start and
are rewritten atomically after each cell, so an interrupted run keeps every finished cell.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from bench.config import RunSettings
from bench.drive import dbstate
from bench.drive.carrier_stub import CarrierStub
from bench.drive.cellmeasure import CellMeasurement
from bench.drive.loadgen import LoadSpec, LocustRun
from bench.drive.openloop import OpenCell, OpenLoopPhase
from bench.drive.placement import Placement, pinned_self
from bench.drive.postgres import Server, database_server
from bench.drive.processes import stop_signals_as_interrupt, wait_until_idle
from bench.drive.progress import Hooks, SideMeasurement, cell_progress
from bench.drive.rundir import link_latest, new_run_dir, server_metadata
from bench.drive.schedule import Block, Cell, base_setup, control_of, plan, retry_blocks, run_setups, stolen_only
from bench.drive.servers import SETUPS, RunningServer, ServerConfig, ServerStartError, Sizing, free_port
from bench.drive.verify import ScenarioStatements, SetupVerification, reference_of, verify_setup
from bench.measure.environment import git_state, package_versions, platform_info, python_info, utc_now
from bench.registry import WRITE_SCENARIOS
from bench.runformat import CellRow, RunMetadata, empty_row, write_summary
from shared_models.migrate import upgrade
from shared_models.seed import seed

_JWT_SECRET = "benchmark-run-secret-" + "x" * 24  # production mode refuses the default secret
# Database bookkeeping between cells survives a database restart of up to this long.
__all__ = ["Cell", "Hooks", "Runner", "SideMeasurement"]


def _invalidate(row: dict[str, Any], reason: str) -> None:
    row["valid"] = False
    row["invalid_reason"] = "; ".join(filter(None, [row["invalid_reason"], reason]))


class Runner(CellMeasurement):
    """Executes one run; `run()` returns the run directory."""

    def __init__(self, settings: RunSettings, out_root: Path, *, console: Console | None = None) -> None:
        self.settings = settings
        self.out_root = out_root
        self.console = console or Console(stderr=True)
        self.placement = Placement.split(sorted(os.sched_getaffinity(0)))
        self.workers = settings.server_workers(len(self.placement.server_cpus))
        self.order_seed = settings.order_seed if settings.order_seed is not None else secrets.randbelow(2**31)
        self.setups = run_setups(settings.servers, settings.aa_control)
        self.blocks = plan(self.setups, settings.scenarios, settings.users, settings.repeats, self.order_seed)
        self.cells = [cell for block in self.blocks for cell in block.cells]
        self.run_id, self.run_dir = new_run_dir(out_root)
        self.rows: dict[str, dict[str, Any]] = {}
        self.metadata: dict[str, Any] = {}
        self._pg: Server | None = None
        self._stub: CarrierStub | None = None
        self._open_done = 0  # open-loop cells measured so far (their execution order follows the planned cells)
        self._retried = 0  # cells measured again after CPU steal invalidated them
        # Statements per request of the setups every other setup's SQL is compared with (None: not counted).
        self.references: dict[str, dict[str, ScenarioStatements] | None] = {}
        self._counted: dict[str, dict[str, ScenarioStatements]] = {}  # server → its SQL per request, once per run
        # Called with (cell, its row, live server) right after each cell, while the server runs (e.g. --cross-check).
        self.after_cell: list[Callable[[Cell, dict[str, Any], RunningServer], None]] = []
        # Starts the load generator of one cell (bench/drive/distributed.py swaps in a master and workers).
        self.loadgen: Callable[[LoadSpec, Path], LocustRun] = lambda spec, out: LocustRun(
            spec, out, cpus=self.placement.other_cpus
        )

    # --- bookkeeping -------------------------------------------------------------------------------------
    def _sizing(self, server: str) -> Sizing:
        cpus = len(self.placement.server_cpus)
        return SETUPS[base_setup(server)].sizing(cpus=cpus, workers=self.workers, threads=self.settings.threads)

    def _base_row(self, cell: Cell | OpenCell, reason: str) -> dict[str, Any]:
        return empty_row(
            run_id=self.run_id,
            framework=SETUPS[base_setup(cell.server)].framework,
            server=cell.server,
            scenario=cell.scenario,
            users=cell.users,
            repeat=cell.repeat,
            workers=self._sizing(cell.server).workers,
            threads=self._sizing(cell.server).threads,
            reason=reason,
            control_of=control_of(cell.server),
            order=cell.order if isinstance(cell, Cell) else len(self.cells) + self._open_done + self._retried + 1,
        ).model_dump() | {"cell_id": cell.id}  # an open-loop cell is named by its rate, not its user count

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
            # planned CPUs per group; `observed` gets the affinity read back from the live processes per setup
            "placement": {**self.placement.as_dict(), "observed": {}, "as_planned": True, "mismatches": []},
            "workers": self.workers,
            "servers": {
                name: server_metadata(name, sizing=self._sizing(name), pool_budget=self.settings.pool_budget)
                for name in self.setups
            },
            "verification": {},
            "aa_control": next((control_of(name) for name in self.setups if control_of(name)), ""),
            "order_seed": self.order_seed,
            "order": [cell.id for cell in self.cells],
            "started_at": utc_now(),
            "finished_at": None,
            "interrupted": False,
            "cells_total": len(self.cells),
            "cells_done": 0,
        }

    # --- the run -----------------------------------------------------------------------------------------
    def run(
        self,
        on_cell: Callable[[Cell, dict[str, Any]], None] | None = None,
        *,
        ergonomics: SideMeasurement | None = None,
        before_cell: Callable[[Cell], None] | None = None,
    ) -> Path:
        """Run every cell; always leaves a consistent run directory, also on Ctrl-C."""
        self._start_metadata()
        for cell in self.cells:
            self.rows[cell.id] = self._base_row(cell, "not run: interrupted")
        self._save()
        link_latest(self.out_root, self.run_dir, self.console)
        try:
            # The harness (its bookkeeping, sampler and resets) runs on the shared cores too, never the server's.
            with stop_signals_as_interrupt(), pinned_self(self.placement.other_cpus), self._progress() as progress:
                task = progress.add_task("cells", total=len(self.cells), last="")
                self._run_all(Hooks(progress, task, on_cell, before_cell), ergonomics)
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
        # A live bar on a terminal, one plain line per finished cell in logs (bench/drive/progress.py).
        return cell_progress(self.console)

    def _run_all(
        self,
        hooks: Hooks,
        ergonomics: SideMeasurement | None,
    ) -> None:
        s = self.settings
        with database_server(cpus=self.placement.other_cpus) as pg:
            self._pg = pg
            db_name = f"bench_{os.getpid()}_{int(time.time())}"
            pg.create_database(db_name)
            try:
                url = pg.url_for(db_name)
                hooks.progress.console.print(
                    f"database: migrating and seeding {s.seed_items} items, {s.seed_users} users"
                )
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
                    self._stub = stub
                    self._verify_references(url, stub.url, engine, baseline, hooks.progress)
                    self._run_blocks(url, stub.url, engine, baseline, hooks)
                    if ergonomics:
                        self._ergonomics(ergonomics, url, stub.url, hooks.progress)
                engine.dispose()
            finally:
                pg.drop_database(db_name)

    def _run_blocks(
        self,
        url: str,
        carrier_url: str,
        engine: Any,
        baseline: dbstate.Baseline,
        hooks: Hooks,
    ) -> None:
        """Every block of the schedule, then the open-loop phase."""
        s = self.settings
        for block in self.blocks:
            if block.cells:  # none: the setup serves none of the run's scenarios
                self._run_block(block, url, carrier_url, engine, baseline, hooks)
        self._retry_stolen(url, carrier_url, engine, baseline, hooks)
        # Open loop (issue 10, items 4-5): needs every setup's closed-loop peak, so it runs after.
        phase = OpenLoopPhase.after_closed(
            s.open_loop,
            self.rows.values(),
            {name: SETUPS[base_setup(name)].framework for name in self.setups},
            s.scenarios,
            processes=s.loadgen_processes,
        )
        for server, repeat in phase.starts(self.setups, self.order_seed + 1) if phase else []:
            self._run_block(Block(server, repeat, ()), url, carrier_url, engine, baseline, hooks, open_phase=phase)

    def _retry_stolen(self, url: str, carrier_url: str, engine: Any, baseline: dbstate.Baseline, hooks: Hooks) -> None:
        """Measure again, on fresh starts, the cells that only the hypervisor's CPU steal invalidated."""
        # Steal is the host's, not the setup's: without a retry one busy neighbour costs a group its CI (3 valid
        # repeats) and the run its A/A floor. The first attempt's raw files are kept as raw/<cell>~try<n>.
        for attempt in range(1, self.settings.steal_retries + 1):
            stolen = [c for c in self.cells if stolen_only(str(self.rows[c.id]["invalid_reason"]))]
            if not stolen:
                return
            for cell in stolen:
                self.metadata.setdefault("retried", {}).setdefault(cell.id, []).append(
                    self.rows[cell.id]["invalid_reason"]
                )
                raw = self.run_dir / "raw" / cell.id
                if raw.exists():
                    raw.rename(raw.with_name(f"{cell.id}~try{attempt}"))
            self._retried += len(stolen)
            hooks.progress.update(hooks.task, total=len(self.cells) + self._open_done + self._retried)
            first = len(self.cells) + self._open_done + self._retried - len(stolen) + 1
            for block in retry_blocks(stolen, first):
                self._run_block(block, url, carrier_url, engine, baseline, hooks)

    def _run_block(
        self,
        block: Block,
        url: str,
        carrier_url: str,
        engine: Any,
        baseline: dbstate.Baseline,
        hooks: Hooks,
        open_phase: OpenLoopPhase | None = None,
    ) -> None:
        """Start the block's setup afresh, measure its cells (or its open-loop phase), stop it."""
        config = self._config(block.server, url, carrier_url)
        log_dir = self.run_dir / "raw" / "servers"
        log_dir.mkdir(exist_ok=True)
        cells = list(block.cells)
        setup = SETUPS[base_setup(block.server)]
        try:
            with self._serve(config, log_dir) as live:
                reference_name = reference_of(setup).name
                reference = self.references.get(reference_name)
                unchecked = "" if reference else f"SQL not compared: the reference {reference_name} was not counted"
                verification = self._verify(live, block.server, engine, baseline, reference, unchecked)
                if verification.problems:
                    problems = "; ".join(verification.problems)
                    self._fail_cells(cells, f"verification failed: {problems}", hooks)
                    return
                refused = [c for c in cells if c.scenario in verification.refused]
                for scenario in dict.fromkeys(c.scenario for c in refused):
                    # Different SQL per request would time the apps' queries, not the frameworks: not timed.
                    reason = "SQL differs: " + verification.refused[scenario]
                    self._fail_cells([c for c in refused if c.scenario == scenario], reason, hooks)
                cells = [c for c in cells if c.scenario not in verification.refused]
                dirty = False

                def step(cell: Cell | OpenCell) -> dict[str, Any]:
                    nonlocal dirty
                    if dirty:
                        dbstate.retrying()(dbstate.reset, engine, baseline)
                        dirty = False
                    if hooks.before_cell and isinstance(cell, Cell):
                        hooks.before_cell(cell)
                    if isinstance(cell, OpenCell):
                        # A probe past capacity leaves a backlog (sync views keep running after their client
                        # left); the next probe must start on an idle server, not inherit it.
                        wait_until_idle(live.tree())
                    row = self._measure(cell, live)
                    if cell.scenario in WRITE_SCENARIOS:
                        dbstate.retrying()(dbstate.wait_until_quiet, engine)
                        broken = dbstate.retrying()(dbstate.check_invariant, engine, baseline)
                        if broken:
                            _invalidate(row, "invariant broken: " + "; ".join(broken))
                        dirty = True
                    if isinstance(cell, OpenCell):  # not planned: the search decides its probes as it goes
                        self._open_done += 1
                        hooks.progress.update(hooks.task, total=len(self.cells) + self._open_done + self._retried)
                    self.rows[cell.id] = row
                    self._save()
                    last = f"{cell.id}: {row['rps']:.0f} rps" + ("" if row["valid"] else " [red](invalid)[/red]")
                    hooks.progress.update(hooks.task, advance=1, last=last, row=row)
                    if isinstance(cell, Cell):
                        for hook in self.after_cell:
                            hook(cell, row, live)
                        if hooks.on_cell:
                            hooks.on_cell(cell, row)
                    return row

                for cell in cells:
                    step(cell)
                if open_phase is not None:
                    served = [sc for sc in self.settings.scenarios if sc not in verification.refused]
                    open_phase.run_setup(block.server, [sc for sc in served if setup.supports(sc)], block.repeat, step)
                    self.metadata["open_loop"] = open_phase.summary()
                    self._save()
                if dirty:
                    dbstate.retrying()(dbstate.reset, engine, baseline)
        except ServerStartError as exc:
            hooks.progress.console.print(f"[red]{exc}[/red]")
            self._fail_cells(cells, f"server failed to start: {str(exc).splitlines()[0]}", hooks)

    def _serve(self, config: ServerConfig, log_dir: Path) -> RunningServer:
        """Start one setup (bench/drive/remote.py measures an already-running deployment instead)."""
        return RunningServer(config, log_dir=log_dir)

    def _config(self, server: str, url: str, carrier_url: str) -> ServerConfig:
        s = self.settings
        return ServerConfig(
            setup=SETUPS[base_setup(server)],
            database_url=url,
            carrier_url=carrier_url,
            workers=self.workers,
            threads=s.threads,
            pool_budget=s.pool_budget,
            cpus=self.placement.server_cpus,
            app_env=self._app_env(server),
        )

    def _verify(
        self,
        live: RunningServer,
        name: str,
        engine: Any,
        baseline: dbstate.Baseline,
        reference: dict[str, ScenarioStatements] | None,
        unchecked: str = "",
    ) -> SetupVerification:
        """Verify a started setup, record the result in the metadata and restore any data it wrote."""
        verification = dbstate.retrying()(
            verify_setup, live, self.settings.scenarios, seed_items=self.settings.seed_items, reference=reference,
            counted=self._counted.get(name),
        )  # fmt: skip
        if not verification.problems:
            self._counted[name] = verification.statements
        # A failed reference must not stop the other framework's cells; the metadata says they went unchecked.
        verification.unchecked = unchecked
        if unchecked:
            self.console.print(f"[yellow]{name}: {unchecked}[/yellow]")
        self.metadata["verification"][name] = verification.model_dump()
        if verification.wrote:
            dbstate.retrying()(dbstate.wait_until_quiet, engine)
            dbstate.retrying()(dbstate.reset, engine, baseline)
        return verification

    def _verify_references(
        self, url: str, carrier_url: str, engine: Any, baseline: dbstate.Baseline, progress: Progress
    ) -> None:
        """Count the SQL of every setup the run's setups are compared with, before anything is timed."""
        names = dict.fromkeys(reference_of(SETUPS[base_setup(server)]).name for server in self.setups)
        for name in names:
            progress.console.print(f"verification: counting the SQL per request of the reference {name}")
            try:
                with RunningServer(self._config(name, url, carrier_url)) as live:
                    verification = self._verify(live, name, engine, baseline, None)
            except ServerStartError as exc:
                progress.console.print(f"[red]{exc}[/red]")
                self.references[name] = None
                continue
            self.references[name] = None if verification.problems else verification.statements
        self.metadata["sql_references"] = list(names)

    def _app_env(self, server: str) -> dict[str, str]:
        """App settings of every setup: production mode, so docs are off as they would be in production."""
        return {"APP_ENV": "production", "JWT_SECRET": _JWT_SECRET, "CARRIER_TIMEOUT_S": "5"}

    def _ergonomics(self, measure: SideMeasurement, url: str, carrier_url: str, progress: Progress) -> None:
        progress.console.print("ergonomics: counting code, probing both apps, timing cold starts")
        try:
            measure(url, carrier_url, self.run_dir / "ergonomics.json")
        except (ServerStartError, OSError, RuntimeError, ValueError) as exc:
            # The performance cells are the run's main product; a failed side measurement is reported, not fatal.
            self.metadata["ergonomics_error"] = f"{type(exc).__name__}: {exc}"
            progress.console.print(f"[yellow]ergonomics not measured: {exc}[/yellow]")

    def _fail_cells(self, cells: list[Cell], reason: str, hooks: Hooks) -> None:
        if not cells:  # an open-loop block has no planned cells; its server failure is printed above
            return
        for cell in cells:
            self.rows[cell.id] = self._base_row(cell, reason)
        self._save()
        hooks.progress.update(
            hooks.task,
            advance=len(cells),
            last=f"{cells[0].server}: {reason[:60]}",
            line=f"{cells[0].server}: {len(cells)} cells invalid: {reason}",
        )
