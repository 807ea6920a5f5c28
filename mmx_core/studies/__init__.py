"""Studies that chain several stages (train, evaluate, explore) into one experiment or release.

The Table-2 ablation, the planted sub-genre experiment, the release of the shipped models and their
model card."""

RUN_DEFAULTS = {"batch_size": 32, "patience": 5}
"""Batch size and early-stopping patience of an ``ablate`` or ``subgenre-eval`` run when not given (not the stage
recipes: the results in docs/results.md were made with these and their commands leave them out)."""
