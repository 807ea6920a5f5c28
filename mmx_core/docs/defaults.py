"""The defaults the code holds, as generated blocks: the generator's knobs, the training recipe, exploration.

Each renderer reads the values from where the code keeps them (:class:`SynthConfig`, ``STAGE_RECIPES`` and
:class:`TrainConfig`, the estimators' ``defaults()``, the scale policy), so a documented default cannot drift
from the one the code uses; :mod:`mmx_core.docs.build` says which doc and block each one writes.
"""

from __future__ import annotations

import dataclasses

from mmx_core.data.manifest import PAPER_EXPERTS
from mmx_core.data.synth import LABEL_CARDINALITY, SynthConfig
from mmx_core.docs.includes import markdown_table
from mmx_core.explore.clustering import SubgenreClusterer
from mmx_core.explore.compare import ALL_ROWS_PROBE, MIN_SHARED_IDS
from mmx_core.explore.neighbours import NeighbourIndex
from mmx_core.explore.placement import EXACT_PLACE_MAX
from mmx_core.explore.projection import Projector
from mmx_core.explore.scale import POLICY, sample_min_cluster_size, transform_epochs
from mmx_core.explore.warm_map import REFINE_LEARNING_RATE, WARM, refine_epochs
from mmx_core.train.config import STAGE_RECIPES, TrainConfig
from mmx_core.trailers.genres import PAPER_SUPPORT

__all__ = ["KNOBS", "clip_bytes", "render_explore_defaults", "render_scale_rules", "render_synth_defaults",
           "render_train_recipe"]

# knob -> (CLI flag, "" when only the Python API sets it; meaning); every field of SynthConfig has one.
KNOBS: dict[str, tuple[str, str]] = {
    "latent": ("--latent", "where the trailer latents come from"),
    "dims": ("--dims", "expert dims (none: the paper's dims)"),
    "subgenres_per_genre": ("--subgenres", "sub-genres per genre"),
    "latent_dim": ("--latent-dim", "L (none: 64 planted, 128 published)"),
    "genre_strength": ("--genre-strength", "scale of the genre part (published: of the latents)"),
    "subgenre_strength": ("--subgenre-strength", "scale of the sub-genre content"),
    "trailer_noise": ("--trailer-noise", "the trailer's own individuality"),
    "sequence_noise": ("--sequence-noise", "per-sequence variation"),
    "clip_noise": ("--clip-noise", "per-clip variation"),
    "frame_noise": ("--frame-noise", "per-audio-frame variation"),
    "style_dim": ("--style-dim", "width of the per-trailer, per-expert nuisance"),
    "style_strength": ("--style-strength", "scale of that nuisance (the section below says why this value)"),
    "style_looks": ("--style-looks", "0: a style per trailer and expert; K > 0: one of K production looks per trailer"),
    "visibility": ("--visibility", "share of latent coordinates each expert sees"),
    "feature_noise": ("--feature-noise", "noise in feature space"),
    "sequences": ("--sequences MIN MAX", "sequences per trailer, uniform"),
    "clips_per_sequence": ("", "C, clips in a full sequence"),
    "short_sequence_rate": ("--short-sequence-rate", "share of sequences with fewer than C clips"),
    "audio_frames": ("--audio-frames MIN MAX", "audio frames per clip, uniform"),
    "missing_audio": ("--missing-audio", "share of clips without audio (stored as missing)"),
    "expert_corruption": ("--expert-corruption", "probability that an expert of a trailer is unreliable (below)"),
    "splits": ("", "train / val / test fractions"),
}


def _value(value) -> str:
    """A default as the docs show it: ``none``, a tuple as its items, large counts with thousands separators."""
    if value is None:
        return "none"
    if isinstance(value, (tuple, list)):
        return " ".join(str(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def _clip_frames(spec, config: SynthConfig) -> float:
    """Frames of an expert a clip holds on average: 1, or the audio frames (missing audio counted as none)."""
    return (sum(config.audio_frames) / 2) * (1 - config.missing_audio) if spec.temporal == "frames" else 1


def clip_bytes(config: SynthConfig | None = None) -> float:
    """Mean bytes a clip costs in float16 at the config's dims (audio frames at their mean, minus missing audio)."""
    config = config or SynthConfig()
    return sum(2 * spec.dim * _clip_frames(spec, config) for spec in config.experts().values())


def render_synth_defaults() -> str:
    """Markdown: the knob table, the label cardinality, the planted support and the cost of a clip."""
    config = SynthConfig()
    knobs = [(f"`{field.name}`", f"`{KNOBS[field.name][0]}`" if KNOBS[field.name][0] else "(Python only)",
              _value(getattr(config, field.name)), KNOBS[field.name][1]) for field in dataclasses.fields(SynthConfig)]
    mean = sum((k + 1) * p for k, p in enumerate(LABEL_CARDINALITY))
    experts = [(name, spec.dim, f"{_clip_frames(spec, config):.3g}",
                f"{2 * spec.dim * _clip_frames(spec, config):,.0f}") for name, spec in PAPER_EXPERTS.items()]
    lines = ["### Generator defaults (`SynthConfig`)", "",
             *markdown_table(["knob", "CLI flag", "default", "what"], knobs),
             "", "### Genres per trailer (planted)", "",
             *markdown_table(["genres k", *(str(k + 1) for k in range(len(LABEL_CARDINALITY))), "mean"],
                             [["P(k)", *(f"{p:g}" for p in LABEL_CARDINALITY), f"{mean:.3g}"]]),
             "", "### Genre support used by the planted latents (`PAPER_SUPPORT`)", "",
             *markdown_table(["genre", "support"], PAPER_SUPPORT.items()),
             "", "### Bytes a clip costs (real dims, float16)", "",
             *markdown_table(["expert", "dim", "frames a clip (mean)", "bytes"], experts),
             f"| clip | | | {clip_bytes(config):,.0f} |"]
    return "\n".join(lines)


def render_train_recipe() -> str:
    """Markdown: one row per stage (epochs, batch, lr, patience) and the settings both stages share."""
    columns = ["epochs", "batch_size", "lr", "patience"]
    stages = [(stage, *(f"{recipe[c]:g}" for c in columns),
               "on the validation metric" if recipe["patience"] else "none: fixed budget, last epoch kept")
              for stage, recipe in STAGE_RECIPES.items()]
    defaults = TrainConfig()
    return "\n".join(["### Training recipe (`STAGE_RECIPES`, the defaults of `python -m mmx_core train`)", "",
                      *markdown_table(["stage", *columns, "early stopping"], stages), "",
                      *markdown_table(["shared setting (`TrainConfig`)", "default"], [
                          ("weight_decay (AdamW)", f"{defaults.weight_decay:g}"),
                          ("temperature (NT-Xent, fine)", f"{defaults.temperature:g}"),
                          ("seed", defaults.seed)])])


def render_explore_defaults() -> str:
    """Markdown: one table per estimator (parameter, default), then the comparison's constants."""
    lines = []
    for estimator in (Projector, SubgenreClusterer, NeighbourIndex):
        lines += [f"### `{estimator.__name__}`", "",
                  *markdown_table(["parameter", "default"], ((name, _value(value))
                                                            for name, value in estimator.defaults().items())), ""]
    lines += ["### Comparison", "", *markdown_table(["constant", "value"], [("minimum shared ids", MIN_SHARED_IDS)])]
    return "\n".join(lines)


def render_scale_rules() -> str:
    """Markdown: the size limits of large collections, read from the code that applies them."""
    index, projector, clusterer = NeighbourIndex(), Projector(), SubgenreClusterer()
    mcs, reference = clusterer.min_cluster_size, _value(POLICY.mcs_reference)
    rules = [
        ("exact neighbour search up to", f"{_value(index.exact_max)} rows", "`NeighbourIndex.exact_max`"),
        ("IVF-PQ when the full vectors would exceed", f"{_value(index.memory_limit_mb)} MB",
         "`NeighbourIndex.memory_limit_mb`"),
        ("HNSW (else IVF-Flat) up to", f"{index.hnsw_max_dim} dimensions", "`NeighbourIndex.hnsw_max_dim`"),
        ("IVF lists scanned per query", index.n_probe, "`NeighbourIndex.n_probe`"),
        ("IVF-PQ candidates re-ranked exactly", f"{index.rerank} x k", "`NeighbourIndex.rerank`"),
        ("exact UMAP kNN graph up to", f"{_value(projector.exact_knn_max)} rows (faiss {POLICY.knn_index} above)",
         "`Projector.exact_knn_max`, `ScalePolicy.knn_index`"),
        ("2-D map warm-started (sample fit, the rest interpolated, every row refined) above",
         f"{_value(WARM.above)} rows (up to the sample-fit limit)", "`WarmStart.above`"),
        ("rows of its sample; nearest sample rows each other row starts from",
         f"{_value(WARM.sample)}; {WARM.place_neighbors}", "`WarmStart.sample`, `WarmStart.place_neighbors`"),
        ("its refinement of every row", f"{refine_epochs(projector.n_epochs)} epochs at learning rate "
         f"{REFINE_LEARNING_RATE:g}, faiss {WARM.knn_index} graph",
         "`warm_map.REFINE_EPOCHS`, `warm_map.REFINE_LEARNING_RATE`, `WarmStart.knn_index`"),
        ("map fitted on a sample above", f"{_value(POLICY.sample_fit_above)} rows", "`ScalePolicy.sample_fit_above`"),
        ("rows of that sample", _value(POLICY.fit_sample), "`ScalePolicy.fit_sample`"),
        ("epochs placing the other rows (2-D map, 10-d space)", f"{transform_epochs(projector.n_epochs, 1)}, "
         f"{transform_epochs(clusterer.n_epochs, 1)} (a third of the fit's)", "`scale.transform_epochs`"),
        ("exact neighbours when placing points into a map of up to", f"{_value(EXACT_PLACE_MAX)} rows",
         "`placement.EXACT_PLACE_MAX`"),
        ("HDBSCAN fitted on that sample, the rest by approximate_predict, above",
         f"{_value(POLICY.sample_fit_above)} rows", "`ScalePolicy.sample_fit_above`"),
        ("min_cluster_size as given up to", f"{reference} rows", "`ScalePolicy.mcs_reference`"),
        ("min_cluster_size above that", f"round(min_cluster_size x (n / {reference})^{POLICY.mcs_exponent:g})",
         "`ScalePolicy.min_cluster_size`"),
        ("parents of the two-level labels, at most", POLICY.max_parents, "`ScalePolicy.max_parents`"),
        ("IVF lists scanned per row when a comparison searches every row", ALL_ROWS_PROBE,
         "`compare.ALL_ROWS_PROBE`"),
    ]
    sizes = []
    for n in (7_594, 100_000, 1_000_000, 10_000_000):
        given = POLICY.min_cluster_size(mcs, n)
        sampled = sample_min_cluster_size(given, n, POLICY.fit_sample) if n > POLICY.sample_fit_above else "-"
        sizes.append((_value(n), given, sampled))
    return "\n".join([*markdown_table(["rule", "value", "where"], rules), "",
                      f"min_cluster_size for the default of {mcs} at a few sizes, and on the sample of a sampled fit:",
                      "", *markdown_table(["rows", "min_cluster_size", "on the sample"], sizes)])
