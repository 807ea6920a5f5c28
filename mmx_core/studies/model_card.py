"""models/README.md: the model card of the shipped encoders, rendered from make_models' results."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mmx_core.base.docblocks import block_markers
from mmx_core.base.paths import PROJECT_ROOT

__all__ = ["render_model_card"]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min"


BLOCK = "model-card"


def render_model_card(r: dict[str, Any]) -> str:
    """The card as one generated block (``model-card``) that other docs can quote through includes."""
    begin, end = block_markers(BLOCK)
    lines = [begin, *_files_section(r), *_data_and_model_section(r), *_time_section(r["timings"]),
             *_metrics_section(r), end, ""]
    return "\n".join(lines)


def _files_section(r: dict[str, Any]) -> list[str]:
    """Title, provenance line and the table of shipped files."""
    c = r["config"]
    return [
        "# Shipped encoders (model card)",
        "",
        f"_Written by `python -m mmx_core make-models` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{r['machine']}._",
        "",
        "| file | what |",
        "| --- | --- |",
        f"| `coarse.pt` | coarse genre encoder (best validation AU(PRC)w, epoch {r['coarse']['epoch']}), "
        f"{r['coarse']['size_mb']:.1f} MB |",
        f"| `fine.pt` | contrastively fine-tuned encoder ({_fine_stage(c)[0]}, epoch {r['fine']['epoch']}), "
        f"{r['fine']['size_mb']:.1f} MB |",
        "| `coarse_embeddings.npz`, `fine_embeddings.npz` | bottleneck embeddings of all "
        f"{r['n_trailers']:,} trailers (ids = the published trailer ids, `generated` = true) |",
        "| `make_models.json` | every number on this page, with the per-epoch history |",
        "",
        "Load with `mmx_core.train.load_checkpoint(\"models/fine.pt\")`; the checkpoints hold weights, configs, genre",
        "vocabulary and data fingerprint, not the optimiser state (use the run folders to resume training).",
        "",
    ]


def _data_and_model_section(r: dict[str, Any]) -> list[str]:
    """Where the data comes from, the encoder and the two training stages."""
    c, m = r["config"], r["model"]
    return [
        "## Data",
        "",
        f"`python -m mmx_core synth --latent published --seed {c['seed']}` into `{_relative(c['data'])}`: generated expert features "
        "(image 2048, scene 2048, motion 512, audio 128 x frames) whose trailer latents are the principal components of "
        "the authors' published embeddings, with the published titles, years, TMDB genres and a 70/10/20 "
        "train/val/test split. **The features are generated**, not extracted from video, so the metrics below "
        "describe this synthetic task and are not comparable with the paper's Table 2.",
        f"Data fingerprint `{r['data_fingerprint']}`.",
        "",
        "## Model and training",
        "",
        f"The paper's encoder (docs/model.md): NetVLAD ({m['vlad_clusters']} clusters + {m['vlad_ghost_clusters']} ghost) "
        f"for audio, average pooling for video, projection to {m['shared_dim']}, collaborative gating + GEM, "
        f"{m.get('clips_per_sequence', 9)} clips -> sequence MLP ({m['sequence_dim']}), mean over sequences -> bottleneck ({m['bottleneck_dim']}); "
        f"coarse head k and projection head m ({m['projection_dim']}). {m['train_sequences']} random sequences per "
        "trailer in coarse training (halves of at most that many in the fine stage), all sequences at inference.",
        "",
        f"- coarse: BCE with logits, AdamW lr {c['coarse_lr']}, batch {c['batch_size']}, up to {c['coarse_epochs']} epochs, "
        f"early stopping on validation AU(PRC)w (patience {c['patience']}), seed {c['seed']};",
        f"- fine: from the best coarse checkpoint, NT-Xent (temperature 0.5) between two disjoint random halves of "
        f"each trailer, other trailers of the batch as negatives, AdamW lr {c['fine_lr']}, "
        f"{_fine_stage(c)[1]}; seed {c['seed']}.",
        "",
        "Command: `make models` (= `python -m mmx_core make-models`).",
        "",
    ]


def _time_section(t: dict[str, float]) -> list[str]:
    """Time of each step on the machine that made the models."""
    return [
        "## Time on this machine",
        "",
        "| step | time |",
        "| --- | --- |",
        *(f"| {step} | {_minutes(t[key])} |" for step, key in (
            ("generate data", "data_s"), ("train coarse", "coarse_s"), ("train fine", "fine_s"),
            ("export + embed both", "export_embed_s"))),
        f"| **total** | **{_minutes(t['total_s'])}** |",
        "",
        "Training times come from the runs' events.jsonl (steps reused from an earlier call report the time they took "
        "then).",
        "",
    ]


def _metrics_section(r: dict[str, Any]) -> list[str]:
    """The coarse encoder's test metrics, best validation values and the neighbours' genre overlap."""
    test, overlap = r["coarse_test"], r["neighbour_genre_overlap"]
    return [
        "## Metrics",
        "",
        f"Coarse encoder on the test split ({test['n_trailers']} trailers), threshold 0.5:",
        "",
        "| AU(PRC)w | AU(PRC) micro | AU(PRC) macro | F1w | Pw | Rw |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| {test['auprc_weighted']:.3f} | {test['auprc_micro']:.3f} | {test['auprc_macro']:.3f} | "
        f"{test['f1_weighted']:.3f} | {test['precision_weighted']:.3f} | {test['recall_weighted']:.3f} |",
        "",
        f"Best validation: coarse {r['coarse']['metric_name']} {r['coarse']['best_metric']:.4f}, "
        f"fine {r['fine']['metric_name']} {r['fine']['best_metric']:.4f}.",
        "",
        "Mean genre-set Jaccard overlap between a trailer and its 10 cosine neighbours (all trailers): "
        f"coarse {overlap['coarse']:.3f}, fine {overlap['fine']:.3f} ({_overlap_change(overlap)}).",
    ]


def _overlap_change(overlap: dict[str, float]) -> str:
    """Which space keeps more genre-alike neighbours, read from the two values."""
    coarse, fine = round(overlap["coarse"], 3), round(overlap["fine"], 3)
    if fine == coarse:
        return "the same in both spaces"
    return f"{'lower' if fine < coarse else 'higher'} in the fine space"


def _relative(path: str) -> str:
    """``path`` relative to the project folder when it lies inside it (the card is shipped)."""
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _fine_stage(c: dict) -> tuple[str, str]:
    """Which fine epoch the card's model is and the fine budget, from the fine stage's patience (cards written
    before ``fine_patience`` existed used ``patience``)."""
    patience = c.get("fine_patience", c["patience"])
    if patience == 0:
        return "last epoch of a fixed budget", (
            f"{c['fine_epochs']} epochs without early stopping, the last one kept (the validation loss stops "
            "falling long before the sub-genre neighbourhoods stop improving: docs/model.md, \"The style shortcut\")")
    return ("best validation NT-Xent loss",
            f"up to {c['fine_epochs']} epochs, early stopping on validation loss (patience {patience})")
