"""Measurements taken from the running apps: OpenAPI coverage, validation answers, start-up and idle memory."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil

from bench.drive.servers import RunningServer, ServerSetup, Sizing
from shared_models.accounts import LOAD_USER_PASSWORD, load_user_email

_FACTORY = re.compile(r"^([A-Za-z_][\w.]*):([A-Za-z_]\w*)(?:\(\))?$")
_MIB = 1024 * 1024


# --- validation ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BadRequest:
    """One invalid request and the field (a `loc` element of the 422 detail) a good answer names."""

    name: str
    method: str
    path: str
    field: str
    json_body: Any = None
    content: bytes | None = None
    content_type: str | None = None
    form: Mapping[str, str] | None = None
    authenticated: bool = False

    def describe(self) -> str:
        """The request as one readable line."""
        if self.json_body is not None:
            body = json.dumps(self.json_body)
        elif self.form is not None:
            body = "&".join(f"{k}={v}" for k, v in self.form.items())
        else:
            body = (self.content or b"").decode("utf-8", "replace")
        body = body if len(body) <= 80 else f"{body[:60]}... ({len(body)} chars)"
        kind = f" [{self.content_type}]" if self.content_type else ""
        return f"{self.method} {self.path}{kind} {body}".rstrip()


_EMAIL = "ergonomics-{n}@example.com"
_PASSWORD = "long-enough-password"
# The fixed list of invalid requests both apps get, in this order. Every one is invalid by the contract, so a
# correct app answers 422 naming `field`; bodies that are wrong as a whole are named by `body`.
BAD_REQUESTS: tuple[BadRequest, ...] = (
    BadRequest(
        "body_invalid_json",
        "POST",
        "/auth/register",
        "body",
        content=b'{"email": "a@example.com",',
        content_type="application/json",
    ),
    BadRequest("body_empty", "POST", "/auth/register", "body", content=b"", content_type="application/json"),
    BadRequest(
        "body_wrong_content_type",
        "POST",
        "/auth/register",
        "body",
        content=json.dumps({"email": _EMAIL.format(n=1), "password": _PASSWORD}).encode(),
        content_type="text/plain",
    ),
    BadRequest("body_missing_field", "POST", "/auth/register", "password", json_body={"email": _EMAIL.format(n=2)}),
    BadRequest("body_wrong_type", "POST", "/auth/register", "email", json_body={"email": ["a"], "password": _PASSWORD}),
    BadRequest(
        "body_extra_long_string",
        "POST",
        "/auth/register",
        "full_name",
        json_body={"email": _EMAIL.format(n=3), "password": _PASSWORD, "full_name": "x" * 100_000},
    ),
    BadRequest(
        "body_nul_byte",
        "POST",
        "/items",
        "name",
        json_body={"name": "bad\x00name", "price": 1},
        authenticated=True,
    ),
    BadRequest(
        "body_number_1e400",
        "POST",
        "/items",
        "price",
        content=b'{"name": "x", "price": 1e400}',
        content_type="application/json",
        authenticated=True,
    ),
    BadRequest(
        "body_huge_integer",
        "POST",
        "/items",
        "stock",
        json_body={"name": "x", "price": 1, "stock": 10**30},
        authenticated=True,
    ),
    BadRequest(
        "body_nested_wrong_type",
        "POST",
        "/orders",
        "quantity",
        json_body={"lines": [{"item_id": 1, "quantity": "many"}]},
        authenticated=True,
    ),
    BadRequest("form_missing_field", "POST", "/auth/token", "password", form={"username": _EMAIL.format(n=4)}),
    BadRequest("query_wrong_type", "GET", "/items?limit=ten", "limit"),
    BadRequest("query_out_of_range", "GET", "/items?limit=1000", "limit"),
    BadRequest("query_nul_byte", "GET", "/items?q=a%00b", "q"),
    BadRequest("query_bad_pattern", "GET", "/items/1/shipping-quote?zip=1234", "zip"),
    BadRequest("path_not_integer", "GET", "/items/abc", "item_id"),
    BadRequest("path_huge_integer", "GET", "/items/99999999999", "item_id"),
)
# The case whose answers are shown side by side.
SAMPLE_CASE = "body_wrong_type"


@dataclass
class CaseAnswer:
    """What one app answered to one bad request."""

    status: int
    names_field: bool
    body: Any = field(default=None)


def names_field(body: Any, expected: str) -> bool:
    """True if a 422-style body has an error whose `loc` list contains `expected`."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, list):
        return False
    return any(isinstance(e, dict) and expected in (e.get("loc") or []) for e in detail)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _token(client: httpx.Client) -> str | None:
    # A seed user when the database is seeded; otherwise a fresh account (the requests below change nothing).
    form = {"username": load_user_email(0), "password": LOAD_USER_PASSWORD}
    response = client.post("/auth/token", data=form)
    if response.status_code != httpx.codes.OK:
        email = f"ergonomics-{time.time_ns()}@example.com"
        client.post("/auth/register", json={"email": email, "password": _PASSWORD})
        response = client.post("/auth/token", data={"username": email, "password": _PASSWORD})
    if response.status_code != httpx.codes.OK:
        return None
    token = response.json().get("access_token")
    return token if isinstance(token, str) else None


def send_bad_requests(base_url: str, cases: Sequence[BadRequest] = BAD_REQUESTS) -> dict[str, CaseAnswer]:
    """Send every case to one running app; authenticated cases carry a valid bearer token."""
    answers: dict[str, CaseAnswer] = {}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        token = _token(client) if any(c.authenticated for c in cases) else None
        for case in cases:
            headers = {"Content-Type": case.content_type} if case.content_type else {}
            if case.authenticated and token:
                headers["Authorization"] = f"Bearer {token}"
            response = client.request(
                case.method,
                case.path,
                json=case.json_body,
                content=case.content,
                data=case.form,
                headers=headers,
            )
            body = _body(response)
            answers[case.name] = CaseAnswer(response.status_code, names_field(body, case.field), body)
    return answers


# --- OpenAPI ---------------------------------------------------------------------------------------------
def openapi_coverage(base_url: str, contract_routes: Iterable[Sequence[str]]) -> tuple[bool, int]:
    """(served: GET /openapi.json answers 200, how many contract (method, path) pairs it documents)."""
    response = httpx.get(f"{base_url}/openapi.json", timeout=30)
    if response.status_code != httpx.codes.OK:
        return False, 0
    paths = response.json().get("paths", {})
    documented = sum(1 for method, path in contract_routes if method.lower() in paths.get(path, {}))
    return True, documented


# --- start-up and memory ---------------------------------------------------------------------------------
def factory_of(setup: ServerSetup) -> tuple[str, str]:
    """(module, factory) that a setup's command line serves, e.g. ("fastapi_app.main", "create_app")."""
    for argument in setup.command(host="127.0.0.1", port=1, sizing=Sizing(workers=1, threads=1)):
        match = _FACTORY.match(argument)
        if match:
            return match.group(1), match.group(2)
    raise ValueError(f"no module:factory argument in the command of {setup.name}")


def _timed_run(code: str, env: Mapping[str, str], cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=dict(env), cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def import_times(
    targets: Mapping[str, tuple[str, str]], *, env: Mapping[str, str], cwd: str, runs: int = 3
) -> dict[str, float]:
    """Median wall time of `python -c "import m; m.factory"` minus the median of `python -c pass`, per app.

    One untimed run per target first, so every timed run finds the same warm bytecode and page caches; the
    apps take turns within each round so drift on the machine hits both alike.
    """
    codes = {name: f"import {module}; {module}.{factory}" for name, (module, factory) in targets.items()}
    for code in codes.values():
        _timed_run(code, env, cwd)
    samples: dict[str, list[float]] = {name: [] for name in [*codes, ""]}
    for _ in range(runs):
        samples[""].append(_timed_run("pass", env, cwd))
        for name, code in codes.items():
            samples[name].append(_timed_run(code, env, cwd))
    bare = statistics.median(samples[""])
    return {name: round(statistics.median(samples[name]) - bare, 4) for name in codes}


def serving_processes(processes: Sequence[psutil.Process]) -> list[psutil.Process]:
    """The processes that serve requests: the leaves of the tree (a lone process serves by itself)."""
    pids = {p.pid for p in processes}
    parents: set[int] = set()
    for process in processes:
        try:
            parents.add(process.ppid())
        except psutil.NoSuchProcess:
            continue
    return [p for p in processes if p.pid not in parents & pids]


def idle_rss_per_worker_mb(processes: Sequence[psutil.Process]) -> float:
    """Mean RSS of the serving processes, in MiB.

    A supervisor that serves nothing (gunicorn's master) is left out: uvicorn at one worker has none, so
    dividing the whole tree by its size would credit one stack with a half-empty process.
    """
    rss: list[int] = []
    for process in serving_processes(processes):
        try:
            rss.append(process.memory_info().rss)
        except psutil.NoSuchProcess:
            continue
    return round(statistics.fmean(rss) / _MIB, 1) if rss else 0.0


@dataclass
class StartSample:
    """One cold start: seconds from Popen to the first 200 on /health, and idle RSS per worker."""

    ready_s: float
    rss_per_worker_mb: float
    processes: int


def start_sample(server: RunningServer) -> StartSample:
    """A just-started server's RunningServer.ready_after_s and idle RSS (before it has served anything else)."""
    tree = server.tree()
    return StartSample(round(server.ready_after_s, 4), idle_rss_per_worker_mb(tree), len(tree))


def cold_start(make_server: Callable[[], RunningServer]) -> StartSample:
    """Start one server, sample its start, stop it."""
    with make_server() as server:
        return start_sample(server)
