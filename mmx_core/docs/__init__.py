"""Docs that cannot go stale: generated blocks rendered from the code, includes quoting them, and their check."""
