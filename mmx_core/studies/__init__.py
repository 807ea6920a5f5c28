"""Orchestrations that chain several stages (train, evaluate, explore): the Table-2 ablation,
the planted sub-genre experiment, the release of the shipped models and their model card."""
