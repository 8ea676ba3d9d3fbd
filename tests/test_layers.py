"""The conventions docs/ARCHITECTURE.md promises a newcomer, checked on the source tree:
views never open a transaction or write an audit row (one action function per user action
owns both), every audit row names its user and ward explicitly, no import loop, and no
module too long to read."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wardkit"
MAX_LINES = 500
SOURCES = sorted(p for p in PACKAGE.rglob("*.py"))


def _calls(tree: ast.AST):
    """Yield every call node in `tree` with its dotted callee name ("audit.record")."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            parts = []
            while isinstance(func, ast.Attribute):
                parts.append(func.attr)
                func = func.value
            if isinstance(func, ast.Name):
                parts.append(func.id)
            yield ".".join(reversed(parts)), node


def _rel(path: pathlib.Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_tree_is_checked():
    assert len(SOURCES) > 40
    assert any(p.name == "views.py" for p in SOURCES)


@pytest.mark.parametrize("path", [p for p in SOURCES if p.name.endswith("views.py")], ids=_rel)
def test_views_open_no_transaction_and_write_no_audit_row(path):
    """A view parses, calls one action function, renders: write() and audit.record()
    belong to the action (docs/ARCHITECTURE.md#write-path)."""
    tree = ast.parse(path.read_text(), str(path))
    found = [f"line {node.lineno}: {name}()" for name, node in _calls(tree)
             if name in ("write", "db.write", "dbmod.write", "audit.record", "record")]
    assert not found, f"{_rel(path)} opens a transaction or audits itself: {found}"


def test_every_audit_row_names_its_user_and_ward():
    missing = []
    for path in SOURCES:
        if path.name == "audit.py":
            continue
        for name, node in _calls(ast.parse(path.read_text(), str(path))):
            if name == "audit.record":
                keywords = {k.arg for k in node.keywords}
                if not {"user_id", "ward_code"} <= keywords:
                    missing.append(f"{_rel(path)}:{node.lineno}")
    assert not missing, f"audit.record without explicit user_id= and ward_code=: {missing}"


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: pathlib.Path) -> set[str]:
    """Return the wardkit modules `path` imports at module level (imports inside
    functions run later and cannot make a loop at import time, but are counted too: a
    loop hidden in a function is still a loop for the reader)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("wardkit")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("wardkit"):
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
    return {m for m in found if m in MODULES and m != module}


MODULES = {_module_name(p) for p in SOURCES}


def test_no_import_loop_between_modules():
    """Modules of the same package may not import each other in a circle (visits'
    queries and progress used to); a package's __init__ is left out, since it only
    wires its modules together."""
    graph = {_module_name(p): {m for m in _imports(p) if not _is_package(m)}
             for p in SOURCES if p.name != "__init__.py"}
    loops = []

    def visit(node, stack, seen):
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack:
                loops.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in seen:
                seen.add(nxt)
                visit(nxt, stack + [nxt], seen)

    for start in sorted(graph):
        visit(start, [start], {start})
    assert not loops, f"import loops: {sorted(set(loops))[:10]}"


def _is_package(module: str) -> bool:
    return (ROOT / module.replace(".", "/") / "__init__.py").exists()


@pytest.mark.parametrize("path", SOURCES, ids=_rel)
def test_no_module_too_long_to_read(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{_rel(path)} has {lines} lines (split it by concern)"
