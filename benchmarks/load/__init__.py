"""The parts of the load benchmark (``benchmarks/bench_load.py``): the session, the stack, the phases, the tables."""
