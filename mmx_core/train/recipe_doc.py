"""The training recipe as a generated block of docs/model.md (read from ``STAGE_RECIPES`` and ``TrainConfig``).

``python -m mmx_core docs`` writes :func:`render_train_recipe` as the block ``train-recipe``,
so the documented per-stage budget is the one ``python -m mmx_core train`` uses.
"""

from __future__ import annotations

from mmx_core.train.config import STAGE_RECIPES, TrainConfig

__all__ = ["BLOCK", "DOC", "render_train_recipe"]

DOC = "docs/model.md"
BLOCK = "train-recipe"


def render_train_recipe() -> str:
    """Markdown: one row per stage (epochs, batch, lr, patience) and the settings both stages share."""
    columns = ["epochs", "batch_size", "lr", "patience"]
    lines = ["### Training recipe (`STAGE_RECIPES`, the defaults of `python -m mmx_core train`)", "",
             "| stage | " + " | ".join(columns) + " | early stopping |", "| --- |" + " --- |" * (len(columns) + 1)]
    for stage, recipe in STAGE_RECIPES.items():
        stopping = "on the validation metric" if recipe["patience"] else "none: fixed budget, last epoch kept"
        lines.append(f"| {stage} | " + " | ".join(f"{recipe[c]:g}" for c in columns) + f" | {stopping} |")
    defaults = TrainConfig()
    lines += ["", "| shared setting (`TrainConfig`) | default |", "| --- | --- |",
              f"| weight_decay (AdamW) | {defaults.weight_decay:g} |",
              f"| temperature (NT-Xent, fine) | {defaults.temperature:g} |",
              f"| seed | {defaults.seed} |"]
    return "\n".join(lines)
