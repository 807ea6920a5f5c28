"""Run the benchmarks and write docs/benchmarks.md (one section per bench module).

``python -m benchmarks`` runs all; ``python -m benchmarks data explore`` runs some;
``--quick`` runs small sizes (for checking that a benchmark works); ``--dry-run`` prints the tables
and writes nothing. Sections of benchmarks not run keep their previous text in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

import benchmarks
import torch

from mmx_core.base import docblocks

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def available() -> list[str]:
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {available()})")
    parser.add_argument("--quick", action="store_true", help="small sizes, to check a benchmark runs")
    parser.add_argument("--dry-run", action="store_true", help="print the tables, write nothing")
    parser.add_argument("--soak-minutes", type=float, default=None,
                        help="load: length of the soak of sessions opening and closing (default 30, 1 with --quick)")
    parser.add_argument("--workers", type=int, default=None,
                        help="load: Streamlit workers behind the proxy for the goals (default 2; 1 worker is "
                             "measured beside)")
    args = parser.parse_args()
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    names = args.names or available()
    unknown = set(names) - set(available())
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; available: {available()}")
    for name in names:
        print(f"== bench {name}", file=sys.stderr, flush=True)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        start = time.perf_counter()
        options = {key: value for key, value in (("soak_minutes", args.soak_minutes), ("workers", args.workers))
                   if name == "load" and value is not None}
        tables = module.run(quick=args.quick, **options)
        elapsed = time.perf_counter() - start
        if not tables:             # nothing measured here (gpu without a GPU): the previous block stays
            continue
        stamp = (f"_{time.strftime('%Y-%m-%d %H:%M')} UTC, {platform.node() or 'this machine'}, {machine()}, "
                 f"{elapsed:.0f} s{' (quick)' if args.quick else ''}_\n\n")
        content = f"## {name}\n\n" + stamp + "\n".join(t.to_markdown() for t in tables) + "\n"
        for table in tables:
            print(table.to_markdown(), flush=True)
        if not args.dry_run:       # a benchmark with a document of its own (reliability) writes there
            own = getattr(module, "DOC", None)
            docblocks.update_block(own or DOC, name, content, "" if own else HEADER)
    return 0


HEADER = (
    "# Benchmarks\n\nWritten by `make bench` (`python -m benchmarks`); each section by its "
    "`benchmarks/bench_<name>.py`, between `<!-- BEGIN GENERATED: name -->` and `<!-- END GENERATED: name -->` "
    "(see `mmx_core/base/docblocks.py`). Each section's first line says when, on which machine and how long. "
    "Text elsewhere quotes these figures through includes; `python -m mmx_core docs` refreshes them.\n"
)


def machine() -> str:
    """Cores, memory and GPU of this machine, for the stamp line of a section."""
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{os.cpu_count()} cores, {memory:.0f} GiB, {gpu}"


if __name__ == "__main__":
    sys.exit(main())
