"""Helpers shared by the exploration commands (project, cluster, neighbours, compare); sets are loaded by
:func:`mmx_core.workspace.load_set`, the loader the app uses too."""

from __future__ import annotations

import shutil
from pathlib import Path

from mmx_core.base.artefacts import atomic_path, read_json, write_json
from mmx_core.base.outputs import ARTEFACT, check_output
from mmx_core.explore.backends import BACKENDS, DEFAULT_BACKEND

SET_HELP = ("embeddings .npz (ids + embeddings), or a set of the catalogue: published, coarse, fine, "
            "run:<run>/<file>, upload:<name>")
METADATA_HELP = ("trailer table (.parquet/.csv); default: <FILE stem>.parquet/.csv beside FILE, else "
                 "trailers.parquet/.csv beside it, else the published table")


def add_embeddings_args(parser) -> None:
    """``--embeddings`` and ``--metadata``, read by :func:`mmx_core.workspace.load_set`."""
    parser.add_argument("--embeddings", required=True, metavar="FILE", help=SET_HELP)
    parser.add_argument("--metadata", default=None, metavar="FILE", help=METADATA_HELP)


def add_backend_arg(parser) -> None:
    """``--backend``: where UMAP and HDBSCAN run, for every command that builds maps or sub-genres."""
    parser.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                        help="where UMAP and HDBSCAN run: auto (cuML when it imports and torch sees a CUDA GPU, "
                             "else the CPU), cpu, or cuml (refused without cuML and a GPU); t-SNE and PCA always "
                             "run on the CPU (default: %(default)s; docs/scale.md, GPU)")


def copy_artefact(cached: Path, out: str, extra: dict | None = None) -> Path:
    """Copy a cached artefact to ``out`` (atomically) with its parameter JSON beside it.

    ``out`` passes the output contract (:func:`mmx_core.base.outputs.check_output`): a file this project
    wrote before (it has its parameter JSON) is replaced, anything else there is refused."""
    check_output(out, ARTEFACT, overwrite=True)
    out_path = Path(out)
    with atomic_path(out_path) as tmp:
        shutil.copyfile(cached, tmp)
    record = {**read_json(Path(str(cached) + ".json")), "artefact": out_path.name, "cached": str(cached)}
    write_json(Path(str(out_path) + ".json"), {**record, **(extra or {})})
    return out_path
