"""Where each expert's published weights file comes from, and loading it safely.

Lookup order for an expert's file ``<name>``: ``--weights-dir DIR/<name>``,
then the torch hub cache (``$TORCH_HOME/hub/checkpoints/<name>``, the same
place torch's own downloads go), then a download into that cache with
:func:`torch.hub.load_state_dict_from_url`. Every file is read with
``torch.load(..., weights_only=True)`` (no arbitrary unpickling). When the
file is absent and cannot be downloaded, :class:`MMXError` says, on one line,
which expert, which file and how to supply it. Random weights are used only
when asked for (``untrained=True``); there is no silent fallback.

Call :func:`resolve_weights` for all chosen experts before any decoding
starts; its result feeds :meth:`Expert.build` and :func:`extraction_record`
(the manifest's ``extraction`` block).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol

import torch
from torch import nn

from mmx_core.base.errors import MMXError, first_line

__all__ = ["WeightsFile", "ResolvedWeights", "hub_checkpoint_dir", "resolve_weights", "load_expert_weights",
           "extraction_record", "sha256_file"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightsFile:
    """A published weights file.

    Attributes
    ----------
    file_name : str
        Name the file is looked for under (in ``--weights-dir`` and the hub cache).
    url : str or None
        Where it is published; None when it cannot be downloaded automatically.
    what : str
        What the file holds (network, training data).
    how_to_get : str
        A short instruction for users who must fetch it by hand.
    """

    file_name: str
    url: str | None
    what: str
    how_to_get: str = ""


class ExpertLike(Protocol):
    """What this module needs of an expert (see :class:`mmx_core.extract.experts.base.Expert`)."""

    name: str
    backbone: str
    weights: WeightsFile

    def convert_state_dict(self, raw: dict[str, Any]) -> dict[str, torch.Tensor]: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class ResolvedWeights:
    """One expert's weights as decided before extraction.

    Attributes
    ----------
    expert : str
    file_name : str
    path : Path or None
        The local file; None when ``untrained``.
    sha256 : str or None
        Full SHA-256 of the file; None when ``untrained``.
    untrained : bool
    """

    expert: str
    file_name: str
    path: Path | None
    sha256: str | None
    untrained: bool = False


def hub_checkpoint_dir() -> Path:
    """The torch hub cache for state-dict files (honours ``$TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def sha256_file(path: str | Path) -> str:
    """Full hex SHA-256 of a file (cached by path, size and mtime)."""
    stat = os.stat(path)
    return _sha256_cached(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _missing(expert: ExpertLike, weights_dir: Path | None, reason: str) -> MMXError:
    wf = expert.weights
    where = f"put {wf.file_name} in {'--weights-dir DIR' if weights_dir is None else weights_dir}"
    source = f" (download it from {wf.url})" if wf.url else (f" ({wf.how_to_get})" if wf.how_to_get else "")
    return MMXError(
        f"expert {expert.name!r}: weights file {wf.file_name} not found ({reason}); "
        f"{where}{source}, or let it download into {hub_checkpoint_dir()}, "
        f"or pass --untrained for random weights (pipeline tests only)"
    )


def _find_or_download(expert: ExpertLike, weights_dir: Path | None, download: bool) -> Path:
    wf = expert.weights
    if weights_dir is not None:
        if not weights_dir.is_dir():
            raise MMXError(f"--weights-dir {weights_dir} is not a folder; give the folder holding {wf.file_name}")
        candidate = weights_dir / wf.file_name
        if candidate.is_file():
            return candidate
    cached = hub_checkpoint_dir() / wf.file_name
    if cached.is_file():
        return cached
    if not download or wf.url is None:
        raise _missing(expert, weights_dir, "not in the weights folder or the torch cache")
    try:
        # Downloads into the hub cache; the loaded object itself is discarded here
        # and read again (weights_only) when the module is built.
        log.info("downloading %s for expert %s from %s", wf.file_name, expert.name, wf.url)
        torch.hub.load_state_dict_from_url(
            wf.url, model_dir=str(cached.parent), map_location="cpu",
            progress=True, file_name=wf.file_name, weights_only=True,
        )
    except Exception as exc:  # network, HTTP, disk: all mean "could not get the file"
        reason = f"download failed: {type(exc).__name__}: {first_line(exc, '')[:120]}"
        raise _missing(expert, weights_dir, reason) from None
    if not cached.is_file():
        raise _missing(expert, weights_dir, "download did not produce the file")
    return cached


def resolve_weights(
    experts: Iterable[ExpertLike],
    *,
    weights_dir: str | Path | None = None,
    untrained: bool = False,
    download: bool = True,
    files: Mapping[str, str | Path] | None = None,
) -> dict[str, ResolvedWeights]:
    """Find (or download) every chosen expert's weights file, before any decoding.

    Parameters
    ----------
    experts : iterable of Expert
    weights_dir : str or Path, optional
        Folder searched first (``--weights-dir``).
    untrained : bool
        Random weights for all experts (``--untrained``); nothing is looked up.
    download : bool
        Allow downloading missing files into the torch hub cache.
    files : mapping of str to path, optional
        Expert name -> an explicit weights file (any name), used instead of
        the lookup, e.g. ``{"scene": "~/models/resnet50_places365.pth.tar"}``.

    Returns
    -------
    dict of str to ResolvedWeights
        Expert name -> where its weights are and their SHA-256.

    Raises
    ------
    MMXError
        One line naming the expert, the file looked for and how to supply it.
    """
    folder = None if weights_dir is None else Path(weights_dir).expanduser()
    resolved: dict[str, ResolvedWeights] = {}
    for expert in experts:
        if untrained:
            resolved[expert.name] = ResolvedWeights(expert.name, expert.weights.file_name, None, None, True)
            continue
        explicit = (files or {}).get(expert.name)
        if explicit is not None:
            path = Path(explicit).expanduser()
            if not path.is_file():
                raise MMXError(
                    f"expert {expert.name!r}: weights file {path} not found; give the path of "
                    f"{expert.weights.file_name} or put it in --weights-dir DIR"
                )
        else:
            path = _find_or_download(expert, folder, download)
        resolved[expert.name] = ResolvedWeights(expert.name, expert.weights.file_name, path, sha256_file(path))
    return resolved


def load_expert_weights(
    expert: ExpertLike,
    module: nn.Module,
    *,
    weights: ResolvedWeights | None = None,
    weights_dir: str | Path | None = None,
) -> ResolvedWeights:
    """Load the expert's weights file into ``module`` (strict: no missing or unexpected keys).

    Raises
    ------
    MMXError
        File absent, unreadable or not in the published layout.
    """
    if weights is None:
        weights = resolve_weights([expert], weights_dir=weights_dir)[expert.name]
    if weights.untrained or weights.path is None:
        raise MMXError(f"expert {expert.name!r}: no weights file resolved (untrained); build with untrained=True instead")
    try:
        raw = torch.load(weights.path, map_location="cpu", weights_only=True)
    except Exception as exc:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        detail = f"{type(exc).__name__}: holds {found.group(1)}" if found else type(exc).__name__
        raise MMXError(
            f"cannot read it as a weights-only state-dict file ({detail}); "
            f"replace it with the published {expert.weights.file_name} for expert {expert.name!r}",
            weights.path,
        ) from None
    try:
        state = expert.convert_state_dict(raw)
        module.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, TypeError, AttributeError) as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:2])[:200] if first else type(exc).__name__
        raise MMXError(
            f"not the published {expert.weights.file_name} layout for expert {expert.name!r} "
            f"({expert.backbone}): {detail}",
            weights.path,
        ) from None
    return weights


def extraction_record(experts: Iterable[ExpertLike], resolved: dict[str, ResolvedWeights]) -> dict[str, Any]:
    """The manifest's ``extraction`` block: per expert backbone, weights and sampling.

    Returns
    -------
    dict
        ``{"untrained": bool, "experts": {name: {"backbone", "dim", "temporal",
        "modality", "sampling", "weights": {"file", "sha256", "url"}, "untrained"}}}``;
        ``untrained`` at the top is True when any expert ran with random weights.
    """
    out: dict[str, Any] = {}
    for expert in experts:
        r = resolved[expert.name]
        out[expert.name] = {
            **expert.describe(),
            "weights": {"file": r.file_name, "sha256": r.sha256, "url": expert.weights.url},
            "untrained": bool(r.untrained),
        }
    return {"untrained": any(v["untrained"] for v in out.values()), "experts": out}
