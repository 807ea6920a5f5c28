"""Benchmarks: ``python -m benchmarks [NAME ...]`` runs bench_*.py and writes docs/benchmarks.md.

Each ``benchmarks/bench_<name>.py`` defines ``run(quick: bool) -> list[Table]``.
"""
