"""Measurements read from the apps' source code alone: LOC per concern, type hints, routes, concepts.

Everything here parses files with `ast` and `tokenize`; nothing is imported or run, so the counters work the
same on the two apps and on the small fixture packages of the tests.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

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
    "other",
)

# The declared concern of each file, matched against its path relative to the app package (fnmatch, where
# `*` also crosses `/`); the first matching rule wins and a file no rule names counts as "other", never dropped.
# Files are mapped whole: a file that mixes concerns is counted under its main one (see loc_files for the
# per-file figures). shared_models/ is shared by both apps and is counted for neither.
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
    # Engine, session per request.
    ("db.py", "db"),
    ("database.py", "db"),
    ("session.py", "db"),
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

# Decorator attributes that register a request handler (FastAPI routers/apps, Flask blueprints/apps).
ROUTE_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route", "websocket"}
)
# Imperative registration: X.add_url_rule(rule, endpoint, view_func) / X.add_api_route(path, endpoint).
_ROUTE_REGISTRARS = {"add_url_rule": ("view_func", 2), "add_api_route": ("endpoint", 1)}
# Keyword arguments that only feed the generated API documentation...
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
_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
_Position = tuple[int, int]


# --- files -----------------------------------------------------------------------------------------------
def python_files(package_dir: Path) -> list[Path]:
    """Every .py file under package_dir, sorted, caches excluded."""
    return sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)


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
    """LOC of every file of a package, each file mapped to its concern by CONCERN_RULES."""
    base = relative_to or package_dir.parent
    by_concern = dict.fromkeys(CONCERNS, 0)
    by_file: dict[str, dict[str, str | int]] = {}
    for path in python_files(package_dir):
        concern = concern_of(path.relative_to(package_dir).as_posix())
        loc = count_loc(path.read_text(encoding="utf-8"))
        by_concern[concern] += loc
        by_file[path.relative_to(base).as_posix()] = {"concern": concern, "loc": loc}
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


# --- type hints ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TypeHintCoverage:
    """Annotated parameters (self/cls excluded) and return annotations over all functions of a package."""

    params: int
    params_annotated: int
    functions: int
    returns_annotated: int

    @property
    def params_pct(self) -> float:
        """Share of parameters with an annotation, in percent (100 when there are none)."""
        return _pct(self.params_annotated, self.params)

    @property
    def returns_pct(self) -> float:
        """Share of functions with a return annotation, in percent (100 when there are none)."""
        return _pct(self.returns_annotated, self.functions)


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 100.0


def type_hint_coverage(sources: Iterable[str]) -> TypeHintCoverage:
    """Count annotations over every def / async def (nested ones included; lambdas cannot be annotated)."""
    params = annotated = functions = returns = 0
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, _FunctionNode):
                continue
            functions += 1
            returns += node.returns is not None
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            for argument in every:
                if argument.arg in {"self", "cls"}:
                    continue
                params += 1
                annotated += argument.annotation is not None
    return TypeHintCoverage(params, annotated, functions, returns)


# --- routes ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RouteHandler:
    """A function registered as a request handler."""

    name: str
    is_async: bool
    lineno: int


def _is_route_decorator(decorator: ast.expr) -> bool:
    # `@<anything>.get("/path", ...)`: the path literal keeps `@cache.get`-like decorators out.
    return (
        isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Attribute)
        and decorator.func.attr in ROUTE_DECORATORS
        and bool(decorator.args)
        and isinstance(decorator.args[0], ast.Constant)
        and isinstance(decorator.args[0].value, str)
    )


def route_handlers(source: str) -> list[RouteHandler]:
    """Handlers registered by route decorators, add_url_rule(view_func=) or add_api_route(endpoint=)."""
    tree = ast.parse(source)
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, _FunctionNode)}
    found: dict[int, _FunctionNode] = {}
    for node in ast.walk(tree):
        if isinstance(node, _FunctionNode) and any(_is_route_decorator(d) for d in node.decorator_list):
            found[id(node)] = node
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _ROUTE_REGISTRARS
        ):
            keyword_name, position = _ROUTE_REGISTRARS[node.func.attr]
            target = next((k.value for k in node.keywords if k.arg == keyword_name), None)
            if target is None and len(node.args) > position:
                target = node.args[position]
            if isinstance(target, ast.Name) and target.id in functions:
                found[id(functions[target.id])] = functions[target.id]
    return sorted(
        (RouteHandler(f.name, isinstance(f, ast.AsyncFunctionDef), f.lineno) for f in found.values()),
        key=lambda handler: handler.lineno,
    )


# --- framework concepts ----------------------------------------------------------------------------------
def _annotation_names(annotation: ast.expr | None) -> Iterator[str]:
    # The class names an annotation states: X, X | None, Optional[X], Annotated[X, ...], "X".
    if annotation is None:
        return
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            yield from _annotation_names(ast.parse(annotation.value, mode="eval").body)
        except SyntaxError:
            return
    elif isinstance(annotation, ast.Name):
        yield annotation.id
    elif isinstance(annotation, ast.BinOp):
        yield from _annotation_names(annotation.left)
        yield from _annotation_names(annotation.right)
    elif isinstance(annotation, ast.Subscript):
        inner = annotation.slice
        first = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
        yield from _annotation_names(first)


def _scope_nodes(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    # The nodes of one scope: a nested def contributes only what runs in the enclosing scope.
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _FunctionNode):
            stack.extend(node.decorator_list)
            stack.extend(node.args.defaults)
            stack.extend(d for d in node.args.kw_defaults if d is not None)
        else:
            stack.extend(ast.iter_child_nodes(node))


@dataclass
class _ConceptScan:
    framework_packages: Sequence[str]
    used: set[str]
    assigned: set[str]  # `Origin.attr` names the app stores into: its own data, not framework API
    modules: set[str]  # local names bound to a framework module (`import flask`)

    def module(self, tree: ast.Module) -> None:
        bound: dict[str, str] = {}  # local name -> the framework name it is, or is an instance of
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and self._is_framework(node.module):
                for alias in node.names:
                    self.used.add(alias.name)
                    bound[alias.asname or alias.name] = alias.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if self._is_framework(alias.name):
                        self.modules.add(alias.asname or alias.name.split(".")[0])
        self._scope(tree.body, bound)

    def _is_framework(self, module: str | None) -> bool:
        return module is not None and module.split(".")[0] in self.framework_packages

    def _scope(self, body: Sequence[ast.AST], outer: dict[str, str]) -> None:
        nodes = list(_scope_nodes(body))
        bound = dict(outer)
        # Instances: `app = Flask(...)`, `x: Request = ...`; any other assignment shadows an outer binding.
        for node in nodes:
            if isinstance(node, ast.Assign):
                func = node.value.func if isinstance(node.value, ast.Call) else None
                origin = bound.get(func.id) if isinstance(func, ast.Name) else None
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        _bind(bound, target.id, origin)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                _bind(bound, node.target.id, _annotated_origin(node.annotation, bound))
        for node in nodes:
            if isinstance(node, ast.Attribute):
                self._attribute(node, bound)
        for node in nodes:
            if isinstance(node, _FunctionNode):
                inner = dict(bound)
                arguments = node.args
                every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
                every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
                for argument in every:
                    # Parameters annotated with a framework class are instances of it; others shadow.
                    _bind(inner, argument.arg, _annotated_origin(argument.annotation, bound))
                self._scope(node.body, inner)

    def _attribute(self, node: ast.Attribute, bound: dict[str, str]) -> None:
        receiver = node.value
        if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name):
            receiver = receiver.func  # `Headers(scope=scope).get`: a method of a fresh instance
        if not isinstance(receiver, ast.Name):
            return
        if receiver.id in self.modules and receiver.id not in bound:
            self.used.add(node.attr)  # `flask.g` is the same concept as `from flask import g`
            return
        if receiver.id not in bound or node.attr.isupper():
            return  # UPPER_CASE attributes are values (status codes), not API to learn
        name = f"{bound[receiver.id]}.{node.attr}"
        (self.assigned if isinstance(node.ctx, ast.Store | ast.Del) else self.used).add(name)


def _bind(bound: dict[str, str], name: str, origin: str | None) -> None:
    if origin is None:
        bound.pop(name, None)
    else:
        bound[name] = origin


def _annotated_origin(annotation: ast.expr | None, bound: dict[str, str]) -> str | None:
    return next((bound[name] for name in _annotation_names(annotation) if name in bound), None)


def framework_concepts(sources: Iterable[str], framework_packages: Sequence[str]) -> list[str]:
    """Distinct framework API names an app uses: a proxy for how much of the framework one must learn.

    Counted: every name imported from the framework packages (`Depends`, `request`), and every first-level
    attribute read on a framework name or on an object bound to one (by assignment from a call, or by an
    annotated parameter): `APIRouter.get`, `Flask.before_request`, `Request.app`. Not counted: UPPER_CASE
    constants (status codes), attributes the app itself assigns anywhere (user data on `g` or `app.state`),
    deeper attribute chains, keyword argument names.
    """
    scan = _ConceptScan(framework_packages, used=set(), assigned=set(), modules=set())
    for source in sources:
        scan.modules.clear()
        scan.module(ast.parse(source))
    return sorted(scan.used - scan.assigned)


def imports_name(sources: Iterable[str], framework_packages: Sequence[str], fragment: str) -> bool:
    """True if any module imports a name containing `fragment` from the framework packages."""
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.ImportFrom)
                and node.level == 0
                and node.module is not None
                and node.module.split(".")[0] in framework_packages
                and any(fragment in alias.name for alias in node.names)
            ):
                return True
    return False


def function_source(path: Path, name: str, first_line: int) -> str:
    """The source of function `name` (decorators included) whose first line is `first_line`."""
    source = path.read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, _FunctionNode) and node.name == name:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            if start <= first_line <= (node.end_lineno or node.lineno):
                end = node.end_lineno or node.lineno
                return "\n".join(source.splitlines()[start - 1 : end]) + "\n"
    raise LookupError(f"no function {name!r} at line {first_line} of {path}")
