"""Run the benchmarks and write docs/benchmarks.md (one section per bench module).

``python -m benchmarks`` runs all; ``python -m benchmarks data explore`` runs some;
``--quick`` runs small sizes (for checking that a benchmark works). Sections of
benchmarks not run keep their previous text in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import platform
import re
import sys
import time
from pathlib import Path

import benchmarks
from mmx_core.base.artefacts import atomic_write

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
MARK = "<!-- bench:{} -->"


def available() -> list[str]:
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))


def read_sections() -> dict[str, str]:
    if not DOC.exists():
        return {}
    text = DOC.read_text()
    sections = {}
    for match in re.finditer(r"<!-- bench:(\w+) -->\n(.*?)(?=<!-- bench:|\Z)", text, re.S):
        sections[match.group(1)] = match.group(2)
    return sections


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {available()})")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check a benchmark runs")
    args = parser.parse_args()
    names = args.names or available()
    unknown = set(names) - set(available())
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; available: {available()}")
    sections = read_sections()
    for name in names:
        print(f"== bench {name}", file=sys.stderr, flush=True)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        start = time.perf_counter()
        tables = module.run(quick=args.quick)
        elapsed = time.perf_counter() - start
        stamp = f"_{time.strftime('%Y-%m-%d %H:%M')} UTC, {platform.node() or 'this machine'}, {elapsed:.0f} s{' (quick)' if args.quick else ''}_\n\n"
        sections[name] = f"## {name}\n\n" + stamp + "\n".join(t.to_markdown() for t in tables) + "\n"
        for table in tables:
            print(table.to_markdown(), flush=True)
        write_doc(sections)
    return 0


def write_doc(sections: dict[str, str]) -> None:
    header = (
        "# Benchmarks\n\nWritten by `make bench` (`python -m benchmarks`); each section by its "
        "`benchmarks/bench_<name>.py`. Machine: 2 cores, 24 GiB, no GPU unless a table says so.\n\n"
    )
    body = "".join(MARK.format(name) + "\n" + sections[name] for name in sorted(sections))
    with atomic_write(DOC, "w") as handle:
        handle.write(header + body)


if __name__ == "__main__":
    sys.exit(main())
