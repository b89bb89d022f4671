"""Checks before anything is timed: a started setup answers correctly, and sends the same SQL as the other app.

Correctness is TFB-style: a handful of requests compared with the database. Identical SQL is counted, not
assumed: PostgreSQL's pg_stat_statements (loaded by bench.drive.postgres) records every statement the setup
executes while its scenario's requests are replayed one at a time, and a scenario whose count per request differs
from the other framework's reference app is refused, unless a driver mandates the difference (DRIVER_ALLOWANCES).
BEGIN, COMMIT and ROLLBACK count (track_utility); an empty statement (asyncpg's pre-ping `;`) has no parse tree
and is not recorded, so a ping is seen only through the transaction around it.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import httpx
from pydantic import BaseModel
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from bench.drive.servers import DEFAULT_SETUP, FRAMEWORKS, SETUPS, RunningServer, ServerSetup, Stack
from shared_models.accounts import LOAD_USER_PASSWORD, load_user_email
from shared_models.migrate import sync_url

# Each scenario's requests are replayed WARMUP_ROUNDS times per worker uncounted (connections opened), then
# counted round by round until STABLE_ROUNDS rounds in a row agree: a connection's first use can add statements
# (asyncpg introspects an enum type once per connection) that steady state never pays. A round is settled when
# no session of the database is busy and the counts stopped moving.
WARMUP_ROUNDS = 3
STABLE_ROUNDS = 3
MAX_ROUNDS = 12
_SETTLE_S = {False: 0.03, True: 0.2}  # writes settle longer: notifications are inserted after the response
_SETTLE_TIMEOUT_S = 10.0
_CAST = re.compile(r"::[A-Z_]+(\(\d+(, \d+)?\))?")


@dataclass(frozen=True)
class Allowance:
    """A statement-count difference a database driver mandates, with the reason the report prints."""

    extra: int  # statements per request this stack may send beyond the other framework's reference
    reason: str


# (stack, scenario) → an accepted difference. Empty: with pre-ping decided alike, no driver needs one.
DRIVER_ALLOWANCES: dict[tuple[Stack, str], Allowance] = {}


class ScenarioStatements(BaseModel):
    """The SQL one request of a scenario sends, counted by PostgreSQL."""

    per_request: int  # statements per request (in the last STABLE_ROUNDS counted rounds, which agree)
    rounds: list[int]  # statements of every counted round
    statements: dict[str, int]  # normalised statement text → executions per request (the last round)


class SetupVerification(BaseModel):
    """The typed result of verifying one setup: recorded in the run's metadata."""

    setup: str
    problems: list[str]  # wrong answers: none of the setup's cells may be timed
    statements: dict[str, ScenarioStatements]  # scenario → its SQL per request
    reference: str = ""  # the setup whose counts these were compared with
    refused: dict[str, str] = {}  # scenario → why it is not timed (its SQL differs from the reference)
    allowed: dict[str, str] = {}  # scenario → the driver's reason a different count was accepted
    wrote: bool = False  # the verification placed orders: restore the data before timing
    unchecked: str = ""  # why the SQL could not be compared (the reference app could not be counted), if so
    recounted: bool = True  # False: this start's answers were checked, its counts are an earlier start's

    @property
    def ok(self) -> bool:
        """True when every scenario may be timed."""
        return not self.problems and not self.refused


# --- the requests of each scenario (the same endpoints and parameters as its locustfile) --------------------
@dataclass
class _Visitor:
    client: httpx.Client
    seed_items: int
    rng: random.Random
    token: str = ""

    def item_id(self) -> int:
        return self.rng.randint(1, self.seed_items)

    def expect(self, response: httpx.Response, status: int) -> None:
        if response.status_code != status:
            raise VerificationError(f"{response.request.method} {response.request.url.path} answered "
                                    f"{response.status_code}, not {status}: {response.text[:120]}")  # fmt: skip

    def log_in(self) -> None:
        form = {"username": load_user_email(self.rng.randrange(5)), "password": LOAD_USER_PASSWORD}
        response = self.client.post("/auth/token", data=form)
        self.expect(response, 200)
        self.token = str(response.json()["access_token"])

    def get(self, path: str, *, auth: bool = False) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        self.expect(self.client.get(path, headers=headers), 200)

    def order(self) -> None:
        lines = [{"item_id": i, "quantity": 1} for i in self.rng.sample(range(1, self.seed_items + 1), 3)]
        headers = {"Authorization": f"Bearer {self.token}"}
        self.expect(self.client.post("/orders", json={"lines": lines}, headers=headers), 201)

    def quote(self) -> None:
        self.get(f"/items/{self.item_id()}/shipping-quote?zip={self.rng.randint(0, 99_999):05d}")

    def journey(self) -> None:
        # One of each task of the journey scenario, after its log-in.
        self.log_in()
        self.get(f"/items?limit=10&skip={self.rng.randint(0, 200)}")
        self.get(f"/items?limit=10&skip={self.rng.randint(0, 200)}&q=widget")
        self.get(f"/items/{self.item_id()}")
        self.quote()
        self.order()
        self.get("/orders?limit=10", auth=True)


@dataclass(frozen=True)
class _Probe:
    writes: bool
    send: Callable[[_Visitor], None]
    needs_login: bool = False


PROBES: dict[str, _Probe] = {
    "health": _Probe(False, lambda v: v.get("/health/live")),
    "item": _Probe(False, lambda v: v.get(f"/items/{v.item_id()}")),
    "list": _Probe(False, lambda v: v.get(f"/items?limit=20&skip={v.rng.randint(0, v.seed_items - 20)}")),
    "order": _Probe(True, _Visitor.order, needs_login=True),
    "journey": _Probe(True, _Visitor.journey),
    "upstream": _Probe(False, _Visitor.quote),
}


class VerificationError(RuntimeError):
    """A request of the verification got a wrong answer."""


# --- counting -----------------------------------------------------------------------------------------------
class StatementCounter:
    """pg_stat_statements of one database, read over one autocommit connection (it adds no BEGIN/ROLLBACK)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dbid = int(conn.scalar(text("SELECT oid FROM pg_database WHERE datname = current_database()")) or 0)

    def reset(self) -> None:
        """Forget this database's statements."""
        self.conn.execute(text("SELECT pg_stat_statements_reset(0, :dbid, 0)"), {"dbid": self.dbid})

    def read(self) -> Counter[str]:
        """Executions per normalised statement since the reset (our own pg_stat_* reads left out)."""
        rows = self.conn.execute(
            text("SELECT query, calls FROM pg_stat_statements WHERE dbid = :dbid AND query NOT LIKE '%pg_stat%'"),
            {"dbid": self.dbid},
        )
        return Counter({str(query): int(calls) for query, calls in rows if calls})

    def settled(self, settle_s: float) -> Counter[str]:
        """The counts once no other session of the database is busy and they stopped moving for settle_s."""
        busy = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state NOT IN ('idle')"
        )
        deadline = time.monotonic() + _SETTLE_TIMEOUT_S
        last, since = self.read(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.01)
            now = self.read()
            if now != last or self.conn.scalar(busy):
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= settle_s:
                return now
        raise VerificationError(f"the database did not settle within {_SETTLE_TIMEOUT_S:.0f} s")


@contextmanager
def statement_counter(database_url: str) -> Iterator[StatementCounter]:
    """A counter on the database; a clear error if pg_stat_statements is not loaded on its server."""
    engine = create_engine(sync_url(database_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            loaded = conn.scalar(text("SELECT 'pg_stat_statements' = ANY(string_to_array(current_setting("
                                      "'shared_preload_libraries'), ', '))"))  # fmt: skip
            if not loaded:
                raise VerificationError(
                    "pg_stat_statements is not in the server's shared_preload_libraries: the per-request SQL "
                    "cannot be counted (use the embedded PostgreSQL, or load the extension on DATABASE_URL's server)"
                )
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
            yield StatementCounter(conn)
    finally:
        engine.dispose()


def count_statements(
    url: str, database_url: str, scenarios: list[str], *, seed_items: int, workers: int = 1
) -> dict[str, ScenarioStatements]:
    """Replay each scenario's requests one at a time and count the statements PostgreSQL executes per request."""
    result: dict[str, ScenarioStatements] = {}
    with statement_counter(database_url) as counter, httpx.Client(base_url=url, timeout=30) as client:
        visitor = _Visitor(client, seed_items, random.Random(20261202))
        for scenario in scenarios:
            probe = PROBES[scenario]
            if probe.needs_login:
                visitor.log_in()
            for _ in range(WARMUP_ROUNDS * workers):
                probe.send(visitor)
            rounds: list[Counter[str]] = []
            totals: list[int] = []
            while len(totals) < STABLE_ROUNDS or len(set(totals[-STABLE_ROUNDS:])) > 1:
                if len(totals) == MAX_ROUNDS:
                    raise VerificationError(f"{scenario}: the statements per request never settled: {totals}")
                counter.settled(_SETTLE_S[probe.writes])
                counter.reset()
                probe.send(visitor)
                rounds.append(counter.settled(_SETTLE_S[probe.writes]))
                totals.append(sum(rounds[-1].values()))
            result[scenario] = ScenarioStatements(per_request=totals[-1], rounds=totals, statements=dict(rounds[-1]))
    return result


# --- the reference and the comparison -----------------------------------------------------------------------
def reference_of(setup: ServerSetup) -> ServerSetup:
    """The setup whose SQL this one must match: the other framework's main app (or its baseline, for one)."""
    other = SETUPS[DEFAULT_SETUP[next(fw for fw in FRAMEWORKS if fw != setup.framework)]]
    return other if setup.baseline is not None else SETUPS[other.baseline or other.name]


def compare(
    setup: ServerSetup,
    counts: Mapping[str, ScenarioStatements],
    reference: Mapping[str, ScenarioStatements],
    allowances: Mapping[tuple[Stack, str], Allowance] = DRIVER_ALLOWANCES,
) -> tuple[dict[str, str], dict[str, str]]:
    """(refused, allowed): scenarios whose statements per request differ from the reference's, and why."""
    refused: dict[str, str] = {}
    allowed: dict[str, str] = {}
    for scenario, ours in counts.items():
        theirs = reference.get(scenario)
        if theirs is None or ours.per_request == theirs.per_request:
            continue
        allowance = allowances.get((setup.stack, scenario))
        if allowance is not None and ours.per_request - theirs.per_request == allowance.extra:
            allowed[scenario] = allowance.reason
            continue
        refused[scenario] = (
            f"{setup.name} sends {ours.per_request} SQL statements per {scenario} request, the other framework "
            f"{theirs.per_request}: {_difference(ours, theirs)}"
        )
    return refused, allowed


def _normalised(statements: Mapping[str, int]) -> Counter[str]:
    # asyncpg's statements carry explicit parameter casts ($1::INTEGER) where psycopg2's do not.
    result: Counter[str] = Counter()
    for query, calls in statements.items():
        result[" ".join(_CAST.sub("", query).split())[:80]] += calls
    return result


def _difference(ours: ScenarioStatements, theirs: ScenarioStatements) -> str:
    extra = _normalised(ours.statements) - _normalised(theirs.statements)
    missing = _normalised(theirs.statements) - _normalised(ours.statements)
    parts = [f"+{n}× {q}" for q, n in extra.items()] + [f"-{n}× {q}" for q, n in missing.items()]
    return "; ".join(parts) or "same statements, other counts"


# --- correctness ----------------------------------------------------------------------------------------------
def check_answers(url: str, database_url: str, scenarios: list[str], *, seed_items: int) -> list[str]:
    """Problems found by a handful of read requests compared with the database (empty = correct)."""
    problems: list[str] = []
    engine = create_engine(sync_url(database_url), poolclass=NullPool)
    try:
        with httpx.Client(base_url=url, timeout=10) as client, engine.connect() as conn:
            health = client.get("/health")
            if health.status_code != 200 or health.json().get("database") != "ok":
                problems.append(f"/health answered {health.status_code} {health.text[:100]}")
            name, price = conn.execute(text("SELECT name, price FROM items WHERE id = 1")).one()
            if "item" in scenarios:
                item = client.get("/items/1")
                body = item.json() if item.status_code == 200 else {}
                if body.get("name") != name or Decimal(str(body.get("price"))) != price:
                    problems.append(f"/items/1 does not match the database: {item.status_code} {item.text[:100]}")
                missing = client.get("/items/2147483647")
                if missing.status_code != 404:
                    problems.append(f"a missing item answered {missing.status_code}, not 404")
            if "list" in scenarios:
                page = client.get("/items", params={"limit": 20, "skip": 0})
                body = page.json() if page.status_code == 200 else {}
                if len(body.get("data", [])) != 20 or body.get("count") != seed_items:
                    problems.append(f"/items?limit=20 gave {page.status_code}, count={body.get('count')}")
            if "upstream" in scenarios or "journey" in scenarios:
                quote = client.get("/items/1/shipping-quote", params={"zip": "12345"})
                if quote.status_code != 200 or quote.json().get("item_id") != 1:
                    problems.append(f"/items/1/shipping-quote answered {quote.status_code} {quote.text[:100]}")
    finally:
        engine.dispose()
    return problems


def verify_setup(
    live: RunningServer,
    scenarios: list[str],
    *,
    seed_items: int,
    reference: Mapping[str, ScenarioStatements] | None = None,
    allowances: Mapping[tuple[Stack, str], Allowance] = DRIVER_ALLOWANCES,
    counted: Mapping[str, ScenarioStatements] | None = None,
) -> SetupVerification:
    """Check a started setup's answers, count its SQL per request, and compare it with the reference's.

    `counted`: the counts of an earlier start of the same setup in this run. The SQL per request is a property
    of the code and its settings, not of one start, so a fresh start rechecks its answers and reuses them
    (counting replays every scenario and waits for the database to settle: ~5 s per start).
    """
    setup = live.config.setup
    served = [s for s in scenarios if setup.supports(s)]
    result = SetupVerification(setup=setup.name, problems=[], statements={})
    try:
        result.problems = check_answers(live.url, live.database_url, served, seed_items=seed_items)
        if not result.problems and counted is not None and set(served) <= set(counted):
            result.statements = {s: counted[s] for s in served}
            result.recounted = False
        elif not result.problems:
            result.wrote = any(PROBES[s].writes for s in served)
            result.statements = count_statements(
                live.url, live.database_url, served, seed_items=seed_items, workers=live.config.sizing.workers
            )
    except (VerificationError, httpx.HTTPError, ValueError, KeyError) as exc:
        result.problems.append(f"{type(exc).__name__}: {exc}")
    if reference is not None and not result.problems:
        result.reference = reference_of(setup).name
        result.refused, result.allowed = compare(setup, result.statements, reference, allowances)
    return result
