"""The trailer generator: data sets with known structure (``python -m mmx_core synth``).

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

:mod:`~mmx_core.data.synth.generate` writes the set; the knobs live in :mod:`~mmx_core.data.synth.config`,
the latents in :mod:`~mmx_core.data.synth.latents` and the rendering in :mod:`~mmx_core.data.synth.render`.
"""

from mmx_core.data.synth.config import SynthConfig
from mmx_core.data.synth.generate import estimate_size_bytes, synthesize
from mmx_core.data.synth.latents import LABEL_CARDINALITY, planted_label_sets

__all__ = ["SynthConfig", "synthesize", "LABEL_CARDINALITY", "planted_label_sets", "estimate_size_bytes"]
