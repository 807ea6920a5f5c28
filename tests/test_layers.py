"""The layer rule of docs/architecture.md: mmx_core imports only downward, and no module imports
itself back through others. Walks every import statement (function-level ones included) of every
module, so a lazy import cannot hide an upward dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mmx_core"

from mmx_core.docs.module_map import LAYERS  # noqa: E402  (the one statement of the rule)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, top: str = "mmx_core") -> set[str]:
    """Absolute names ``path`` imports from the package ``top`` (relative imports resolved; for ``from X import y``
    both ``X`` and ``X.y``, since ``y`` may be a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).split(".") if path.name == "__init__.py" else module_name(path).split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == top}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] != top:
                continue
            found.add(name)
            found |= {f"{name}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return found


def known_modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def graph() -> dict[str, set[str]]:
    modules = known_modules()
    edges = {}
    for name, path in modules.items():
        names = imports_of(path)
        # `from pkg import module` imports the module, not the package's other contents
        names = {n for n in names if not any(m.startswith(n + ".") and m in modules for m in names)}
        targets = {resolve(imp, modules) for imp in names}
        edges[name] = {t for t in targets if t and t != name and t != "mmx_core"}
    return edges


def test_every_part_of_the_package_has_a_layer():
    parts = {part_of(m) for m in known_modules()}
    assert parts <= set(LAYERS), f"give these a layer in LAYERS and docs/architecture.md: {parts - set(LAYERS)}"


def test_imports_only_go_down():
    upward = []
    for source, targets in graph().items():
        for target in targets:
            a, b = part_of(source), part_of(target)
            if a != b and LAYERS[b] >= LAYERS[a]:
                upward.append(f"{source} -> {target} ({a}: {LAYERS[a]}, {b}: {LAYERS[b]})")
    assert not upward, "imports that do not go down a layer:\n" + "\n".join(sorted(upward))


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_library_never_imports_streamlit():
    offenders = [module_name(p) for p in PACKAGE.rglob("*.py") if imports_of(p, "streamlit")]
    assert not offenders


@pytest.mark.parametrize("source, expected", [
    ("from mmx_core.train import loop\n", {"mmx_core.train", "mmx_core.train.loop"}),
    ("def f():\n    from mmx_core.explore.compare import x\n", {"mmx_core.explore.compare", "mmx_core.explore.compare.x"}),
])
def test_the_walker_sees_lazy_and_package_imports(tmp_path, source, expected):
    fake = PACKAGE / "base" / "_layer_probe_tmp.py"
    try:
        fake.write_text(source)
        assert imports_of(fake) == expected
    finally:
        fake.unlink()
