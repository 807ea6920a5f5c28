"""Evaluation: the paper's metrics, reports and baselines."""
