"""Compute backends of maps and sub-genres: the CPU libraries, or cuML on a GPU; the choices and their rule.

``"cpu"``
    umap-learn and the hdbscan package (the default path, and the one every shipped artefact used).
``"cuml"``
    RAPIDS cuML's ``UMAP`` and ``HDBSCAN`` on a CUDA GPU; refused with the reason and the install
    command on a machine where cuML does not import or torch sees no GPU.
``"auto"``
    cuML when it imports **and** torch sees a CUDA GPU, else the CPU path exactly as before.

Only UMAP (the 2-D map and the 10-d clustering space) and HDBSCAN have a cuML path; t-SNE, PCA,
the PCA pre-reduction and the placement of new points always run on the CPU, so they resolve to
``"cpu"`` whatever the choice.

Cache keys: an artefact made on the CPU is keyed exactly as before the backend existed (the
backend is left out of its key, :func:`cache_params`), so the shipped cache is still hit; an
artefact made with cuML has ``"backend": "cuml"`` in its key and parameters. Every newly computed
artefact's parameter JSON also names the backend that ran at its top level (``backend``).

The cuML kernels below take and return the same arrays as the CPU ones (float32 rows in, numpy
out). cuML's HDBSCAN gives its condensed tree in the hdbscan package's own layout
(``condensed_tree_.to_pandas()``: ``parent``, ``child``, ``lambda_val``, ``child_size``), which is
what the hierarchy, the drill-down and the two-level labels read; when an installed cuML cannot
give it, the clustering falls back to the CPU HDBSCAN on the same (cuML) reduction, says so in
the log, and records ``"hdbscan": "cpu"`` in :attr:`SubgenreClusterer.backends_` and the JSON.
"""

from __future__ import annotations

import functools
import importlib.util
import logging

import numpy as np
import pandas as pd

from mmx_core.base.devices import cuda_available
from mmx_core.base.errors import MMXError, first_line

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "CUML_INSTALL", "cuml_problem", "choose_backend", "check_backend",
           "resolve_backend", "cache_params", "resolve_for_cache", "plan_for_backend", "backend_record", "cuml_umap",
           "cuml_hdbscan", "pca_layout"]

log = logging.getLogger(__name__)

BACKENDS: tuple[str, ...] = ("auto", "cpu", "cuml")
"""Backend choices, in the order ``--backend`` lists them."""

DEFAULT_BACKEND = "auto"

CUML_INSTALL = "pip install cuml-cu12==26.10.0"
"""How to install cuML (CUDA 12 wheels; docs/scale.md, section GPU, has the whole set-up)."""


@functools.cache
def cuml_problem() -> str | None:
    """None when cuML can run here (installed, importable, a CUDA GPU), else why not (probed once per process)."""
    if importlib.util.find_spec("cuml") is None:
        return "cuML is not installed"
    if not cuda_available():
        return "torch sees no CUDA GPU (torch.cuda.is_available() is False)"
    try:
        import cuml  # noqa: F401
    except Exception as exc:  # a broken install raises anything from ImportError to a CUDA error
        return f"cuML does not import ({first_line(exc)})"
    return None


def choose_backend(choice: str, problem: str | None) -> str:
    """The rule: the backend that runs for ``choice`` when cuML's problem is ``problem`` (None: none).

    Returns ``"cpu"`` or ``"cuml"``; ``"cuml"`` with a problem raises :class:`MMXError`.
    """
    if not isinstance(choice, str) or choice not in BACKENDS:
        raise MMXError(f"backend={choice!r} is not one of {list(BACKENDS)}")
    if choice == "cuml" and problem is not None:
        raise MMXError(f"backend='cuml' but {problem} on this machine; install it with `{CUML_INSTALL}` "
                       "and a CUDA build of torch (docs/scale.md, GPU), or choose 'cpu' or 'auto'")
    if choice == "auto":
        return "cpu" if problem is not None else "cuml"
    return choice


def check_backend(choice: str) -> str:
    """Validate a backend choice on this machine; returns it unchanged (``"cuml"`` without cuML raises)."""
    choose_backend(choice, cuml_problem() if choice == "cuml" else None)
    return choice


def resolve_backend(choice: str) -> str:
    """``"cpu"`` or ``"cuml"``: the backend that runs here for ``choice`` (:func:`choose_backend`)."""
    return choose_backend(choice, None if choice == "cpu" else cuml_problem())


def cache_params(params: dict, used: str) -> dict:
    """The parameters an artefact is keyed on: without ``backend`` when the CPU ran (the keys artefacts
    had before the choice existed), with the backend that ran otherwise."""
    out = {name: value for name, value in params.items() if name != "backend"}
    if used != "cpu":
        out["backend"] = used
    return out


def resolve_for_cache(estimator, plan: dict | None) -> tuple[str, dict]:
    """Resolve ``estimator``'s backend in place (``auto`` becomes what runs here) and return it with the
    parameters its artefact is keyed on: :func:`cache_params`, plus the scale ``plan`` (as that backend runs
    it) under ``"scale"`` when there is one."""
    used = estimator.resolved_backend()
    estimator.set_params(backend=used)
    key = cache_params(estimator.get_params(), used)
    plan = plan_for_backend(plan, used)
    if plan is not None:
        key["scale"] = plan
    return used, key


def plan_for_backend(plan: dict | None, used: str) -> dict | None:
    """A scale plan (:mod:`.scale`) as the backend runs it: cuML builds its own exact kNN graph on the GPU."""
    if plan is None or used == "cpu":
        return plan
    plan = dict(plan)
    if "knn" in plan:
        plan["knn"] = "cuml-exact"
    if plan.get("reduction") is not None:
        plan["reduction"] = plan_for_backend(plan["reduction"], used)
    return plan


def backend_record(used: str, steps: dict | None = None) -> dict:
    """Fields of the parameter JSON naming the backend that ran (and cuML's version when it did)."""
    record = {"backend": used}
    if steps:
        record["backend_steps"] = dict(steps)
    if used == "cuml":
        import cuml

        record["cuml_version"] = str(getattr(cuml, "__version__", "unknown"))
    return record


# -- cuML kernels: plain arrays in, numpy out ---------------------------------------------------

def pca_layout(Z: np.ndarray, n_components: int, seed: int) -> np.ndarray:
    """The initial layout ``init="pca"`` asks for: the first principal components of ``Z``, scaled so the
    largest coordinate is 10, with a faint seeded jitter (so no two points start on top of each other)."""
    from sklearn.decomposition import PCA

    layout = PCA(n_components=n_components, random_state=seed).fit_transform(Z).astype(np.float32)
    top = float(np.abs(layout).max())
    layout *= np.float32(10.0 / top) if top > 0 else np.float32(1.0)
    jitter = np.random.default_rng(seed).normal(scale=1e-4, size=layout.shape).astype(np.float32)
    return layout + jitter


def cuml_umap(Z: np.ndarray, n_components: int, n_neighbors: int, min_dist: float, n_epochs: int | None,
              init: str, seed: int) -> np.ndarray:  # pragma: no cover - needs cuML and a GPU
    """cuML's UMAP of the rows of ``Z`` (Euclidean; its kNN graph is exact, brute force on the GPU).

    Returns ndarray of shape (n_samples, n_components), float32.
    """
    from cuml.manifold import UMAP

    start = pca_layout(Z, n_components, seed) if init == "pca" else init
    model = UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist, n_epochs=n_epochs,
                 metric="euclidean", init=start, random_state=seed, output_type="numpy")
    return np.asarray(model.fit_transform(np.ascontiguousarray(Z, dtype=np.float32)), dtype=np.float32)


def cuml_hdbscan(Z: np.ndarray, min_cluster_size: int, min_samples: int | None, selection: str,
                 epsilon: float) -> tuple[np.ndarray, np.ndarray, pd.DataFrame | None]:  # pragma: no cover
    """cuML's HDBSCAN of the rows of ``Z``: ``(labels int64, probabilities float32, condensed tree)``.

    The tree is None when the installed cuML cannot give it in the hdbscan package's layout
    (the caller then falls back to the CPU HDBSCAN).
    """
    from cuml.cluster.hdbscan import HDBSCAN

    model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                    cluster_selection_method=selection, cluster_selection_epsilon=float(epsilon),
                    output_type="numpy")
    model.fit(np.ascontiguousarray(Z, dtype=np.float32))
    labels = np.asarray(model.labels_).astype(np.int64)
    probabilities = np.asarray(model.probabilities_).astype(np.float32)
    try:
        tree = model.condensed_tree_.to_pandas()
        tree = tree[["parent", "child", "lambda_val", "child_size"]].reset_index(drop=True)
    except (AttributeError, ImportError, KeyError, TypeError) as exc:
        log.warning("cuML's HDBSCAN gave no condensed tree (%s); clustering on the CPU instead", exc)
        tree = None
    return labels, probabilities, tree
