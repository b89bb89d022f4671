"""Lines of code, read from source alone: per file, per concern, and the lines that exist only for API docs.

Files are parsed with `ast` and `tokenize`; nothing is imported or run, so the counters work the same on the
two apps and on the small fixture packages of the tests.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from bench.ergonomics.structure import ROUTE_DECORATORS

CONCERNS: tuple[str, ...] = (
    "routes",
    "validation",
    "auth",
    "db",
    "background",
    "middleware",
    "app_setup",
    "openapi",
    "crud",
    "contract_emulation",
    "other",
)

# The declared concern of each file, matched against its path relative to the app package (fnmatch, where
# `*` also crosses `/`); the first matching rule wins and a file no rule names counts as "other", never dropped.
# Files are mapped whole: a file that mixes concerns is counted under its main one (see loc_files for the
# per-file figures). shared_models/ is shared by both apps and is counted for neither, except BORROWED_FILES.
CONCERN_RULES: tuple[tuple[str, str], ...] = (
    # Request handlers: FastAPI routers, Flask blueprints.
    ("routes/*", "routes"),
    ("routes.py", "routes"),
    ("views/*", "routes"),
    ("views.py", "routes"),
    ("blueprints/*", "routes"),
    # Turning raw requests into validated values and 422 bodies (FastAPI does this itself).
    ("validation.py", "validation"),
    ("validators.py", "validation"),
    # Who is calling: bearer-token checks and the dependency glue that wires them (FastAPI's deps.py also
    # holds the settings / session / carrier-client dependencies; they are small and stay with their file).
    ("auth.py", "auth"),
    ("auth/*", "auth"),
    ("deps.py", "auth"),
    ("dependencies.py", "auth"),
    ("security.py", "auth"),
    # Engine, session per request, and FastAPI's request-scoped session and pool admission (Flask's db.py does
    # both jobs: its session on `g` with teardown, and gthread's thread count bounds its checkouts).
    ("db.py", "db"),
    ("database.py", "db"),
    ("session.py", "db"),
    ("session_scope.py", "db"),
    ("admission.py", "db"),
    # Work after the response.
    ("background.py", "background"),
    ("tasks.py", "background"),
    # Code that runs around every request (ASGI middleware, Flask before/after_request hooks).
    ("middleware.py", "middleware"),
    ("middleware/*", "middleware"),
    ("hooks.py", "middleware"),
    # The OpenAPI document and docs pages.
    ("openapi.py", "openapi"),
    ("docs.py", "openapi"),
    # Database operations behind the routes.
    ("crud.py", "crud"),
    # Code that exists only to reproduce FastAPI's exact quirks (Starlette's query and form rules, status
    # phrases, FastAPI's OpenAPI shapes) so that the Flask app serves the contract byte for byte; a Flask API
    # of its own would not need it.
    ("fastapi_compat.py", "contract_emulation"),
    # Building the app: factory, settings access, error handlers (FastAPI registers those in main.py).
    ("main.py", "app_setup"),
    ("__init__.py", "app_setup"),
    ("app.py", "app_setup"),
    ("factory.py", "app_setup"),
    ("config.py", "app_setup"),
    ("errors.py", "app_setup"),
    ("error_handlers.py", "app_setup"),
    # The carrier client does the same job in both apps and response rendering (Flask's counterpart of
    # FastAPI's response_model) has no concern of its own: both are named here only to show they are known.
    ("carrier.py", "other"),
    ("responses.py", "other"),
)

# Modules outside an app package that are one app's own code: the sync crud lives in shared_models because
# Flask and FastAPI's sync variant both use it, but it is the Flask app's query layer (FastAPI's is fastapi_app/
# crud.py). Paths relative to the app package; counted under the concern of their file name.
BORROWED_FILES: dict[str, tuple[str, ...]] = {"flask_app": ("../shared_models/crud.py",)}
# Sub-packages that are another variant of the app, not part of it (fastapi_app/sync serves the same contract
# with sync routes for the benchmark's driver comparison): left out of the app's counts.
VARIANT_DIRS = frozenset({"sync"})

DOC_ONLY_KEYWORDS = frozenset(
    {
        "summary",
        "description",
        "response_description",
        "responses",
        "tags",
        "openapi_tags",
        "openapi_extra",
        "operation_id",
        "deprecated",
        "include_in_schema",
        "title",
        "openapi_url",
        "docs_url",
        "redoc_url",
        "swagger_ui_parameters",
    }
)
# ...when passed to these callees (routes, routers, apps, parameter declarations); elsewhere, such as
# Flask's `abort(404, description=...)`, the same keyword names carry behaviour.
DOC_CALLEES = ROUTE_DECORATORS | {
    "add_api_route",
    "add_url_rule",
    "include_router",
    "register_blueprint",
    "FastAPI",
    "APIRouter",
    "Flask",
    "Blueprint",
    "Path",
    "Query",
    "Body",
    "Header",
    "Cookie",
    "Form",
    "File",
    "Security",
}
_NON_CODE_TOKENS = frozenset(
    {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
)
_Position = tuple[int, int]


# --- files -----------------------------------------------------------------------------------------------
def python_files(package_dir: Path) -> list[Path]:
    """Every .py file under package_dir, sorted, caches and VARIANT_DIRS excluded."""
    return sorted(
        p
        for p in package_dir.rglob("*.py")
        if "__pycache__" not in p.parts and not VARIANT_DIRS & set(p.relative_to(package_dir).parts[:-1])
    )


def borrowed_files(package_dir: Path) -> list[Path]:
    """The BORROWED_FILES of this app package that exist."""
    paths = (package_dir / relative for relative in BORROWED_FILES.get(package_dir.name, ()))
    return [path.resolve() for path in paths if path.is_file()]


def concern_of(relative_path: str) -> str:
    """The concern CONCERN_RULES gives a file (path relative to its app package, `/`-separated)."""
    for pattern, concern in CONCERN_RULES:
        if fnmatchcase(relative_path, pattern):
            return concern
    return "other"


# --- lines of code ---------------------------------------------------------------------------------------
def _docstring_spans(tree: ast.AST) -> list[tuple[_Position, _Position]]:
    # A docstring is the first statement of a module, class or function when it is a bare string.
    spans: list[tuple[_Position, _Position]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                end = (first.end_lineno or first.lineno, first.end_col_offset or 0)
                spans.append(((first.lineno, first.col_offset), end))
    return spans


def _code_tokens(source: str) -> Iterator[tokenize.TokenInfo]:
    spans = _docstring_spans(ast.parse(source))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in _NON_CODE_TOKENS:
            continue
        if any(start <= token.start and token.end <= end for start, end in spans):
            continue
        yield token


def code_lines(source: str) -> set[int]:
    """Line numbers holding code: not blank, not only a comment, not part of a docstring."""
    lines: set[int] = set()
    for token in _code_tokens(source):
        # A multi-line expression or string counts every physical line it spans.
        lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def count_loc(source: str) -> int:
    """Lines of code of one module (see code_lines)."""
    return len(code_lines(source))


@dataclass(frozen=True)
class LocReport:
    """LOC of one app: per concern (with a total) and per file."""

    by_concern: dict[str, int]
    by_file: dict[str, dict[str, str | int]]


def measure_loc(package_dir: Path, *, relative_to: Path | None = None) -> LocReport:
    """LOC of every file of a package (and its BORROWED_FILES), each mapped to its concern by CONCERN_RULES."""
    base = relative_to or package_dir.parent
    by_concern = dict.fromkeys(CONCERNS, 0)
    by_file: dict[str, dict[str, str | int]] = {}
    for path in python_files(package_dir):
        concern = concern_of(path.relative_to(package_dir).as_posix())
        loc = count_loc(path.read_text(encoding="utf-8"))
        by_concern[concern] += loc
        by_file[path.relative_to(base).as_posix()] = {"concern": concern, "loc": loc}
    for path in borrowed_files(package_dir):
        concern = concern_of(path.name)
        loc = count_loc(path.read_text(encoding="utf-8"))
        by_concern[concern] += loc
        by_file[path.relative_to(base.resolve()).as_posix()] = {"concern": concern, "loc": loc}
    by_concern["total"] = sum(by_concern[c] for c in CONCERNS)
    return LocReport(by_concern, by_file)


def doc_only_loc(source: str) -> int:
    """Lines of code that exist only to document the API (see doc_only_lines)."""
    return len(doc_only_lines(source))


def doc_only_lines(source: str) -> set[int]:
    """Lines that exist only to document the API: doc-only keyword arguments and the constants they alone use.

    Doc-only keywords are DOC_ONLY_KEYWORDS passed to DOC_CALLEES. A line counts when every code token on it
    lies inside such an argument (a trailing comma aside), so `@router.get("/x", summary="...")` on one line
    counts 0: the line would exist anyway. A module-level assignment counts whole when its name is read only
    inside such arguments.
    """
    tree = ast.parse(source)
    spans: list[tuple[_Position, _Position]] = []
    doc_reads: set[int] = set()  # ids of Name nodes read inside doc-only arguments
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _callee_name(node) in DOC_CALLEES:
            for keyword in node.keywords:
                if keyword.arg in DOC_ONLY_KEYWORDS:
                    end = (keyword.end_lineno or keyword.lineno, keyword.end_col_offset or 0)
                    spans.append(((keyword.lineno, keyword.col_offset), end))
                    doc_reads.update(id(n) for n in ast.walk(keyword.value) if isinstance(n, ast.Name))
    doc_names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) in doc_reads}
    other_reads = {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in doc_reads
    }
    constant_lines: set[int] = set()
    for statement in tree.body:
        targets = _assigned_names(statement)
        if targets and targets <= doc_names and not targets & other_reads:
            constant_lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))

    per_line: dict[int, list[bool]] = {}
    for token in _code_tokens(source):
        inside = any(start <= token.start and token.end <= end for start, end in spans)
        if not inside and token.string == ",":
            continue
        for line in range(token.start[0], token.end[0] + 1):
            per_line.setdefault(line, []).append(inside)
    keyword_lines = {line for line, flags in per_line.items() if all(flags)}
    return (keyword_lines | constant_lines) & set(per_line)


def _callee_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _assigned_names(statement: ast.stmt) -> set[str]:
    if isinstance(statement, ast.Assign):
        return {t.id for t in statement.targets if isinstance(t, ast.Name)}
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return {statement.target.id}
    return set()
