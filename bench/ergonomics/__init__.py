"""Ergonomics of the two apps, measured from their source and from the running apps (`ergonomics.json`).

Nothing here is hard-coded: every figure is counted or timed when measure_ergonomics runs. The method of each:

- loc: lines of code per file (`tokenize` + `ast`: blank lines, comment-only lines and docstrings excluded; a
  multi-line statement counts every physical line), each file mapped whole to a concern by the declared table
  loc.CONCERN_RULES; unknown files count as "other". shared_models/ (settings, models, schemas, security,
  422 encoder) serves both apps and is counted for neither. Both apps are formatted by the same `ruff format`
  (line length 110), so line counts compare like with like.
- type_hint_coverage: over every def / async def (nested included), the share of parameters (self/cls
  excluded, *args/**kwargs included) with an annotation and the share of functions with a return annotation.
- openapi: each app is started (bench.drive.servers, default setup, 1 worker, APP_ENV=development) and asked for
  /openapi.json. paths_total = the contract's (method, path) pairs, taken from FastAPI's route table
  (`fastapi_app.main.create_app()` built in a separate interpreter, never served: its APIRoutes, docs routes
  excluded); paths_documented = how many of them the served document lists. automatic = the view serving
  /openapi.json (and, for FastAPI, `app.openapi`) is the framework's code, not the app's. hand_written_loc = LOC
  of the app's files of concern "openapi" plus the lines elsewhere that exist only for the docs
  (loc.doc_only_lines: summary=, responses=, tags=, ... and the constants only they use); those lines also
  stay in their file's concern under `loc` (FastAPI's are in its routes).
- annotations (hints.py): whether the framework reads a view's annotations (a one-route probe app per
  framework), the contract's request inputs and typed response schemas (FastAPI's dependant tree, the contract's
  count for both apps), the share of them a framework derives from annotations, and the app's hand-written
  validation (loc concern "validation") and OpenAPI lines (hand_written_loc of openapi).
- validation_quality: live.BAD_REQUESTS, sent to both running apps (authenticated cases with a real token);
  4xx_pct = share answered 4xx; names_field_pct = share whose 422 detail has the offending field in a `loc`.
- background_tasks: built_in = the app imports a BackgroundTask(s) class from its framework; hand_written_loc =
  LOC of the app's files of concern "background" (the task bodies themselves live with the routes in both).
- async_support: route handlers found by ast (route decorators, add_url_rule, add_api_route), async def vs def;
  native = the built app object is an ASGI app (its `__call__` is a coroutine function).
- cold_start: cold_start_runs starts per app, alternating apps, each timed by RunningServer from Popen to the
  first 200 on /health (polled every 20 ms), median; the first is the start of the server the live probes then
  use (sampled before any probe); import_s = median of import_runs `python -c "import <module>;
  <module>.<factory>"` minus the median of as many `python -c pass` (after one untimed warm-up run); idle RSS per
  worker = mean RSS of the serving processes right after start (the leaves of RunningServer.tree(): gunicorn's
  master, which serves nothing, is left out, since uvicorn at one worker has no master), median over starts.
- install_footprint: the dependency closure of footprint.REQUIREMENTS over installed metadata (extras and
  environment markers evaluated with `packaging`).
- concepts: structure.framework_concepts, a proxy for the learning curve, not a measure of it.
- snippets: the source of the handler each framework dispatches GET /items/1 to (found through its route
  table), decorators included.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.argtypes import bounded_int
from bench.drive.servers import DEFAULT_SETUP, FRAMEWORKS, SETUPS, Framework, RunningServer, ServerConfig
from bench.ergonomics import footprint, live, loc, structure
from bench.runformat import Ergonomics

__all__ = ["APPS", "AppPackage", "main", "measure_ergonomics"]

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class AppPackage:
    """One app: its package and the packages that make up its framework."""

    framework: Framework
    package: str
    framework_packages: tuple[str, ...]

    @property
    def directory(self) -> Path:
        """The package's source directory."""
        return REPO_ROOT / self.package

    def sources(self) -> list[str]:
        """The text of every module of the package."""
        return [path.read_text(encoding="utf-8") for path in loc.python_files(self.directory)]


# Starlette is FastAPI's foundation and Werkzeug Flask's: apps import from both layers, so both count.
APPS: dict[Framework, AppPackage] = {
    "fastapi": AppPackage("fastapi", "fastapi_app", ("fastapi", "starlette")),
    "flask": AppPackage("flask", "flask_app", ("flask", "werkzeug", "flask_cors")),
}
IMPORT_RUNS = 3


def _config(framework: Framework, database_url: str, carrier_url: str) -> ServerConfig:
    return ServerConfig(
        setup=SETUPS[DEFAULT_SETUP[framework]],
        database_url=database_url,
        carrier_url=carrier_url,
        workers=1,
        app_env={"APP_ENV": "development"},
    )


def _introspect(framework: Framework, env: dict[str, str]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.ergonomics._introspect", framework],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"building the {framework} app failed:\n{completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.splitlines()[-1])
    return result


@dataclass(frozen=True)
class _SourceFacts:
    """Everything measured from one app's source."""

    loc: loc.LocReport
    coverage: structure.TypeHintCoverage
    async_routes: int
    sync_routes: int
    concepts: list[str]
    openapi_loc: int
    background_built_in: bool


def _from_source(app: AppPackage) -> _SourceFacts:
    sources = app.sources()
    report = loc.measure_loc(app.directory, relative_to=REPO_ROOT)
    handlers = [h for source in sources for h in structure.route_handlers(source)]
    doc_lines = sum(
        loc.doc_only_loc(path.read_text(encoding="utf-8"))
        for path in loc.python_files(app.directory)
        if loc.concern_of(path.relative_to(app.directory).as_posix()) != "openapi"
    )
    return _SourceFacts(
        loc=report,
        coverage=structure.type_hint_coverage(sources),
        async_routes=sum(h.is_async for h in handlers),
        sync_routes=sum(not h.is_async for h in handlers),
        concepts=structure.framework_concepts(sources, app.framework_packages),
        openapi_loc=report.by_concern["openapi"] + doc_lines,
        background_built_in=structure.imports_name(sources, app.framework_packages, "BackgroundTask"),
    )


def _automatic_openapi(app: AppPackage, introspection: dict[str, Any]) -> bool:
    openapi = introspection.get("openapi")
    if not openapi:
        return False
    own = (app.package, f"{app.package}.")
    return not any(str(openapi.get(key, "")).startswith(own) for key in ("module", "generator_module"))


def _async_notes(native: bool, async_routes: int, sync_routes: int) -> str:
    total = async_routes + sync_routes
    if native:
        return (
            f"ASGI app (async __call__): {async_routes} of {total} route handlers are async def and run on the "
            f"event loop; {sync_routes} plain def handlers would run in the threadpool"
        )
    return (
        f"WSGI app (sync __call__): {sync_routes} of {total} route handlers are plain def; concurrency comes from "
        f"worker processes/threads; an async def view would get its own event loop per request (asgiref)"
    )


def _snippet(introspection: dict[str, Any]) -> str:
    where = introspection.get("snippet")
    if not where:
        return ""
    return structure.function_source(Path(where["file"]), where["name"], int(where["first_line"]))


def _validation(answers: dict[Framework, dict[str, live.CaseAnswer]]) -> dict[str, Any]:
    cases = live.BAD_REQUESTS
    sample = next(c for c in cases if c.name == live.SAMPLE_CASE)
    result: dict[str, Any] = {"cases": len(cases)}
    for framework, by_case in answers.items():
        statuses = [by_case[c.name].status for c in cases]
        result[framework] = {
            "4xx_pct": round(100.0 * sum(400 <= s < 500 for s in statuses) / len(cases), 1),
            "names_field_pct": round(100.0 * sum(by_case[c.name].names_field for c in cases) / len(cases), 1),
            "sample": {
                "request": sample.describe(),
                "status": by_case[sample.name].status,
                "body": by_case[sample.name].body,
            },
        }
    result["per_case"] = [
        {
            "name": case.name,
            **{
                fw: {"status": answers[fw][case.name].status, "names_field": answers[fw][case.name].names_field}
                for fw in answers
            },
        }
        for case in cases
    ]
    return result


def _annotations(built: dict[Framework, dict[str, Any]], code: dict[Framework, _SourceFacts]) -> dict[str, Any]:
    """Per framework: does it read annotations (probe), and how much of the contract's input validation and
    response schemas come from them vs from hand-written validation and OpenAPI code."""
    contract = built["fastapi"]["annotations"]
    out: dict[str, Any] = {}
    for fw in FRAMEWORKS:
        reads = bool(built[fw]["annotations"]["reads"])
        out[fw] = {
            "reads": reads,
            "routes": contract["routes"],
            "inputs": contract["inputs"],
            "inputs_from_annotations": contract["inputs"] if reads else 0,
            "responses_typed": contract["responses_typed"] if reads else 0,
            "validation_hand_written_loc": code[fw].loc.by_concern["validation"],
            "docs_hand_written_loc": code[fw].openapi_loc,
        }
    return out


def measure_ergonomics(
    *,
    database_url: str,
    carrier_url: str,
    out_path: Path | None = None,
    cold_start_runs: int = 5,
    import_runs: int = IMPORT_RUNS,
) -> dict[str, Any]:
    """Measure both apps (code and running servers) and return, optionally also write, ergonomics.json."""
    if cold_start_runs < 1:
        raise ValueError(f"cold_start_runs must be >= 1, got {cold_start_runs}")
    if import_runs < 1:
        raise ValueError(f"import_runs must be >= 1, got {import_runs}")
    configs = {fw: _config(fw, database_url, carrier_url) for fw in FRAMEWORKS}
    code = {fw: _from_source(APPS[fw]) for fw in FRAMEWORKS}
    built = {fw: _introspect(fw, configs[fw].environment()) for fw in FRAMEWORKS}
    contract_routes = [tuple(route) for route in built["fastapi"]["routes"]]

    imports = live.import_times(
        {fw: live.factory_of(configs[fw].setup) for fw in FRAMEWORKS},
        env=configs["fastapi"].environment(),
        cwd=str(REPO_ROOT),
        runs=import_runs,
    )
    openapi_live: dict[Framework, tuple[bool, int]] = {}
    answers: dict[Framework, dict[str, live.CaseAnswer]] = {}
    starts: dict[Framework, list[live.StartSample]] = {fw: [] for fw in FRAMEWORKS}
    with tempfile.TemporaryDirectory(prefix="bench-ergonomics-") as log_dir:
        for fw in FRAMEWORKS:
            with RunningServer(configs[fw], log_dir=Path(log_dir)) as server:
                starts[fw].append(live.start_sample(server))  # its first cold start: sampled before any probe
                openapi_live[fw] = live.openapi_coverage(server.url, contract_routes)
                answers[fw] = live.send_bad_requests(server.url)
        # Alternate the apps so that any drift of the machine during the runs affects both alike.
        for _ in range(cold_start_runs - 1):
            for fw in FRAMEWORKS:
                make = functools.partial(RunningServer, configs[fw], log_dir=Path(log_dir))
                starts[fw].append(live.cold_start(make))

    result: dict[str, Any] = {
        "loc": {fw: code[fw].loc.by_concern for fw in FRAMEWORKS},
        "loc_files": {fw: code[fw].loc.by_file for fw in FRAMEWORKS},
        "type_hint_coverage": {
            fw: {
                "params_pct": code[fw].coverage.params_pct,
                "returns_pct": code[fw].coverage.returns_pct,
                "params": code[fw].coverage.params,
                "params_annotated": code[fw].coverage.params_annotated,
                "functions": code[fw].coverage.functions,
                "returns_annotated": code[fw].coverage.returns_annotated,
            }
            for fw in FRAMEWORKS
        },
        "openapi": {
            fw: {
                "served": openapi_live[fw][0],
                "automatic": _automatic_openapi(APPS[fw], built[fw]),
                "paths_documented": openapi_live[fw][1],
                "paths_total": len(contract_routes),
                "hand_written_loc": code[fw].openapi_loc,
            }
            for fw in FRAMEWORKS
        },
        "validation_quality": _validation(answers),
        "background_tasks": {
            fw: {
                "built_in": code[fw].background_built_in,
                "hand_written_loc": code[fw].loc.by_concern["background"],
            }
            for fw in FRAMEWORKS
        },
        "async_support": {
            fw: {
                "async_routes": code[fw].async_routes,
                "sync_routes": code[fw].sync_routes,
                "native": bool(built[fw]["asgi"]),
                "notes": _async_notes(bool(built[fw]["asgi"]), code[fw].async_routes, code[fw].sync_routes),
            }
            for fw in FRAMEWORKS
        },
        "cold_start": {
            fw: {
                "median_s": round(statistics.median(s.ready_s for s in starts[fw]), 4),
                "samples": [s.ready_s for s in starts[fw]],
                "import_s": imports[fw],
                "idle_rss_per_worker_mb": round(statistics.median(s.rss_per_worker_mb for s in starts[fw]), 1),
            }
            for fw in FRAMEWORKS
        },
        "install_footprint": {fw: footprint.dependency_closure(footprint.REQUIREMENTS[fw]) for fw in FRAMEWORKS},
        "concepts": {
            **{fw: len(code[fw].concepts) for fw in FRAMEWORKS},
            **{f"{fw}_names": code[fw].concepts for fw in FRAMEWORKS},
        },
        "snippets": {fw: _snippet(built[fw]) for fw in FRAMEWORKS},
        "annotations": _annotations(built, code),
    }
    record = Ergonomics.model_validate(result)  # the run format's model: a misnamed key fails here
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        record.dump(out_path)
    return record.stored()


def _runs(value: str) -> int:
    """argparse type: a count of runs, 1..100 (as the profile's ergonomics_* settings allow)."""
    return bounded_int(value, 1, 100, "a whole number", "runs")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: start PostgreSQL (seeded small) and the carrier stub, measure, print the JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.ergonomics", description="Measure the ergonomics of both apps; print JSON."
    )
    parser.add_argument("--cold-start-runs", type=_runs, default=5, help="starts per app (default: 5)")
    parser.add_argument(
        "--import-runs", type=_runs, default=IMPORT_RUNS, help=f"timed imports per app (default: {IMPORT_RUNS})"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON to this file")
    args = parser.parse_args(argv)

    # Imported here: only the command line needs a database server and the stub, not measure_ergonomics.
    from bench.drive.carrier_stub import CarrierStub
    from bench.drive.postgres import database_server
    from bench.drive.servers import free_port
    from shared_models.migrate import upgrade
    from shared_models.seed import seed

    with database_server() as pg_server:
        name = f"ergonomics_{os.getpid()}"
        pg_server.create_database(name)
        try:
            url = pg_server.url_for(name)
            upgrade(url)
            seed(url, users=5, items=50, orders=5)
            with CarrierStub(port=free_port(), delay_ms=10) as stub:
                result = measure_ergonomics(
                    database_url=url,
                    carrier_url=stub.url,
                    out_path=args.out,
                    cold_start_runs=args.cold_start_runs,
                    import_runs=args.import_runs,
                )
        finally:
            pg_server.drop_database(name)
    print(json.dumps(result, indent=2))
    return 0
