"""The package's seams (issue 13): modules use each other's public names only, no import circles,
and every public module is reachable from `import ecr_audit` with an `__all__` that holds (issue 15 #1)."""

import ast
import functools
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import ecr_audit

PACKAGE = Path(ecr_audit.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@functools.cache
def _tree(module: str) -> ast.Module:
    return ast.parse(MODULES[module].read_text())


@functools.cache
def _imports(module: str) -> tuple:
    """(imported ecr_audit module, names taken from it, line, is lazy) for every import statement
    of `module`; lazy = inside a function. `from . import x` names module `x` when it is one."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]

    def walk(nodes, lazy):
        for node in nodes:
            inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "ecr_audit":
                        yield a.name, (), node.lineno, lazy
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != "ecr_audit":
                    continue
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    yield (
                        (sub, (), node.lineno, lazy)
                        if sub in MODULES
                        else (target, (a.name,), node.lineno, lazy)
                    )
            yield from walk(ast.iter_child_nodes(node), inner)

    return tuple(walk(_tree(module).body, False))


def _module_aliases(module: str) -> dict[str, str]:
    """Local name → ecr_audit module, for every module `module` imports as a name."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = {}
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "ecr_audit":
                    out[a.asname or a.name.split(".")[0]] = a.name if a.asname else "ecr_audit"
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(
                package.split(".")[: len(package.split(".")) - node.level + 1] + [node.module or ""]
            )
            for a in node.names:
                if f"{base.rstrip('.')}.{a.name}" in MODULES:
                    out[a.asname or a.name] = f"{base.rstrip('.')}.{a.name}"
    return out


def test_no_module_imports_a_private_name_of_another_module():
    """`from x import _name` and `x._name` (x an imported ecr_audit module) across modules."""
    found = []
    for module in MODULES:
        for target, names, line, _ in _imports(module):
            found += [
                f"{module}:{line} imports {target}.{n}"
                for n in names
                if n.startswith("_") and not n.startswith("__")
            ]
        aliases = _module_aliases(module)
        for node in ast.walk(_tree(module)):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and aliases.get(node.value.id, module) != module
            ):
                found.append(f"{module}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert not found, "\n".join(found)


def _module_graph() -> dict[str, set[str]]:
    """Module → the ecr_audit modules it imports at module level (a package counts as its __init__)."""
    return {m: {t for t, _, _, lazy in _imports(m) if not lazy and t in MODULES and t != m} for m in MODULES}


def _reaches(graph, start, goal) -> bool:
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        if m == goal:
            return True
        if m not in seen:
            seen.add(m)
            todo.extend(graph[m])
    return False


def test_the_package_has_no_import_cycle_at_module_level():
    graph = _module_graph()
    cycles = sorted(
        {tuple(sorted((a, b))) for a in graph for b in graph[a] if a != b and _reaches(graph, b, a)}
    )
    assert not cycles, f"modules on an import cycle (pairs): {cycles}"


# Function-level imports that would close a cycle if they were at module level: each one needs
# its reason here and in docs/architecture.md#import-rules.
DOCUMENTED_LAZY_BACK_EDGES: dict[tuple[str, str], str] = {
    (
        "ecr_audit.images",
        "ecr_audit.consumers",
    ): "orphans and stale are in-use aware; in-use is resolved on images' manifest graph",
}


def test_lazy_imports_that_would_close_a_cycle_are_documented():
    graph = _module_graph()
    found = {
        (m, t)
        for m in MODULES
        for t, _, _, lazy in _imports(m)
        if lazy and t in MODULES and t != m and _reaches(graph, t, m)
    }
    assert found <= set(DOCUMENTED_LAZY_BACK_EDGES), sorted(found - set(DOCUMENTED_LAZY_BACK_EDGES))
    doc = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    assert all(f"`{m}` → `{t}`" in doc for m, t in DOCUMENTED_LAZY_BACK_EDGES)


# -- issue 15 #1: what `import ecr_audit` offers -------------------------------------------------

# Modules whose `__all__` is the public API they promise (each must have one).
API_MODULES = (
    "access",
    "blobs",
    "cost",
    "ecr",
    "findings",
    "images",
    "lifecycle",
    "schema",
    "summary",
    "times",
)


def test_after_import_ecr_audit_every_public_module_is_an_attribute():
    """In a fresh interpreter (this one has imported everything already)."""
    public = [n for n in ecr_audit.__all__ if n in ecr_audit.SUBMODULES]
    code = (
        "import json, sys, types, ecr_audit\n"
        f"names = {public!r}\n"
        "print(json.dumps({n: isinstance(getattr(ecr_audit, n), types.ModuleType) for n in names}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    reached = json.loads(out)
    assert reached == dict.fromkeys(public, True)
    assert {"access", "lifecycle", "cost", "images", "findings"} <= set(reached)


def test_every_module_of_the_package_is_either_public_or_declared_internal():
    on_disk = {m.name for m in pkgutil.iter_modules([str(PACKAGE)]) if not m.name.startswith("_")}
    listed = set(ecr_audit.SUBMODULES) | set(ecr_audit.INTERNAL_MODULES)
    assert on_disk == listed, {"neither": on_disk - listed, "gone": listed - on_disk}
    assert not set(ecr_audit.SUBMODULES) & set(ecr_audit.INTERNAL_MODULES)
    # The sandbox needs an extra: `from ecr_audit import *` must work without it.
    assert set(ecr_audit.SUBMODULES) - set(ecr_audit.__all__) == {"sandbox"}


@pytest.mark.parametrize("name", ["ecr_audit", *(f"ecr_audit.{m}" for m in API_MODULES)])
def test_every_name_in_a_public_all_exists(name):
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), (list, tuple)), f"{name} has no __all__"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, missing
    assert len(set(module.__all__)) == len(module.__all__)


def test_every_all_in_the_package_names_only_what_exists():
    for name in MODULES:
        if name.startswith("ecr_audit.sandbox") or name.endswith("kernel_launch"):
            continue  # the sandbox needs the [sandbox] extra; kernel_launch is a script
        module = importlib.import_module(name)
        missing = [n for n in getattr(module, "__all__", ()) if not hasattr(module, n)]
        assert not missing, (name, missing)


def test_an_unknown_attribute_of_the_package_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        ecr_audit.nothing_here  # noqa: B018
