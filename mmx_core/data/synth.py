"""Generated trailer data sets with known structure (``python -m mmx_core synth``).

Two kinds of trailer latents drive the same renderer of expert features:

``planted``
    Each genre holds ``subgenres_per_genre`` sub-genres. A trailer draws 1..6
    genres (frequencies proportional to the paper's test-set support, about 3
    labels on average); its first-drawn genre is its primary genre and it
    draws one of that genre's sub-genres uniformly, so sibling sub-genres have
    the same genre-label distribution. Its latent is::

        z_t = genre_strength * sum_{j in genres(t)} g_j / sqrt(|genres(t)|)
            + subgenre_strength * c_{subgenre(t)} + trailer_noise * n_t

    with g_j, c_k, n_t ~ N(0, I_L). Genre supervision sees g; the sub-genre
    content c is shared by all of the trailer's sequences, so a contrastive
    objective over two halves of a trailer can separate siblings.

``published``
    z_t is the top ``latent_dim`` principal components of the authors'
    published embedding of trailer t (unit-normalised, one global scale so
    the mean per-component variance is ``genre_strength**2``), so generated
    experts inherit the real neighbourhood structure, titles, years and TMDB
    genres (no ``subgenre`` column). The manifest says ``generated: true``.

Rendering (both): sequence latent = z_t + sequence_noise * eps, clip latent =
sequence latent + clip_noise * eps, audio frame latent = clip latent +
frame_noise * eps. Expert e sees only a random part of the latent
coordinates (each coordinate visible with probability ``visibility``, at least
one expert per coordinate) plus a per-trailer, per-expert "style" vector
(``style_strength``, shared by all the trailer's clips), mapped to its dim by a
fixed random matrix, plus ``feature_noise``. So every expert carries part of
the genre signal and its own nuisance, and fusing experts beats any one.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmx_core.base.errors import MMXError
from mmx_core.base.genres import PAPER_GENRES, PAPER_SUPPORT
from mmx_core.base.progress import progress
from mmx_core.data.manifest import PAPER_EXPERTS, SPLITS, ExpertSpec
from mmx_core.data.writer import DatasetWriter

__all__ = ["SynthConfig", "synthesize", "LABEL_CARDINALITY", "planted_label_sets", "estimate_size_bytes"]

log = logging.getLogger(__name__)

# P(number of genres = 1..6): mean 3.01, as the paper's "on average three labels".
LABEL_CARDINALITY: tuple[float, ...] = (0.12, 0.26, 0.30, 0.18, 0.09, 0.05)
_BATCH = 64  # trailers rendered at a time; part of the determinism contract (do not change per run)


@dataclass
class SynthConfig:
    """Knobs of the generator (defaults in brackets are documented in docs/data-format.md).

    Parameters
    ----------
    latent : {"planted", "published"}
        Where the trailer latents come from.
    dims : dict of str to int, optional
        Override expert dims (e.g. ``{"image": 16, "scene": 16, "motion": 8,
        "audio": 4}`` for tests); default the real dims 2048/2048/512/128.
    subgenres_per_genre : int
        Sub-genres per genre (planted) [3].
    latent_dim : int or None
        L, the latent dimension [64 planted, 128 published].
    genre_strength, subgenre_strength, trailer_noise : float
        Scales of the genre part, the sub-genre content and the trailer's own
        individuality in z_t [1.0, 0.8, 1.0].
    sequence_noise, clip_noise, frame_noise : float
        Per-sequence, per-clip and per-audio-frame variation [1.0, 0.7, 0.3].
    style_dim, style_strength : int, float
        Per-trailer, per-expert nuisance [16, 0.75] (docs/data-format.md: why 0.75).
    style_looks : int
        0: every trailer draws its own style for every expert, so the style
        identifies the trailer. K > 0: a trailer draws one of K "looks"
        (a production look: grade, format, sound mix), and every expert
        shows that look through its own fixed style vector, so a look is
        shared by about 1/K of all trailers [0].
    visibility : float or dict of str to float
        Fraction of latent coordinates each expert sees [0.4].
    feature_noise : float
        Isotropic noise in feature space [0.5].
    sequences : (int, int)
        Min and max sequences per trailer, uniform [2, 6] (mean 4).
    clips_per_sequence : int
        C [9].
    short_sequence_rate : float
        Probability that a sequence holds fewer than C clips (C-4..C-1) [0.1].
    audio_frames : (int, int)
        Min and max audio frames per clip, uniform [2, 6].
    missing_audio : float
        Probability that a clip has no audio (stored as missing) [0.05].
    expert_corruption : float
        Probability that one expert of one trailer is unreliable: all of that
        trailer's clips render, for that expert, the latent of another trailer
        of the same batch instead of its own (a wrong soundtrack, foreign
        footage). Features keep their distribution, so the expert alone cannot
        tell; only disagreement with the other experts can [0.0].
    splits : (float, float, float)
        Train / val / test fractions [0.7, 0.1, 0.2].
    """

    latent: str = "planted"
    dims: dict[str, int] | None = None
    subgenres_per_genre: int = 3
    latent_dim: int | None = None
    genre_strength: float = 1.0
    subgenre_strength: float = 0.8
    trailer_noise: float = 1.0
    sequence_noise: float = 1.0
    clip_noise: float = 0.7
    frame_noise: float = 0.3
    style_dim: int = 16
    style_strength: float = 0.75
    style_looks: int = 0
    visibility: float | dict[str, float] = 0.4
    feature_noise: float = 0.5
    sequences: tuple[int, int] = (2, 6)
    clips_per_sequence: int = 9
    short_sequence_rate: float = 0.1
    audio_frames: tuple[int, int] = (2, 6)
    missing_audio: float = 0.05
    expert_corruption: float = 0.0
    splits: tuple[float, float, float] = (0.7, 0.1, 0.2)

    def experts(self) -> dict[str, ExpertSpec]:
        dims = dict(self.dims or {})
        unknown = set(dims) - set(PAPER_EXPERTS)
        if unknown:
            raise MMXError(f"dims: unknown expert(s) {sorted(unknown)}; experts are {list(PAPER_EXPERTS)}")
        return {name: ExpertSpec(int(dims.get(name, spec.dim)), spec.temporal) for name, spec in PAPER_EXPERTS.items()}

    def resolved_latent_dim(self) -> int:
        if self.latent_dim is not None:
            return int(self.latent_dim)
        return 64 if self.latent == "planted" else 128

    def check(self) -> None:
        """Raise :class:`MMXError` naming the first knob outside its range."""
        if self.latent not in ("planted", "published"):
            raise MMXError(f"--latent must be 'planted' or 'published', got {self.latent!r}")
        for name, spec in self.experts().items():
            if spec.dim < 1:
                raise MMXError(f"dims: {name} must be >= 1, got {spec.dim}")
        if self.subgenres_per_genre < 1:
            raise MMXError(f"subgenres_per_genre must be >= 1, got {self.subgenres_per_genre}")
        if self.resolved_latent_dim() < 2 or self.style_dim < 1:
            raise MMXError(f"latent_dim must be >= 2 and style_dim >= 1, got {self.latent_dim}, {self.style_dim}")
        if self.style_looks < 0:
            raise MMXError(f"style_looks must be >= 0 (0 = a style per trailer), got {self.style_looks}")
        for name in ("genre_strength", "subgenre_strength", "trailer_noise", "sequence_noise", "clip_noise",
                     "frame_noise", "style_strength", "feature_noise"):
            if getattr(self, name) < 0:
                raise MMXError(f"{name} must be >= 0, got {getattr(self, name)}")
        vis = self.visibility.values() if isinstance(self.visibility, dict) else [self.visibility]
        if any(not 0 < v <= 1 for v in vis):
            raise MMXError(f"visibility must be in (0, 1], got {self.visibility}")
        lo, hi = self.sequences
        if not 1 <= lo <= hi:
            raise MMXError(f"sequences must be 1 <= min <= max, got {self.sequences}")
        lo, hi = self.audio_frames
        if not 1 <= lo <= hi:
            raise MMXError(f"audio_frames must be 1 <= min <= max, got {self.audio_frames}")
        if self.clips_per_sequence < 1:
            raise MMXError(f"clips_per_sequence must be >= 1, got {self.clips_per_sequence}")
        for name in ("short_sequence_rate", "missing_audio", "expert_corruption"):
            if not 0 <= getattr(self, name) < 1:
                raise MMXError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if len(self.splits) != 3 or min(self.splits) < 0 or not math.isclose(sum(self.splits), 1.0, abs_tol=1e-6):
            raise MMXError(f"splits must be three fractions summing to 1, got {self.splits}")

    def to_params(self) -> dict[str, Any]:
        params = asdict(self)
        params["latent_dim"] = self.resolved_latent_dim()
        params["dims"] = {k: v.dim for k, v in self.experts().items()}
        return params


# ---------------------------------------------------------------------------- labels
@functools.lru_cache(maxsize=8)
def _calibrated_log_weights(target: tuple[float, ...], cardinality: tuple[float, ...]) -> np.ndarray:
    """Log weights such that Gumbel-top-k sampling includes genre j with probability mean_k * target_j."""
    rng = np.random.default_rng(20210919)
    target = np.asarray(target) / np.sum(target)
    card = np.asarray(cardinality)
    want = target * np.dot(np.arange(1, len(card) + 1), card)
    n = 40000
    k = rng.choice(np.arange(1, len(card) + 1), size=n, p=card)
    gumbel = rng.gumbel(size=(n, len(target)))
    log_w = np.log(target)
    for _ in range(40):
        ranks = np.argsort(np.argsort(-(log_w + gumbel), axis=1), axis=1)
        have = (ranks < k[:, None]).mean(axis=0)
        log_w = log_w + 0.8 * (np.log(want) - np.log(np.maximum(have, 1e-6)))
        log_w -= log_w.max()
    return log_w


def planted_label_sets(rng: np.random.Generator, n: int, support: dict[str, int] | None = None,
                       cardinality: tuple[float, ...] = LABEL_CARDINALITY) -> tuple[np.ndarray, np.ndarray]:
    """Draw genre label sets with frequencies proportional to ``support``.

    Parameters
    ----------
    rng : Generator
    n : int
        Number of trailers.
    support : dict of str to int, optional
        Genre -> relative frequency (default :data:`mmx_core.base.genres.PAPER_SUPPORT`
        in the order of :data:`PAPER_GENRES`).
    cardinality : tuple of float
        P(1 genre), P(2 genres), ...

    Returns
    -------
    labels : ndarray of shape (n, n_genres)
        bool multi-hot.
    primary : ndarray of shape (n,)
        Column of each trailer's first-drawn genre.
    """
    support = support or {g: PAPER_SUPPORT[g] for g in PAPER_GENRES}
    log_w = _calibrated_log_weights(tuple(float(v) for v in support.values()), tuple(cardinality))
    k = rng.choice(np.arange(1, len(cardinality) + 1), size=n, p=np.asarray(cardinality) / np.sum(cardinality))
    keys = log_w + rng.gumbel(size=(n, len(log_w)))
    order = np.argsort(-keys, axis=1)
    ranks = np.argsort(order, axis=1)
    return ranks < k[:, None], order[:, 0]


# ---------------------------------------------------------------------------- trailer latents
def _assign_splits(rng: np.random.Generator, n: int, fractions) -> np.ndarray:
    counts = np.floor(np.asarray(fractions) * n).astype(int)
    counts[0] += n - counts.sum()
    split = np.repeat(np.array(SPLITS, dtype=object), counts)
    return split[rng.permutation(n)]


def _letters(k: int) -> str:
    """0 -> 'a', 25 -> 'z', 26 -> 'aa', ... (sub-genre names)."""
    name = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        name = chr(97 + r) + name
    return name


def _planted_trailers(cfg: SynthConfig, n: int, rng: np.random.Generator) -> tuple[list[str], list[dict], np.ndarray]:
    genres = list(PAPER_GENRES)
    n_g, n_sub, dim = len(genres), cfg.subgenres_per_genre, cfg.resolved_latent_dim()
    labels, primary = planted_label_sets(rng, n)
    sub = rng.integers(0, n_sub, size=n)
    genre_vectors = rng.standard_normal((n_g, dim))
    content = rng.standard_normal((n_g, n_sub, dim))
    z = cfg.genre_strength * (labels @ genre_vectors) / np.sqrt(labels.sum(axis=1, keepdims=True))
    z += cfg.subgenre_strength * content[primary, sub] + cfg.trailer_noise * rng.standard_normal((n, dim))
    split = _assign_splits(rng, n, cfg.splits)
    years = rng.integers(1930, 2021, size=n)
    width = max(5, len(str(n)))
    rows = []
    for i in range(n):
        # the title says nothing of the sub-genre: only the `subgenre` column holds the ground truth
        rows.append({
            "id": f"syn{i:0{width}d}", "title": f"Synthetic trailer {i}", "year": int(years[i]),
            "genres": [genres[j] for j in np.flatnonzero(labels[i])], "split": split[i],
            "subgenre": f"{genres[primary[i]]}/{_letters(int(sub[i]))}",
        })
    return genres, rows, z


@functools.lru_cache(maxsize=2)
def _published_latents(dim: int, strength: float) -> np.ndarray:
    """Top ``dim`` principal components of all published embeddings (unit rows), one global scale."""
    from mmx_core.base.assets import load_published

    x = load_published().normalized().astype(np.float64)
    x -= x.mean(axis=0)
    dim = min(dim, x.shape[1])
    _, vectors = np.linalg.eigh(x.T @ x)  # ascending eigenvalues
    z = x @ vectors[:, ::-1][:, :dim]
    return z * (strength / np.sqrt((z ** 2).mean()))


def _published_trailers(cfg: SynthConfig, n: int | None,
                        rng: np.random.Generator) -> tuple[list[str], list[dict], np.ndarray]:
    from mmx_core.base.assets import load_published

    published = load_published()
    total = len(published)
    if n is None:
        n = total
    if n > total:
        raise MMXError(f"--trailers {n} exceeds the {total} published trailers; use at most {total}")
    rows_idx = np.arange(total) if n == total else np.sort(rng.choice(total, size=n, replace=False))
    z = _published_latents(cfg.resolved_latent_dim(), cfg.genre_strength)[rows_idx]
    meta = published.metadata.iloc[rows_idx].reset_index(drop=True)
    genres = sorted({g for gs in published.metadata["genres"] for g in gs})
    split = _assign_splits(rng, n, cfg.splits)
    rows = []
    for i, record in enumerate(meta.itertuples(index=False)):
        year = record.year
        rows.append({"id": str(record.id), "title": str(record.title),
                     "year": None if year is None or year != year or str(year) == "<NA>" else int(year),
                     "genres": list(record.genres), "split": split[i]})
    empty = [r["id"] for r in rows if not r["genres"]]
    if empty:
        raise MMXError(f"published trailers without genres: {empty[:5]}; the bundled assets look damaged")
    return genres, rows, z


# ---------------------------------------------------------------------------- rendering
class _Renderer:
    """Fixed random maps latent -> expert features; renders batches of trailers."""

    def __init__(self, cfg: SynthConfig, experts: dict[str, ExpertSpec], latent_dim: int, rng: np.random.Generator):
        self.cfg, self.experts, self.latent_dim = cfg, experts, latent_dim
        n_e = len(experts)
        vis = np.array([cfg.visibility.get(e, 0.4) if isinstance(cfg.visibility, dict) else cfg.visibility
                        for e in experts])
        seen = rng.random((n_e, latent_dim)) < vis[:, None]
        orphan = ~seen.any(axis=0)
        seen[rng.integers(0, n_e, size=orphan.sum()), np.flatnonzero(orphan)] = True
        self.visible = {e: seen[i] for i, e in enumerate(experts)}
        self.maps = {}
        for i, (name, spec) in enumerate(experts.items()):
            n_in = int(seen[i].sum()) + cfg.style_dim
            w = rng.standard_normal((latent_dim + cfg.style_dim, spec.dim)) / np.sqrt(n_in)
            w[:latent_dim][~seen[i]] = 0.0
            self.maps[name] = w.astype(np.float32)
        # drawn after the maps and only when used, so style_looks=0 keeps earlier data sets bit-identical
        self.looks = ({name: rng.standard_normal((cfg.style_looks, cfg.style_dim)).astype(np.float32)
                       for name in experts} if cfg.style_looks else None)

    def render(self, z: np.ndarray, rng: np.random.Generator):
        """Render trailers with latents ``z`` (n, L): returns (sequence_counts, clip_counts, features)."""
        cfg, n = self.cfg, len(z)
        n_seq = rng.integers(cfg.sequences[0], cfg.sequences[1] + 1, size=n)
        c = cfg.clips_per_sequence
        short = rng.random(n_seq.sum()) < cfg.short_sequence_rate
        clip_counts = np.where(short, rng.integers(max(1, c - 4), c, size=n_seq.sum()) if c > 1 else c, c)
        seq_trailer = np.repeat(np.arange(n), n_seq)
        clip_seq = np.repeat(np.arange(len(clip_counts)), clip_counts)
        clip_trailer = seq_trailer[clip_seq]
        n_clips = len(clip_seq)
        z = z.astype(np.float32)
        def normal(*shape: int) -> np.ndarray:
            return rng.standard_normal(shape, dtype=np.float32)

        seq_lat = z[seq_trailer] + cfg.sequence_noise * normal(len(seq_trailer), self.latent_dim)
        clip_lat = seq_lat[clip_seq] + cfg.clip_noise * normal(n_clips, self.latent_dim)
        features = {}
        look = rng.integers(0, cfg.style_looks, size=n) if self.looks else None  # one look per trailer, all experts
        for name, spec in self.experts.items():
            style = cfg.style_strength * (normal(n, cfg.style_dim) if look is None else self.looks[name][look])
            shift = self._corruption_shift(z, rng)  # None when expert_corruption == 0 (no draws: same files)
            if spec.temporal == "frames":
                frame_counts = rng.integers(cfg.audio_frames[0], cfg.audio_frames[1] + 1, size=n_clips)
                frame_counts[rng.random(n_clips) < cfg.missing_audio] = 0
                frame_clip = np.repeat(np.arange(n_clips), frame_counts)
                lat = clip_lat[frame_clip] + cfg.frame_noise * normal(len(frame_clip), self.latent_dim)
                owner = clip_trailer[frame_clip]
            else:
                frame_counts = np.ones(n_clips, dtype=np.int64)
                lat, owner = clip_lat, clip_trailer
            if shift is not None:
                lat = lat + shift[owner]
            x = np.concatenate([lat, style[owner]], axis=1) @ self.maps[name]
            x += cfg.feature_noise * normal(*x.shape)
            features[name] = (x, frame_counts)
        return n_seq, clip_counts, features

    def _corruption_shift(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
        """Per-trailer latent offsets (n, L) that swap a corrupted trailer's latent for another's, else None."""
        p, n = self.cfg.expert_corruption, len(z)
        if p <= 0 or n < 2:
            return None
        bad = rng.random(n) < p
        other = (np.arange(n) + rng.integers(1, n, size=n)) % n  # never the trailer itself
        return (z[other] - z) * bad[:, None].astype(z.dtype)


def estimate_size_bytes(n_trailers: int, cfg: SynthConfig | None = None) -> int:
    """Expected bytes on disk of a generated set (float16 features dominate)."""
    cfg = cfg or SynthConfig()
    c = cfg.clips_per_sequence
    mean_clips = (1 - cfg.short_sequence_rate) * c + cfg.short_sequence_rate * (max(1, c - 4) + c - 1) / 2
    clips = n_trailers * np.mean(cfg.sequences) * mean_clips
    per_clip = 0.0
    for spec in cfg.experts().values():
        frames = (1 - cfg.missing_audio) * np.mean(cfg.audio_frames) if spec.temporal == "frames" else 1.0
        per_clip += 2 * spec.dim * frames + 8
    return int(clips * per_clip)


def synthesize(out: str | Path, n_trailers: int | None = 1000, seed: int = 0, *, overwrite: bool = False,
               command: str | None = None, **knobs: Any) -> Path:
    """Generate a trailer data set and write it to ``out``.

    Parameters
    ----------
    out : str or Path
        Destination folder (must not exist unless ``overwrite``).
    n_trailers : int or None
        Number of trailers; None with ``latent="published"`` = all 7,594.
    seed : int
        The same seed and knobs give byte-identical features.
    overwrite : bool
        Replace an existing data set at ``out``.
    command : str, optional
        The command line, recorded in the manifest.
    **knobs
        Fields of :class:`SynthConfig` (``latent``, ``dims``, ...).

    Returns
    -------
    Path
        ``out``.
    """
    try:
        cfg = SynthConfig(**knobs)
    except TypeError as exc:
        raise MMXError(f"unknown generator knob: {exc}") from None
    cfg.check()
    if n_trailers is not None and n_trailers < 1:
        raise MMXError(f"--trailers must be >= 1, got {n_trailers}")
    if n_trailers is None and cfg.latent == "planted":
        raise MMXError("--trailers is required with --latent planted")
    rng = np.random.default_rng([seed, 0])
    if cfg.latent == "planted":
        genres, rows, z = _planted_trailers(cfg, n_trailers, rng)
        source = "generated: planted sub-genre latents (mmx_core.data.synth)"
    else:
        genres, rows, z = _published_trailers(cfg, n_trailers, rng)
        source = "generated expert features from the authors' published embeddings as latents (mmx_core.data.synth)"
    experts = cfg.experts()
    renderer = _Renderer(cfg, experts, z.shape[1], np.random.default_rng([seed, 1]))
    params = {"command": command or "synth", "step": "synth", "trailers": len(rows), "seed": seed, **cfg.to_params()}
    writer = DatasetWriter(out, genres, experts, cfg.clips_per_sequence, generated=True, generator=params,
                           source=source, overwrite=overwrite)
    try:
        starts = range(0, len(rows), _BATCH)
        for b, start in enumerate(progress(starts, "generating trailers")):
            stop = min(start + _BATCH, len(rows))
            n_seq, clip_counts, features = renderer.render(z[start:stop], np.random.default_rng([seed, 2, b]))
            writer.add_trailers(rows[start:stop], n_seq, clip_counts, features)
        return writer.finish()
    except BaseException:
        writer.abort()  # a generated set is cheap to redo: leave nothing behind
        raise
