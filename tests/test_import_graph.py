"""The import graph runs one way: pure domain <- application <- adapters, with no cycle.
Read from the source (module-level imports; those under `if TYPE_CHECKING:` add no edge),
so a new module that breaks the rule fails here, not in review."""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).parent.parent
# Pure: plain functions over plain data, no I/O, no clock reads, no framework.
DOMAIN = {
    "hub.enums",
    "hub.audit.chain",
    "hub.cases.machine",
    "hub.cases.events",
    "hub.dispatch.routing",
    "hub.sla.ladder",
    "hub.sla.deadlines",
    "hub.sla.reach",
    "hub.sla.assessment",
    "hub.sla.calendar",
}
DOMAIN_MAY_USE = {"pydantic", "chinese_calendar"}
# Kernel modules the domain may import: constants and types (China Standard Time, say);
# reading the clock is caught by tests/test_clock_discipline.py, not by imports.
KERNEL = {"hub.clock"}
# The one write path and the consumers of committed events.
APPLICATION = {
    "hub.cases.actions",
    "hub.cases.unit",
    "hub.cases.context",
    "hub.cases.handlers",
    "hub.cases.routing_step",
    "hub.cases.timeline",
    "hub.sla.actions",
    "hub.sla.recalc",
    "hub.sla.auditor",
    "hub.outbox.consumer",
    "hub.outbox.escalations",
}
FRAMEWORKS = {"fastapi", "starlette", "uvicorn", "websockets"}


def _is_adapter(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return (
        last in {"views", "key_views", "deps", "middleware", "gateway", "wire", "session"}
        or module in {"hub.main", "hub.cli", "hub.deps"}
        or module.startswith(("hub.web.", "workers."))
    )


def _modules() -> dict[str, Path]:
    found = {}
    for path in [*ROOT.glob("hub/**/*.py"), *ROOT.glob("workers/**/*.py")]:
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If | ast.Try | ast.With):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(tree.body)
    return names


@cache
def _graph() -> dict[str, frozenset[str]]:
    modules = _modules()
    raw = {m: _imports(ast.parse(p.read_text())) for m, p in modules.items()}
    return {m: frozenset(raw[m]) for m in modules}


def _internal(module: str) -> set[str]:
    known = _modules().keys()
    return {d for d in _graph()[module] if d in known and d != module}


def test_there_is_no_import_cycle() -> None:
    sys.setrecursionlimit(10_000)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    cycles: list[list[str]] = []

    def walk(module: str) -> None:
        state[module] = 1
        path.append(module)
        for dep in sorted(_internal(module)):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                walk(dep)
        path.pop()
        state[module] = 2

    for module in sorted(_graph()):
        if module not in state:
            walk(module)
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_domain_imports_only_the_domain() -> None:
    stdlib = sys.stdlib_module_names
    bad: dict[str, set[str]] = {}
    for module in DOMAIN:
        for dep in _graph()[module]:
            top = dep.split(".")[0]
            if top == "__future__" or top in stdlib or top in DOMAIN_MAY_USE:
                continue
            if dep in DOMAIN | KERNEL or dep.rsplit(".", 1)[0] in DOMAIN | KERNEL:
                continue  # `from hub.enums import X` names hub.enums and hub.enums.X
            bad.setdefault(module, set()).add(dep)
    assert bad == {}


def test_application_code_imports_no_adapter_and_no_web_framework() -> None:
    bad: dict[str, set[str]] = {}
    for module in APPLICATION:
        for dep in _graph()[module]:
            if dep.split(".")[0] in FRAMEWORKS or (dep.startswith("hub.") and _is_adapter(dep)):
                bad.setdefault(module, set()).add(dep)
    assert bad == {}


def test_the_checks_see_the_modules_they_name() -> None:
    """A renamed module must not silently drop out of the rules above."""
    missing = (DOMAIN | APPLICATION) - _modules().keys()
    assert missing == set()
    assert _is_adapter("hub.cases.views") and not _is_adapter("hub.cases.actions")
