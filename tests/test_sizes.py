"""The size rule of docs/architecture.md: no module of the project's source over 300 lines and no function
over 60, so each file holds one thing a reader can take in at once (tests excepted)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = [ROOT / "app.py", *sorted(p for folder in ("mmx_core", "ui", "pages", "benchmarks", "testing")
                                   for p in (ROOT / folder).rglob("*.py"))]
MODULE_LINES, FUNCTION_LINES = 300, 60


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_source_is_found():
    names = {_relative(p) for p in SOURCE}
    assert {"app.py", "mmx_core/cli.py", "benchmarks/__main__.py"} <= names and len(names) > 200


def test_no_module_is_over_300_lines():
    long = [f"{_relative(p)}: {n}" for p in SOURCE if (n := len(p.read_text().splitlines())) > MODULE_LINES]
    assert not long, "split these by what they hold:\n" + "\n".join(long)


def test_no_function_is_over_60_lines():
    long = []
    for path in SOURCE:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if (n := node.end_lineno - node.lineno + 1) > FUNCTION_LINES:
                    long.append(f"{_relative(path)}:{node.lineno} {node.name}: {n}")
    assert not long, "split these into steps:\n" + "\n".join(long)
