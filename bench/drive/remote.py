"""Remote targets: measure deployments that already run (`bench run --target fastapi=URL`).

Nothing is started or pinned for the server; the same scenarios, verification and run format apply, with the
placement marked external. With DATABASE_URL (the deployment's own database) the harness migrates and seeds it
like its own, checks the write invariant and resets after write cells; without it, write scenarios are skipped
with that reason and verification uses HTTP only (the deployment must hold the standard seed data).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
from rich.console import Console

from bench.config import ConfigError, RunSettings
from bench.drive import dbstate
from bench.drive.loadgen import LocustRun
from bench.drive.runner import Hooks, Runner, SideMeasurement
from bench.drive.servers import DEFAULT_SETUP, FRAMEWORKS, SETUPS, RunningServer, ServerConfig
from bench.drive.verify import ScenarioStatements, SetupVerification, check_answers
from bench.registry import WRITE_SCENARIOS
from shared_models.migrate import upgrade
from shared_models.seed import seed

NO_DATABASE = "not run: write scenarios need DATABASE_URL (the target's database) for the invariant and reset"


def parse_targets(values: list[str]) -> dict[str, str]:
    """`NAME=URL` flags → {setup: URL}; a framework name stands for its usual setup's labels."""
    targets: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        setup = DEFAULT_SETUP.get(name, name) if name in FRAMEWORKS else name
        if not sep or not url:
            raise ConfigError(f"--target {value!r}: expected NAME=URL, e.g. fastapi=http://10.0.0.5:8000")
        if setup not in SETUPS:
            raise ConfigError(f"--target {value}: {name!r} is neither a framework nor a setup ({', '.join(SETUPS)})")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"--target {value}: {url!r} is not an http(s)://HOST[:PORT] URL")
        if setup in targets:
            raise ConfigError(f"--target {value}: {setup} is already targeted at {targets[setup]}")
        targets[setup] = url.rstrip("/")
    return targets


def check_targets(targets: Mapping[str, str], *, timeout_s: float = 5.0) -> None:
    """Every target answers GET /health with 200, or one ConfigError naming it (before anything runs)."""
    for setup, url in targets.items():
        try:
            response = httpx.get(f"{url}/health", timeout=timeout_s)
        except httpx.HTTPError as exc:
            raise ConfigError(f"--target {setup}={url}: unreachable ({type(exc).__name__}: {exc})") from None
        if response.status_code != 200:
            raise ConfigError(f"--target {setup}={url}: GET /health answered {response.status_code}")


def verify_http(url: str, *, seed_items: int) -> list[str]:
    """Verification without the database: health, one item, the list count of the seed data (empty = fine)."""
    problems: list[str] = []
    with httpx.Client(base_url=url, timeout=10) as client:
        if (health := client.get("/health")).status_code != 200:
            problems.append(f"/health answered {health.status_code}")
        if (item := client.get("/items/1")).status_code != 200 or item.json().get("id") != 1:
            problems.append(f"/items/1 answered {item.status_code}")
        page = client.get("/items", params={"limit": 20, "skip": 0})
        count = page.json().get("count") if page.status_code == 200 else None
        if count != seed_items:
            problems.append(f"/items count is {count}, not the seed's {seed_items} (seed it or pass --seed-items)")
    return problems


class ExternalServer:
    """A deployment already running at a URL: nothing to start, stop or sample."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.command = ["(external deployment)", url]

    def tree(self) -> list[psutil.Process]:
        """No local processes."""
        return []

    def __enter__(self) -> ExternalServer:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None


class RemoteRunner(Runner):
    """A Runner whose setups are URLs; the database is the deployment's (DATABASE_URL) or none."""

    def __init__(
        self,
        settings: RunSettings,
        out_root: Path,
        targets: Mapping[str, str],
        *,
        database_url: str | None,
        console: Console | None = None,
    ) -> None:
        # No A/A control: a second copy of a deployment this harness does not start would be the same servers.
        super().__init__(
            settings.model_copy(update={"servers": list(targets), "aa_control": ""}), out_root, console=console
        )
        self.targets = dict(targets)
        self.database_url = database_url

    def _start_metadata(self) -> None:
        super()._start_metadata()
        self.metadata["placement"] = {**self.metadata["placement"], "server_cpus": [], "external": True}
        self.metadata["targets"] = self.targets
        for name, url in self.targets.items():
            self.metadata["servers"][name]["command"] = f"external deployment at {url}"

    def _serve(self, config: ServerConfig, log_dir: Path) -> Any:
        return ExternalServer(self.targets[config.setup.name])

    def _groups(self, live: RunningServer, locust: LocustRun) -> dict[str, list[psutil.Process] | None]:
        """The deployment's processes (server, database, upstream) are on other machines: external."""
        return {**super()._groups(live, locust), "server": None, "postgres": None, "stub": None}

    def _verify(
        self,
        live: RunningServer,
        name: str,
        engine: Any,
        baseline: dbstate.Baseline,
        reference: dict[str, ScenarioStatements] | None,
        unchecked: str = "",
    ) -> SetupVerification:
        """Answers checked against the deployment's database; its SQL cannot be counted from here."""
        served = [s for s in self.settings.scenarios if SETUPS[name].supports(s)]
        assert self.database_url is not None  # only blocks with the deployment's database verify this way
        verification = SetupVerification(setup=name, problems=[], statements={})
        verification.problems = check_answers(live.url, self.database_url, served, seed_items=self.settings.seed_items)
        verification.unchecked = "SQL not compared: an external deployment's queries cannot be counted"
        self.metadata["verification"][name] = verification.model_dump()
        return verification

    def _run_all(
        self,
        hooks: Hooks,
        ergonomics: SideMeasurement | None,
    ) -> None:
        s = self.settings
        if self.database_url is None:
            self._run_without_database(hooks)
            return
        url = self.database_url
        hooks.progress.console.print(f"target database: migrating and seeding {s.seed_items} items (replaces all rows)")
        upgrade(url)
        seed(url, users=s.seed_users, items=s.seed_items, orders=s.seed_orders)
        engine = dbstate.engine_for(url)
        try:
            baseline = dbstate.capture(engine)
            self._run_blocks(url, "(the deployment's)", engine, baseline, hooks)
        finally:
            engine.dispose()

    def _run_without_database(
        self,
        hooks: Hooks,
    ) -> None:
        """Read cells only, in the schedule's order; verification over HTTP (no open-loop phase: no reset)."""
        skipped = [c for c in self.cells if c.scenario in WRITE_SCENARIOS]
        if skipped:
            self._fail_cells(skipped, NO_DATABASE, hooks)
        problems = {
            server: verify_http(url, seed_items=self.settings.seed_items) for server, url in self.targets.items()
        }
        for server, found in problems.items():
            reads = [c for c in self.cells if c.server == server and c.scenario not in WRITE_SCENARIOS]
            if found and reads:
                self._fail_cells(reads, "verification failed: " + "; ".join(found), hooks)
        for cell in self.cells:
            if cell.scenario in WRITE_SCENARIOS or problems[cell.server]:
                continue
            live = ExternalServer(self.targets[cell.server])
            if hooks.before_cell:
                hooks.before_cell(cell)
            row = self._measure(cell, live)  # type: ignore[arg-type]
            self.rows[cell.id] = row
            self._save()
            hooks.progress.update(hooks.task, advance=1, last=f"{cell.id}: {row['rps']:.0f} rps", row=row)
            for hook in self.after_cell:
                hook(cell, row, live)  # type: ignore[arg-type]
            if hooks.on_cell:
                hooks.on_cell(cell, row)
