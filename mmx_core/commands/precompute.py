"""``precompute``: fill the shipped cache (assets/cache) with the default maps and clusters.

Writes, for the bundled published embeddings and for ``models/coarse_embeddings.npz`` /
``models/fine_embeddings.npz`` when they exist: the default UMAP map, the PCA and
t-SNE maps (cheap), the default sub-genre clusters with their summaries and the minimum-cluster-size
sweep (the clusterings a cluster card compares with are computed where the card is first opened: computed
together on one machine, they measure the clusters, not two machines' UMAP runs); for the
coarse/fine pair also their comparison. The app then opens without waiting for
UMAP's first-call compilation. Re-run after the embeddings or the defaults change
(``make assets``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

from mmx_core.base.console import print_json
from mmx_core.base.errors import ExitCode, MMXError
from mmx_core.base.outputs import CACHE, check_output, tag_output
from mmx_core.base.paths import MODELS_DIR, cache_dir, shipped_cache_dir
from mmx_core.commands.argtypes import add_command
from mmx_core.commands.explore_io import add_backend_arg
from mmx_core.explore.backends import DEFAULT_BACKEND, check_backend
from mmx_core.explore.projection import Projector
from mmx_core.workspace import load_set

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    parser = add_command(subparsers, "precompute", run,
                         help="write the default maps and clusters of the bundled embeddings into assets/cache")
    tag_output(parser.add_argument("--out", default=None, help="cache folder to fill (default: assets/cache)"), CACHE)
    parser.add_argument("--methods", default=",".join(Projector.METHODS), help="comma-separated projection methods")
    parser.add_argument("--skip-models", action="store_true",
                        help="only the published set, not models/coarse|fine_embeddings.npz")
    parser.add_argument("--set", action="append", default=None, metavar="SET", dest="sets",
                        help="instead of the bundled sets, this embedding set (a name the app lists, or an .npz); "
                             "repeatable; the cache folder then defaults to the computed cache (cache/)")
    add_backend_arg(parser)


@contextlib.contextmanager
def _cache_into(folder: Path):
    previous = os.environ.get("MMX_CACHE_DIR")
    os.environ["MMX_CACHE_DIR"] = str(folder)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MMX_CACHE_DIR", None)
        else:
            os.environ["MMX_CACHE_DIR"] = previous


def precompute(out: Path | None = None, methods=Projector.METHODS, models: bool = True,
               sets: list | None = None, backend: str = DEFAULT_BACKEND) -> list[dict]:
    """Compute the default artefacts into ``out`` (default ``assets/cache``); returns what was done.

    ``sets`` (EmbeddingSets) replaces the bundled ones (published, shipped coarse and fine);
    ``backend`` is where UMAP and HDBSCAN run (:mod:`mmx_core.explore.backends`)."""
    check_backend(backend)  # refuse "cuml" on a machine without it before anything is computed
    from mmx_core.trailers.published import load_published, published_metadata
    from mmx_core.trailers.embeddings import load_embeddings
    from mmx_core.explore import cached_comparison

    out = Path(out) if out is not None else shipped_cache_dir()
    done = []
    models = models and sets is None
    sets = list(sets) if sets is not None else [load_published()]
    if models:
        for name in ("coarse_embeddings", "fine_embeddings"):
            path = MODELS_DIR / f"{name}.npz"
            if path.exists():
                sets.append(load_embeddings(path, metadata=published_metadata(), name=name))
            else:
                log.info("%s not found; skipped", path)
    with _cache_into(out):
        for emb_set in sets:
            done += _one_set(emb_set, methods, backend)
        names = [s.name for s in sets]
        if "coarse_embeddings" in names and "fine_embeddings" in names:
            coarse, fine = sets[names.index("coarse_embeddings")], sets[names.index("fine_embeddings")]
            _timed(done, lambda: cached_comparison.comparison(coarse, fine, cluster_params={"backend": backend},
                                                              projection_params={"backend": backend}),
                   lambda comparison: {"set": "coarse vs fine", "step": "comparison", "summary": {
                       k: v for k, v in comparison.summary.items() if k not in ("only_in_a", "only_in_b")}})
    return done


def _timed(done: list[dict], compute, describe):
    """Run ``compute()``, append ``describe(value)`` with the seconds it took to ``done``; return the value."""
    start = time.perf_counter()
    value = compute()
    done.append({**describe(value), "seconds": round(time.perf_counter() - start, 2)})
    return value


def _one_set(emb_set, methods, backend: str) -> list[dict]:
    """The maps of ``methods``, the default sub-genres, the neighbour index and, for a map the app shows in
    groups, the parents' summaries of one set: what the Explore page reads."""
    from mmx_core.appkit import cardview
    from mmx_core.appkit.map_tables import GROUPED_ABOVE
    from mmx_core.explore import cached_clusters, cached_map, cached_neighbours

    done, name = [], emb_set.name
    for method in methods:
        path = _timed(done, lambda: cached_map.projection_path(emb_set, method=method, backend=backend),
                      lambda path: {"set": name, "step": f"projection/{method}", "file": str(path)})
        log.info("%s %s map: %s", name, method, path)
    result = _timed(done, lambda: cached_clusters.clusters(emb_set, backend=backend),
                    lambda result: {"set": name, "step": "clusters", "file": str(result.path),
                                    "n_clusters": result.n_clusters, "noise_share": round(result.noise_share, 3)})
    log.info("%s clusters: %d, noise %.0f%%", name, result.n_clusters, 100 * result.noise_share)
    _timed(done, lambda: cached_neighbours.neighbour_index(emb_set),
           lambda index: {"set": name, "step": f"neighbour_index/{index.backend_}"})
    if result.n_clusters > GROUPED_ABOVE:
        _timed(done, lambda: result.parents(emb_set)[1],
               lambda parents: {"set": name, "step": "parents", "n_parents": len(parents)})
    _timed(done, lambda: cardview.sweep(emb_set), lambda sweep: {"set": name, "step": "mcs sweep", "values": len(sweep)})
    return done


def run(args) -> int:
    check_backend(args.backend)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    unknown = set(methods) - set(Projector.METHODS)
    if unknown:
        raise MMXError(f"--methods {sorted(unknown)} unknown; choose from {list(Projector.METHODS)}")
    out = args.out if args.out is not None else cache_dir() if args.sets else shipped_cache_dir()
    check_output(out, CACHE, reads=args.sets or ())  # before any work
    chosen = [load_set(source) for source in args.sets] if args.sets else None
    done = precompute(Path(out), methods, models=not args.skip_models, sets=chosen, backend=args.backend)
    print_json(done)
    return ExitCode.OK
