"""Facts read from source alone: type-hint coverage, route handlers, framework concepts, handler source.

Everything here parses with `ast`; nothing is imported or run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# Decorator attributes that register a request handler (FastAPI routers/apps, Flask blueprints/apps).
ROUTE_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route", "websocket"}
)
# Imperative registration: X.add_url_rule(rule, endpoint, view_func) / X.add_api_route(path, endpoint).
_ROUTE_REGISTRARS = {"add_url_rule": ("view_func", 2), "add_api_route": ("endpoint", 1)}
# Keyword arguments that only feed the generated API documentation...
_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


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
