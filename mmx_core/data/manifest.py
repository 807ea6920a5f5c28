"""The manifest of a trailer data set: ``DIR/manifest.json``.

The manifest names the format and its version, the genre vocabulary, the
experts with their feature dims and temporal layout, the number of clips per
sequence, the on-disk dtype, the counts of trailers / sequences / clips /
frames, whether the features are generated, and the parameters of the command
that made the set (so every data set traces back to its command).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmx_core.base.artefacts import atomic_write, read_json
from mmx_core.base.errors import MMXError
from mmx_core.base.safeio import regular_file

__all__ = ["FORMAT", "FORMAT_VERSION", "TEMPORAL", "DTYPES", "SPLITS", "MANIFEST_NAME", "PAPER_EXPERTS", "split_of",
           "paper_experts", "ExpertSpec", "Manifest", "manifest_problems", "read_manifest", "write_manifest",
           "dataset_fingerprint"]

FORMAT = "mmx-trailers"
FORMAT_VERSION = 1
TEMPORAL = ("pooled", "frames")
DTYPES = ("float16", "float32")
SPLITS = ("train", "val", "test")
MANIFEST_NAME = "manifest.json"


def split_of(trailer_id: str) -> str:
    """Deterministic 70/10/20 train/val/test split from a hash of the id (stable under resume and reordering)."""
    u = (zlib.crc32(trailer_id.encode()) % 10000) / 10000
    return "train" if u < 0.7 else "val" if u < 0.8 else "test"


@dataclass(frozen=True)
class ExpertSpec:
    """One expert's features.

    Attributes
    ----------
    dim : int
        Feature dimension D (a frame is a vector of shape (D,)).
    temporal : {"pooled", "frames"}
        ``"pooled"``: at most one frame a clip (averaged over time);
        ``"frames"``: any number of frames a clip (e.g. audio, aggregated
        later with NetVLAD).
    """

    dim: int
    temporal: str = "pooled"

    def to_dict(self) -> dict[str, Any]:
        return {"dim": int(self.dim), "temporal": self.temporal}


# The paper's four experts with the real dims (scene = the paper's location expert).
PAPER_EXPERTS: dict[str, ExpertSpec] = {
    "image": ExpertSpec(2048, "pooled"),
    "scene": ExpertSpec(2048, "pooled"),
    "motion": ExpertSpec(512, "pooled"),
    "audio": ExpertSpec(128, "frames"),
}


def paper_experts(dims: dict[str, int] | None = None) -> dict[str, ExpertSpec]:
    """:data:`PAPER_EXPERTS` with the feature dims in ``dims`` instead of the real ones (other names are ignored)."""
    dims = dims or {}
    return {name: ExpertSpec(int(dims.get(name, spec.dim)), spec.temporal) for name, spec in PAPER_EXPERTS.items()}


@dataclass
class Manifest:
    """Contents of ``manifest.json``.

    Attributes
    ----------
    genres : list of str
        Genre vocabulary; column j of :meth:`TrailerStore.labels` is ``genres[j]``.
    experts : dict of str to ExpertSpec
        Expert name -> spec, in the order models should use.
    clips_per_sequence : int
        C, the most clips a sequence holds (9 in the paper).
    dtype : {"float16", "float32"}
        dtype of every ``features.npy``.
    counts : dict
        ``trailers``, ``sequences``, ``clips`` and ``frames`` (expert -> n_frames).
    generated : bool
        True when the expert features are generated (synth), not extracted from video.
    generator : dict
        The command and parameters that made the set.
    source : str
        Free text: where the set comes from.
    extraction : dict, optional
        Sets extracted from video (``python -m mmx_core extract``): per expert the
        backbone, weights file and hash, sampling; the shot detector; and
        ``untrained`` (true when random backbone weights were used).
    """

    genres: list[str]
    experts: dict[str, ExpertSpec]
    clips_per_sequence: int = 9
    dtype: str = "float16"
    counts: dict[str, Any] = field(default_factory=dict)
    generated: bool = False
    generator: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    extraction: dict[str, Any] | None = None
    format: str = FORMAT
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "version": self.version,
            "genres": list(self.genres),
            "experts": {name: spec.to_dict() for name, spec in self.experts.items()},
            "clips_per_sequence": int(self.clips_per_sequence),
            "dtype": self.dtype,
            "counts": self.counts,
            "generated": bool(self.generated),
            "generator": self.generator,
            "source": self.source,
            **({"extraction": self.extraction} if self.extraction is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Any, path: str | Path | None = None) -> "Manifest":
        """Build a manifest from parsed JSON; any schema problem raises :class:`MMXError`."""
        problems = manifest_problems(data)
        if problems:
            raise MMXError("invalid manifest: " + "; ".join(problems), path)
        return cls(
            genres=list(data["genres"]),
            experts={name: ExpertSpec(int(spec["dim"]), spec["temporal"]) for name, spec in data["experts"].items()},
            clips_per_sequence=int(data["clips_per_sequence"]),
            dtype=data["dtype"],
            counts=dict(data.get("counts", {})),
            generated=bool(data.get("generated", False)),
            generator=dict(data.get("generator", {})),
            source=str(data.get("source", "")),
            extraction=dict(data["extraction"]) if "extraction" in data else None,
            format=data["format"],
            version=int(data["version"]),
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def manifest_problems(data: Any) -> list[str]:
    """Every schema problem of a parsed manifest (empty when it is valid).

    Parameters
    ----------
    data : Any
        The parsed content of ``manifest.json``.

    Returns
    -------
    list of str
        One message per problem, naming the key and the value found.
    """
    if not isinstance(data, dict):
        return [f"the manifest must be a JSON object, got {type(data).__name__}"]
    problems = []
    if data.get("format") != FORMAT:
        problems.append(f"'format' is {data.get('format')!r}, expected {FORMAT!r}")
    if data.get("version") != FORMAT_VERSION:
        problems.append(f"'version' is {data.get('version')!r}; this library reads version {FORMAT_VERSION}")
    genres = data.get("genres")
    if not isinstance(genres, list) or not genres or not all(isinstance(g, str) and g for g in genres):
        problems.append(f"'genres' must be a non-empty list of names, got {genres!r:.80}")
    elif len(set(genres)) != len(genres):
        dup = sorted({g for g in genres if genres.count(g) > 1})
        problems.append(f"'genres' repeats {dup}")
    experts = data.get("experts")
    if not isinstance(experts, dict) or not experts:
        problems.append(f"'experts' must be a non-empty object name -> {{dim, temporal}}, got {experts!r:.80}")
    else:
        for name, spec in experts.items():
            if not isinstance(spec, dict):
                problems.append(f"expert {name!r} must be an object {{dim, temporal}}, got {spec!r:.60}")
                continue
            if not _is_int(spec.get("dim")) or spec["dim"] <= 0:
                problems.append(f"expert {name!r}: 'dim' must be a positive integer, got {spec.get('dim')!r}")
            if spec.get("temporal") not in TEMPORAL:
                problems.append(f"expert {name!r}: 'temporal' must be one of {list(TEMPORAL)}, got {spec.get('temporal')!r}")
    cps = data.get("clips_per_sequence")
    if not _is_int(cps) or cps <= 0:
        problems.append(f"'clips_per_sequence' must be a positive integer, got {cps!r}")
    if data.get("dtype") not in DTYPES:
        problems.append(f"'dtype' must be one of {list(DTYPES)}, got {data.get('dtype')!r}")
    if not isinstance(data.get("counts", {}), dict):
        problems.append(f"'counts' must be an object, got {data.get('counts')!r:.60}")
    if not isinstance(data.get("generated", False), bool):
        problems.append(f"'generated' must be true or false, got {data.get('generated')!r}")
    if not isinstance(data.get("generator", {}), dict):
        problems.append(f"'generator' must be an object, got {data.get('generator')!r:.60}")
    extraction = data.get("extraction", {})
    if not isinstance(extraction, dict) or not isinstance(extraction.get("untrained", False), bool):
        problems.append(f"'extraction' must be an object with a true/false 'untrained', got {extraction!r:.60}")
    return problems


def read_manifest(directory: str | Path) -> Manifest:
    """Read and check ``directory/manifest.json``.

    Raises
    ------
    MMXError
        When the file is missing, is not JSON or breaks the schema.
    """
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        raise MMXError(
            "no manifest.json: not a trailer data set (make one with `python -m mmx_core synth` "
            "or `import-mmx`)", path)
    return Manifest.from_dict(read_json(regular_file(path, "manifest.json")), path)


def write_manifest(directory: str | Path, manifest: Manifest) -> Path:
    """Write ``directory/manifest.json`` atomically; returns its path."""
    path = Path(directory) / MANIFEST_NAME
    # not write_json: its sorted keys would lose the order of the experts
    text = json.dumps(manifest.to_dict(), indent=2, default=str)
    with atomic_write(path, "w") as handle:
        handle.write(text + "\n")
    return path


def dataset_fingerprint(path: Path, manifest: Manifest) -> str:
    """Content fingerprint of a data set (see :attr:`TrailerStore.fingerprint`) (hex, first 16 characters)."""
    digest = hashlib.sha256()
    files = [path / "manifest.json", path / "trailers.parquet", path / "index" / "sequence_offsets.npy",
             path / "index" / "clip_offsets.npy"]
    files += [path / "experts" / name / "frame_offsets.npy" for name in manifest.experts]
    for file in files:
        digest.update(file.name.encode())
        digest.update(regular_file(file).read_bytes())
    for name in manifest.experts:
        digest.update(f"{name}:{(path / 'experts' / name / 'features.npy').stat().st_size}".encode())
    return digest.hexdigest()[:16]
