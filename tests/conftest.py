"""Session-wide fixtures: one embedded PostgreSQL, a seeded template database, the carrier stub and servers."""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Iterator

import httpx
import psutil
import pytest
from sqlalchemy import Engine, create_engine

from bench.drive.carrier_stub import CarrierStub
from bench.drive.postgres import EmbeddedPostgres, ExternalPostgres, database_server
from bench.drive.servers import (
    DEFAULT_SETUP,
    FRAMEWORKS,
    SETUPS,
    App,
    Framework,
    RunningServer,
    ServerConfig,
    ServerSetup,
    free_port,
)
from shared_models.migrate import sync_url, upgrade
from shared_models.seed import seed

pytest_plugins = ("tests.support.fake_run",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `slow` tests of every suite unless the -m expression asks for them (`make test-slow`: -m slow)."""
    if "slow" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="long run: select it with -m slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


# Small but non-trivial: every listing paginates, every seed user can log in.
TEMPLATE_SCALE = {"users": 20, "items": 200, "orders": 20}
LIVE_ENV = {"CARRIER_TIMEOUT_S": "1.0", "CORS_ORIGINS": "https://allowed.example", "APP_ENV": "development"}
_names = itertools.count()

PgServer = EmbeddedPostgres | ExternalPostgres


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The embedded PostgreSQL (or DATABASE_URL's server) for the whole test session."""
    with database_server() as server:
        yield server


@pytest.fixture(scope="session")
def template_db(pg_server: PgServer) -> str:
    """Name of a migrated, seeded database that per-test databases are cloned from."""
    name = f"tmpl_{os.getpid()}"
    pg_server.create_database(name)
    url = pg_server.url_for(name)
    upgrade(url)
    seed(url, **TEMPLATE_SCALE)
    return name


@pytest.fixture(scope="session")
def fresh_db(pg_server: PgServer, template_db: str) -> Iterator[Callable[[], str]]:
    """Factory: a new database cloned from the seeded template; returns its URL."""
    created: list[str] = []

    def _make() -> str:
        name = f"t_{os.getpid()}_{next(_names)}"
        pg_server.create_database(name, template=template_db)
        created.append(name)
        return pg_server.url_for(name)

    yield _make
    for name in created:
        pg_server.drop_database(name)


@pytest.fixture(scope="session")
def carrier() -> Iterator[CarrierStub]:
    """The upstream carrier stub (10 ms delay) shared by every server of the session."""
    with CarrierStub(port=free_port(), delay_ms=10) as stub:
        yield stub


@pytest.fixture(scope="session")
def factory_setup() -> Callable[..., ServerSetup]:
    """Factory: a setup serving `app_spec` (uvicorn factory or gunicorn app) the way `framework`'s default does."""

    def _make(name: str, framework: Framework, app_spec: str, *, gunicorn_worker: str = "") -> ServerSetup:
        default = SETUPS[DEFAULT_SETUP[framework]]
        entry = app_spec.removesuffix("()")
        # The app's labels as the registry knows them, when it serves this entry point.
        known = next((s.app for s in SETUPS.values() if s.app.entry == entry), None)
        app = known or App(entry, default.stack, default.app.db_driver, default.app.upstream_client)
        worker = gunicorn_worker or default.worker_class
        return dataclasses.replace(default, name=name, app=app, worker_class=worker)

    return _make


def _config(
    setup: ServerSetup | None, framework: Framework, database_url: str, carrier_url: str, env: dict[str, str]
) -> ServerConfig:
    return ServerConfig(
        setup=setup or SETUPS[DEFAULT_SETUP[framework]],
        database_url=database_url,
        carrier_url=carrier_url,
        workers=2,
        pool_budget=8,
        app_env={**LIVE_ENV, **env},
    )


@pytest.fixture(scope="session")
def launch_app(
    fresh_db: Callable[[], str], carrier: CarrierStub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., RunningServer]]:
    """Factory: start an app under its default server (or `setup`) on a fresh copy of the seed data."""
    log_dir = tmp_path_factory.mktemp("server-logs")
    started: list[RunningServer] = []

    def _launch(
        framework: Framework,
        *,
        env: dict[str, str] | None = None,
        database_url: str | None = None,
        setup: ServerSetup | None = None,
    ) -> RunningServer:
        config = _config(setup, framework, database_url or fresh_db(), carrier.url, env or {})
        server = RunningServer(config, log_dir=log_dir)
        started.append(server)
        return server.start()

    yield _launch
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def live_servers(launch_app: Callable[..., RunningServer]) -> dict[Framework, RunningServer]:
    """Both apps under their default production servers, each on an identical copy of the seed data."""
    return {framework: launch_app(framework) for framework in FRAMEWORKS}


@pytest.fixture(params=FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> Framework:
    """Each test runs once per app."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def live(live_servers: dict[Framework, RunningServer], framework: Framework) -> RunningServer:
    """The running server of the current framework."""
    return live_servers[framework]


@pytest.fixture
def client(live: RunningServer) -> Iterator[httpx.Client]:
    """An HTTP client bound to the current framework's server."""
    with httpx.Client(base_url=live.url, timeout=10) as http:
        yield http


_engines: dict[str, Engine] = {}


@pytest.fixture
def db(live: RunningServer) -> Engine:
    """A sync engine on the current framework's database, for checking state behind the API."""
    if live.database_url not in _engines:
        _engines[live.database_url] = create_engine(sync_url(live.database_url), pool_size=2, pool_pre_ping=True)
    return _engines[live.database_url]


@pytest.fixture
def start_app(launch_app: Callable[..., RunningServer]) -> Iterator[Callable[..., RunningServer]]:
    """Factory for an extra server with its own settings; every server it starts is stopped after the test."""
    started: list[RunningServer] = []

    def _start(
        framework: Framework, *, env: dict[str, str] | None = None, database_url: str | None = None
    ) -> RunningServer:
        started.append(launch_app(framework, env=env, database_url=database_url))
        return started[-1]

    yield _start
    for server in started:
        server.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Dispose engines so the embedded PostgreSQL can stop cleanly."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


@pytest.fixture(scope="session", autouse=True)
def _no_leftover_processes() -> Iterator[None]:
    """The session must leave no child process behind (servers, workers, PostgreSQL, stubs)."""
    yield
    for engine in _engines.values():
        engine.dispose()
    leftovers = [p for p in psutil.Process().children(recursive=True) if p.is_running()]
    _, alive = psutil.wait_procs(leftovers, timeout=10)
    assert not alive, f"processes left behind: {[(p.pid, p.name()) for p in alive]}"
