"""Setup verification: every setup answers the reads, both apps send the same SQL, and a setup that doesn't is refused."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench.config import SCENARIOS
from bench.drive.carrier_stub import CarrierStub
from bench.drive.servers import DEFAULT_SETUP, FLASK, SETUPS, App, RunningServer, ServerConfig, ServerSetup
from bench.drive.verify import (
    PROBES,
    Allowance,
    ScenarioStatements,
    compare,
    count_statements,
    reference_of,
    verify_setup,
)
from shared_models.migrate import sync_url

_FIXTURE_APPS = Path(__file__).parent / "fixtures" / "apps"
_ENV = {"APP_ENV": "production", "JWT_SECRET": "verify-test-secret-" + "x" * 24, "CARRIER_TIMEOUT_S": "2"}
EXTRA_QUERY = ServerSetup(
    "flask-extra-query", App("extra_query_app:create_app", "flask-sync", FLASK.db_driver, "—"), "gunicorn", "gthread"
)


def _counts(**per_scenario: dict[str, int]) -> dict[str, ScenarioStatements]:
    return {
        scenario: ScenarioStatements(per_request=sum(s.values()), rounds=[sum(s.values())] * 3, statements=s)
        for scenario, s in per_scenario.items()
    }


READ = {"BEGIN": 1, "SELECT items.* FROM items WHERE items.id = $1": 1, "ROLLBACK": 1}


def test_a_setup_with_more_statements_than_the_other_framework_is_refused() -> None:
    flask = SETUPS["flask-gunicorn-sync"]
    reference = _counts(item=READ, list=READ)
    ours = _counts(item={**READ, "SELECT $1": 1}, list=READ)
    refused, allowed = compare(flask, ours, reference)
    assert list(refused) == ["item"]
    assert "4 SQL statements per item request, the other framework 3" in refused["item"]
    assert "+1× SELECT $1" in refused["item"]
    assert allowed == {}
    # The same difference, documented as mandated by the driver, is accepted and its reason kept for the report.
    reason = "the driver checks every connection it hands out"
    refused, allowed = compare(flask, ours, reference, {("flask-sync", "item"): Allowance(1, reason)})
    assert refused == {}
    assert allowed == {"item": reason}
    # An allowance covers exactly the documented difference, not any other.
    refused, _ = compare(flask, ours, reference, {("flask-sync", "item"): Allowance(2, reason)})
    assert list(refused) == ["item"]


def test_every_setup_is_compared_with_the_other_frameworks_app_of_its_kind() -> None:
    for setup in SETUPS.values():
        reference = reference_of(setup)
        assert reference.framework != setup.framework
        assert (reference.baseline is None) == (setup.baseline is None), setup.name
        assert reference.name in (
            DEFAULT_SETUP[reference.framework],
            SETUPS[DEFAULT_SETUP[reference.framework]].baseline,
        )


def test_every_scenario_has_a_probe() -> None:
    assert set(PROBES) == set(SCENARIOS)


# --- live ---------------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _slow_only_when_selected(request: pytest.FixtureRequest) -> None:
    """`slow` tests here run with `pytest -m slow` (make test-slow), not in the everyday suite."""
    if request.node.get_closest_marker("slow") and "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("long run: select it with -m slow")


@pytest.fixture
def serve(
    fresh_db: Callable[[], str], carrier: CarrierStub, tmp_path: Path
) -> Iterator[Callable[[ServerSetup], RunningServer]]:
    """Factory: start a setup on a fresh copy of the seed data (one worker); stopped after the test."""
    started: list[RunningServer] = []

    def _serve(setup: ServerSetup, **env: str) -> RunningServer:
        module = setup.app.entry.split(":")[0]
        if setup is not EXTRA_QUERY and not _importable(module):
            pytest.skip(f"{module} (the app of {setup.name}) is not in this tree yet")
        # One CPU: a documented worker count is then 1 (uvicorn) or 3 (gunicorn) processes.
        config = ServerConfig(
            setup=setup, database_url=fresh_db(), carrier_url=carrier.url, workers=1, cpus=[0], app_env={**_ENV, **env}
        )
        started.append(RunningServer(config, log_dir=tmp_path).start())
        return started[-1]

    yield _serve
    for server in started:
        server.stop()


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its package is missing too
        return False


def _seed_items(live: RunningServer) -> int:
    engine = create_engine(sync_url(live.database_url), poolclass=NullPool)
    with engine.connect() as conn:
        count = int(conn.scalar(text("SELECT count(*) FROM items")) or 0)
    engine.dispose()
    return count


@contextmanager
def _started(serve: Callable[..., RunningServer], setup: ServerSetup, **env: str) -> Iterator[RunningServer]:
    live = serve(setup, **env)
    try:
        yield live
    finally:
        live.stop()


@pytest.mark.e2e
@pytest.mark.parametrize(
    "name",
    # A documented worker count only starts more processes of a setup tested here already: slow suite.
    [pytest.param(n, marks=pytest.mark.slow) if s.workers != "equal" else n for n, s in sorted(SETUPS.items())],
)
def test_every_setup_starts_and_answers_the_reads(name: str, serve: Callable[..., RunningServer]) -> None:
    served = [s for s in ("health", "item", "list", "upstream") if SETUPS[name].supports(s)]
    with _started(serve, SETUPS[name]) as live:
        result = verify_setup(live, ["health", "item", "list", "upstream"], seed_items=_seed_items(live))
    assert result.problems == []
    assert list(result.statements) == served
    for scenario, counted in result.statements.items():
        # The floor touches no database; every other read needs at least its SELECT.
        assert (counted.per_request == 0) == (scenario == "health"), scenario


@pytest.mark.e2e
def test_both_apps_send_the_same_sql_per_request(serve: Callable[..., RunningServer]) -> None:
    counts = {}
    for framework, name in DEFAULT_SETUP.items():
        with _started(serve, SETUPS[name]) as live:
            counts[framework] = count_statements(
                live.url, live.database_url, ["item", "list", "order"], seed_items=_seed_items(live)
            )
    refused, _ = compare(SETUPS[DEFAULT_SETUP["fastapi"]], counts["fastapi"], counts["flask"])
    assert refused == {}


@pytest.mark.e2e
def test_a_setup_that_sends_one_more_query_is_refused(serve: Callable[..., RunningServer]) -> None:
    with _started(serve, SETUPS["flask-gunicorn-gthread"]) as live:
        reference = count_statements(live.url, live.database_url, ["item", "list"], seed_items=_seed_items(live))
    with _started(serve, EXTRA_QUERY, PYTHONPATH=str(_FIXTURE_APPS)) as live:
        result = verify_setup(live, ["item", "list"], seed_items=_seed_items(live), reference=reference)
    assert result.problems == []
    assert list(result.refused) == ["item"]  # list requests do not pass the extra query
    assert result.statements["item"].per_request == reference["item"].per_request + 1
    assert "+1× SELECT now() AS extra_query" in result.refused["item"]
    assert not result.ok


@pytest.mark.e2e
def test_a_later_start_reuses_the_counts_but_rechecks_its_answers_and_compares_again(
    serve: Callable[..., RunningServer],
) -> None:
    with _started(serve, SETUPS["flask-gunicorn-gthread"]) as live:
        reference = count_statements(live.url, live.database_url, ["item"], seed_items=_seed_items(live))
    with _started(serve, EXTRA_QUERY, PYTHONPATH=str(_FIXTURE_APPS)) as live:
        first = verify_setup(live, ["item"], seed_items=_seed_items(live), reference=reference)
        again = verify_setup(
            live, ["item"], seed_items=_seed_items(live), reference=reference, counted=first.statements
        )
    assert first.recounted
    assert not again.recounted
    assert again.statements == first.statements
    assert again.refused == first.refused
    assert list(again.refused) == ["item"]
    # Answers are still checked on every start: a server that does not answer fails, counts or not.
    gone = verify_setup(live, ["item"], seed_items=_seed_items(live), counted=first.statements)
    assert gone.problems
    assert not gone.statements
