"""Install footprint: the distributions each app's stack pulls in, from installed package metadata."""

from __future__ import annotations

import importlib.metadata
from collections import deque
from collections.abc import Callable, Iterable
from typing import TypedDict

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# What each app needs at run time under its usual server setups (bench.drive.servers: fastapi-uvicorn and
# fastapi-gunicorn; flask-gunicorn-sync and -gthread), as a user would `pip install` it; the variants' extras
# (psycopg2 for sync FastAPI, gevent and psycogreen for Flask) are left out. The runtime that shared_models itself
# imports is listed for both apps, so the two closures differ only by the framework stacks. The benchmark's own
# tooling (locust, pandas, ...), alembic (migrations run from the harness) and dev tools are in neither. A test
# checks every list against the imports of the apps' code, so a client or library change cannot leave it stale.
_SHARED_RUNTIME: tuple[str, ...] = (
    "pydantic[email]",  # schemas (EmailStr needs email-validator)
    "pydantic-settings",  # AppSettings
    "pyjwt",  # bearer tokens
    "pwdlib[argon2]",  # password hashing
    "structlog",  # logging
    "urllib3",  # the sync carrier pool (shared_models.carrier; Flask's upstream client)
)
FASTAPI_REQUIREMENTS: tuple[str, ...] = (
    "fastapi",  # the framework (brings starlette)
    "uvicorn[standard]",  # fastapi-uvicorn setup: uvloop + httptools, as bench.drive.servers runs it
    "uvicorn-worker",  # fastapi-gunicorn setup (brings gunicorn)
    "python-multipart",  # FastAPI needs it to parse the OAuth2 password form
    "sqlalchemy[asyncio]",  # the async engine (greenlet)
    "asyncpg",  # async PostgreSQL driver
    "aiohttp",  # the carrier client (asyncio)
    *_SHARED_RUNTIME,
)
FLASK_REQUIREMENTS: tuple[str, ...] = (
    "flask",  # the framework (brings werkzeug)
    "flask-cors",  # CORS (Starlette ships its CORSMiddleware; Flask needs the extension)
    "gunicorn",  # both Flask setups (sync and gthread workers)
    "sqlalchemy",  # the sync engine
    "psycopg2-binary",  # sync PostgreSQL driver
    *_SHARED_RUNTIME,
)
REQUIREMENTS: dict[str, tuple[str, ...]] = {"fastapi": FASTAPI_REQUIREMENTS, "flask": FLASK_REQUIREMENTS}

# name -> the requirement strings the installed distribution declares (None when it is not installed).
RequiresLookup = Callable[[str], list[str] | None]


class Footprint(TypedDict):
    """The closure's size and its canonical distribution names."""

    distributions: int
    names: list[str]


def installed_requires(name: str) -> list[str] | None:
    """The Requires-Dist entries of the installed distribution `name`, or None if it is not installed."""
    try:
        return importlib.metadata.distribution(name).requires or []
    except importlib.metadata.PackageNotFoundError:
        return None


def _applies(marker: Marker | None, extras: frozenset[str]) -> bool:
    # A marker without `extra` is evaluated once; one with `extra` holds if any requested extra satisfies it.
    if marker is None:
        return True
    return any(marker.evaluate({"extra": extra}) for extra in ("", *sorted(extras)))


def dependency_closure(requirements: Iterable[str], *, requires: RequiresLookup = installed_requires) -> Footprint:
    """Every distribution reachable from `requirements` through installed metadata.

    Extras are followed (`uvicorn[standard]` adds what `extra == "standard"` guards), environment markers are
    evaluated for this interpreter and platform, and a distribution reached again with new extras is expanded
    again for them. Distributions that are required but not installed are still named (they cannot be expanded).
    """
    extras_seen: dict[str, frozenset[str]] = {}
    queue: deque[Requirement] = deque(Requirement(r) for r in requirements)
    while queue:
        requirement = queue.popleft()
        name = canonicalize_name(requirement.name)
        wanted = frozenset(canonicalize_name(e) for e in requirement.extras)
        known = extras_seen.get(name)
        if known is not None and wanted <= known:
            continue
        extras = wanted | (known or frozenset())
        extras_seen[name] = extras
        for entry in requires(name) or []:
            dependency = Requirement(entry)
            if _applies(dependency.marker, extras):
                queue.append(dependency)
    names = sorted(extras_seen)
    return {"distributions": len(names), "names": names}
