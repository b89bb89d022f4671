"""The ergonomics counters on fixture modules with known counts, the footprint closure, and one end-to-end run."""

from __future__ import annotations

import ast
import importlib.metadata
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench.drive.carrier_stub import CarrierStub
from bench.drive.servers import FRAMEWORKS, SETUPS
from bench.ergonomics import main as ergonomics_main
from bench.ergonomics import measure_ergonomics
from bench.ergonomics.footprint import REQUIREMENTS, dependency_closure
from bench.ergonomics.hints import annotation_facts, fastapi_reads_annotations, flask_reads_annotations, route_inputs
from bench.ergonomics.live import BAD_REQUESTS, SAMPLE_CASE, BadRequest, factory_of, names_field, serving_processes
from bench.ergonomics.loc import CONCERNS, code_lines, concern_of, count_loc, doc_only_lines, measure_loc
from bench.ergonomics.structure import (
    framework_concepts,
    function_source,
    imports_name,
    route_handlers,
    type_hint_coverage,
)

FIXTURES = Path(__file__).parent / "ergonomics_fixtures"
SAMPLE_APP = FIXTURES / "sample_app"


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# --- lines of code ---------------------------------------------------------------------------------------
def test_loc_excludes_blank_lines_comments_and_docstrings() -> None:
    # Counted by hand in loc_sample.py: import 1, multi-line constant 3, function 3, class 2,
    # method 1 + its 4-line return, call() 2.
    assert count_loc(_read(FIXTURES / "loc_sample.py")) == 16


def test_code_lines_are_the_lines_with_code() -> None:
    source = (
        '"""Doc."""\n\n# comment\nx = (\n    1,  # trailing\n)\n\ndef f():\n    """Doc."""\n    return """a\nb"""\n'
    )
    assert code_lines(source) == {4, 5, 6, 8, 10, 11}


def test_a_string_that_is_not_the_first_statement_is_code() -> None:
    assert count_loc('x = 1\n"""not a docstring"""\n') == 2


@pytest.mark.parametrize(
    ("path", "concern"),
    [
        ("routes/items.py", "routes"),
        ("routes/__init__.py", "routes"),
        ("views/orders.py", "routes"),
        ("validation.py", "validation"),
        ("auth.py", "auth"),
        ("deps.py", "auth"),
        ("db.py", "db"),
        ("session_scope.py", "db"),
        ("admission.py", "db"),
        ("background.py", "background"),
        ("middleware.py", "middleware"),
        ("hooks.py", "middleware"),
        ("main.py", "app_setup"),
        ("__init__.py", "app_setup"),
        ("errors.py", "app_setup"),
        ("openapi.py", "openapi"),
        ("crud.py", "crud"),
        ("fastapi_compat.py", "contract_emulation"),
        ("carrier.py", "other"),
        ("mystery.py", "other"),
        ("utils/__init__.py", "other"),
    ],
)
def test_concern_mapping(path: str, concern: str) -> None:
    assert concern_of(path) == concern


def test_loc_counts_borrowed_files_and_leaves_out_variants(tmp_path: Path) -> None:
    # flask_app's query layer lives in shared_models/crud.py; fastapi_app/sync is a variant, not the app.
    (tmp_path / "shared_models").mkdir()
    (tmp_path / "shared_models" / "crud.py").write_text("def get(x):\n    return x\n")
    for app in ("flask_app", "fastapi_app"):
        (tmp_path / app / "sync").mkdir(parents=True)
        (tmp_path / app / "__init__.py").write_text("x = 1\n")
        (tmp_path / app / "sync" / "routes.py").write_text("y = 2\n")
    flask = measure_loc(tmp_path / "flask_app", relative_to=tmp_path)
    fastapi = measure_loc(tmp_path / "fastapi_app", relative_to=tmp_path)
    assert flask.by_file == {
        "flask_app/__init__.py": {"concern": "app_setup", "loc": 1},
        "shared_models/crud.py": {"concern": "crud", "loc": 2},
    }
    assert fastapi.by_file == {"fastapi_app/__init__.py": {"concern": "app_setup", "loc": 1}}
    assert (flask.by_concern["total"], fastapi.by_concern["total"]) == (3, 1)


def test_loc_per_file_and_per_concern_of_a_package() -> None:
    report = measure_loc(SAMPLE_APP)
    assert report.by_file == {
        "sample_app/__init__.py": {"concern": "app_setup", "loc": 3},
        "sample_app/db.py": {"concern": "db", "loc": 3},
        "sample_app/mystery.py": {"concern": "other", "loc": 1},
        "sample_app/openapi.py": {"concern": "openapi", "loc": 4},
        "sample_app/routes/__init__.py": {"concern": "routes", "loc": 0},
        "sample_app/routes/items.py": {"concern": "routes", "loc": 26},
    }
    assert report.by_concern == {
        **dict.fromkeys(CONCERNS, 0),
        "app_setup": 3,
        "db": 3,
        "other": 1,
        "openapi": 4,
        "routes": 26,
        "total": 37,
    }


def test_doc_only_lines_are_documentation_keywords_and_their_constants() -> None:
    source = _read(SAMPLE_APP / "routes" / "items.py")
    lines = source.splitlines()
    documented = {lines[n - 1].strip() for n in doc_only_lines(source)}
    # `tags=` shares its line with the router itself and `status_code=` has behaviour: neither counts.
    assert documented == {
        "_NOT_FOUND = {",
        'status.HTTP_404_NOT_FOUND: {"description": "Item not found"},',
        "}",
        'summary="Read an item",',
        "responses=_NOT_FOUND,",
    }


def test_a_description_given_to_abort_is_not_documentation() -> None:
    source = 'abort(\n    404,\n    description="Item not found",\n)\n'
    assert doc_only_lines(source) == set()


# --- type hints ------------------------------------------------------------------------------------------
def test_type_hint_coverage() -> None:
    coverage = type_hint_coverage([_read(FIXTURES / "hints_sample.py")])
    assert (coverage.functions, coverage.returns_annotated) == (5, 3)
    assert (coverage.params, coverage.params_annotated) == (9, 5)
    assert coverage.params_pct == 55.6
    assert coverage.returns_pct == 60.0


def test_type_hint_coverage_of_nothing_is_vacuously_full() -> None:
    coverage = type_hint_coverage(["x = 1\n"])
    assert (coverage.params_pct, coverage.returns_pct) == (100.0, 100.0)


# --- routes ----------------------------------------------------------------------------------------------
def test_route_handlers_async_and_sync() -> None:
    handlers = route_handlers(_read(SAMPLE_APP / "routes" / "items.py"))
    assert [(h.name, h.is_async) for h in handlers] == [
        ("list_items", True),
        ("read_item", True),
        ("replace_item", True),
        ("delete_item", False),
        ("legacy_view", False),
    ]


def test_decorators_without_a_path_are_not_routes() -> None:
    source = (
        "@cache.get\ndef a(): ...\n\n@cache.get(key)\ndef b(): ...\n\n@bp.route('/x', methods=['GET'])\ndef c(): ...\n"
    )
    assert [h.name for h in route_handlers(source)] == ["c"]


# --- concepts --------------------------------------------------------------------------------------------
def test_framework_concepts() -> None:
    concepts = framework_concepts([_read(FIXTURES / "concepts_sample.py")], ("flask", "werkzeug"))
    assert concepts == [
        "Blueprint",
        "Blueprint.get",
        "Flask",
        "Flask.config",
        "Flask.register_blueprint",
        "HTTPException",
        "HTTPException.code",
        "Response",
        "abort",
        "g",
        "jsonify",
        "request",
        "request.args",
        "request.headers",
    ]


def test_concepts_are_distinct_across_modules_and_ignore_other_packages() -> None:
    first = "from fastapi import APIRouter, Depends\nrouter = APIRouter()\n@router.get('/a')\ndef a(): ...\n"
    second = "from fastapi import Depends\nfrom pydantic import BaseModel\nrouter = make()\nrouter.get('/b')\n"
    assert framework_concepts([first, second], ("fastapi",)) == ["APIRouter", "APIRouter.get", "Depends"]


def test_imports_name() -> None:
    source = "from fastapi import BackgroundTasks\n"
    assert imports_name([source], ("fastapi",), "BackgroundTask")
    assert not imports_name([source], ("flask",), "BackgroundTask")


def test_function_source_includes_decorators() -> None:
    snippet = function_source(SAMPLE_APP / "routes" / "items.py", "read_item", first_line=18)
    assert snippet.startswith("@router.get(\n")
    assert snippet.rstrip().endswith('return {"id": item_id}')


# --- install footprint -----------------------------------------------------------------------------------
_GRAPH: dict[str, list[str]] = {
    "app": ["Web[fast]>=1", "db; python_version < '3'", "missing-dist"],
    "web": ["core", "speedups; extra == 'fast'", "docs-tool; extra == 'docs'"],
    "core": ["web"],  # a cycle
    "lib": ["web[fast]"],
    "speedups": [],
    "db": [],
    "docs-tool": [],
}


def _requires(name: str) -> list[str] | None:
    return _GRAPH.get(name)


def test_closure_follows_extras_evaluates_markers_and_survives_cycles() -> None:
    footprint = dependency_closure(["app"], requires=_requires)
    assert footprint == {
        "distributions": 5,
        "names": ["app", "core", "missing-dist", "speedups", "web"],
    }


def test_closure_expands_a_distribution_again_for_new_extras() -> None:
    assert dependency_closure(["web"], requires=_requires)["names"] == ["core", "web"]
    assert dependency_closure(["Web", "lib"], requires=_requires)["names"] == ["core", "lib", "speedups", "web"]


def test_declared_stacks_resolve_in_this_environment() -> None:
    for framework, requirements in REQUIREMENTS.items():
        names = dependency_closure(requirements)["names"]
        assert framework in names
        assert "pydantic" in names


# What a requirement list may name without the apps' code importing it: servers and drivers are loaded by name.
_LOADED_BY_NAME = {"uvicorn", "uvicorn-worker", "gunicorn", "python-multipart", "asyncpg", "psycopg2-binary"}
# Code outside what the footprint covers: the harness's migrations and the gevent variant's patching.
_NOT_COVERED = ("shared_models/migrate.py", "shared_models/migrations/", "flask_app/gevent.py")


def _imported_distributions(*packages: str) -> set[str]:
    """Third-party distributions the packages' modules import (top-level names mapped through installed metadata)."""
    names: set[str] = set()
    root = Path(__file__).resolve().parents[2]
    for package in packages:
        for path in (root / package).rglob("*.py"):
            if any(part in path.relative_to(root).as_posix() for part in _NOT_COVERED):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    owners = importlib.metadata.packages_distributions()
    ours = {"fastapi_app", "flask_app", "shared_models", "bench"}
    return {canonicalize_name(d) for n in names - ours for d in owners.get(n, [])}


@pytest.mark.parametrize(("framework", "package"), [("fastapi", "fastapi_app"), ("flask", "flask_app")])
def test_requirement_lists_match_what_the_apps_import(framework: str, package: str) -> None:
    imported = _imported_distributions(package, "shared_models")
    closure = set(dependency_closure(REQUIREMENTS[framework])["names"])
    assert imported <= closure, f"imported but not in {framework}'s footprint: {sorted(imported - closure)}"
    declared = {canonicalize_name(Requirement(r).name) for r in REQUIREMENTS[framework]}
    unused = declared - imported - _LOADED_BY_NAME
    assert not unused, f"in {framework}'s footprint but imported by neither the app nor shared_models: {unused}"


# --- live helpers ----------------------------------------------------------------------------------------
def test_names_field_looks_in_loc_lists() -> None:
    body = {"detail": [{"type": "missing", "loc": ["body", "password"], "msg": "Field required"}]}
    assert names_field(body, "password")
    assert not names_field(body, "email")
    assert not names_field({"detail": "Not Found"}, "email")
    assert not names_field("text", "email")


def test_bad_requests_are_unique_and_describable() -> None:
    names = [case.name for case in BAD_REQUESTS]
    assert len(names) == len(set(names)) >= 15
    assert SAMPLE_CASE in names
    long = BadRequest("x", "POST", "/p", "f", json_body={"f": "y" * 500})
    assert len(long.describe()) < 120


def test_factory_of_every_setup() -> None:
    for setup in SETUPS.values():
        assert ":".join(factory_of(setup)) == setup.app.entry


@dataclass
class _FakeProcess:
    pid: int
    parent: int

    def ppid(self) -> int:
        return self.parent


def test_serving_processes_leave_out_a_supervisor() -> None:
    master, worker_a, worker_b = _FakeProcess(10, 1), _FakeProcess(11, 10), _FakeProcess(12, 10)
    assert serving_processes([master, worker_a, worker_b]) == [worker_a, worker_b]  # type: ignore[list-item]
    assert serving_processes([master]) == [master]  # type: ignore[list-item]


# --- what the frameworks do with annotations ------------------------------------------------------------
def test_fastapi_reads_annotations_and_flask_does_not() -> None:
    assert fastapi_reads_annotations()
    assert not flask_reads_annotations()


def test_route_inputs_walk_sub_dependencies_once() -> None:
    from fastapi import Depends, FastAPI, Header
    from fastapi.routing import APIRoute
    from pydantic import BaseModel

    class Body(BaseModel):
        name: str

    def token(authorization: str = Header()) -> str:
        return authorization

    def user(tok: str = Depends(token), authorization: str = Header()) -> str:
        return tok

    app = FastAPI()

    @app.post("/items/{item_id}")
    def create(item_id: int, body: Body, q: int = 0, who: str = Depends(user)) -> Body:
        return body

    route = next(r for r in app.routes if isinstance(r, APIRoute))
    assert route_inputs(route) == 4  # item_id, body, q, the Authorization header (met twice, counted once)
    assert annotation_facts([route]) == {
        "routes": 1,
        "inputs": 4,
        "responses_typed": 1,
        "responses_from_return_annotation": 1,
    }


@pytest.mark.parametrize(("flag", "value"), [("--import-runs", "0"), ("--cold-start-runs", "two")])
def test_the_command_line_names_a_bad_count_before_starting_anything(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        ergonomics_main([flag, value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: " in err
    assert "runs must be 1..100, got 0" in err if value == "0" else "expected a whole number, got 'two'" in err


# --- end to end ------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_measure_ergonomics_against_the_real_apps(
    fresh_db: Callable[[], str], carrier: CarrierStub, tmp_path: Path
) -> None:
    out = tmp_path / "ergonomics.json"
    result = measure_ergonomics(
        database_url=fresh_db(), carrier_url=carrier.url, out_path=out, cold_start_runs=2, import_runs=1
    )
    assert json.loads(out.read_text()) == result
    assert set(result) - {"annotations"} == {
        "format_version",
        "loc",
        "loc_files",
        "type_hint_coverage",
        "openapi",
        "validation_quality",
        "background_tasks",
        "async_support",
        "cold_start",
        "install_footprint",
        "concepts",
        "snippets",
    }
    for fw in FRAMEWORKS:
        loc: dict[str, int] = result["loc"][fw]
        assert set(loc) == {*CONCERNS, "total"}
        assert loc["total"] == sum(loc[c] for c in CONCERNS) > 0
        files: dict[str, dict[str, Any]] = result["loc_files"][fw]
        for concern in CONCERNS:
            assert loc[concern] == sum(f["loc"] for f in files.values() if f["concern"] == concern)
        assert 0 < result["type_hint_coverage"][fw]["params_pct"] <= 100
        assert result["openapi"][fw]["paths_total"] > 0
        assert result["validation_quality"][fw]["4xx_pct"] == 100.0
        starts = result["cold_start"][fw]
        assert len(starts["samples"]) == 2
        assert starts["median_s"] > 0
        assert starts["import_s"] > 0
        assert starts["idle_rss_per_worker_mb"] > 0
        assert result["install_footprint"][fw]["distributions"] == len(result["install_footprint"][fw]["names"])
        assert result["concepts"][fw] == len(result["concepts"][f"{fw}_names"]) > 0
        assert "def " in result["snippets"][fw]
        routes = result["async_support"][fw]
        assert routes["async_routes"] + routes["sync_routes"] > 0
    assert result["openapi"]["fastapi"]["served"]
    assert result["openapi"]["fastapi"]["automatic"]
    assert result["openapi"]["fastapi"]["paths_documented"] == result["openapi"]["fastapi"]["paths_total"]
    assert result["openapi"]["flask"]["hand_written_loc"] >= result["loc"]["flask"]["openapi"]
    assert result["async_support"]["fastapi"]["native"]
    assert not result["async_support"]["flask"]["native"]
    assert result["background_tasks"]["fastapi"]["built_in"]
    assert result["validation_quality"]["cases"] == len(result["validation_quality"]["per_case"])
    if "annotations" not in result:  # the run format has no field for it yet (bench.runformat.Ergonomics)
        return
    hints = result["annotations"]
    assert hints["fastapi"]["reads"]
    assert not hints["flask"]["reads"]
    assert hints["fastapi"]["inputs_from_annotations"] == hints["fastapi"]["inputs"] > 0
    assert hints["flask"]["inputs_from_annotations"] == 0
    assert hints["flask"]["validation_hand_written_loc"] == result["loc"]["flask"]["validation"]
