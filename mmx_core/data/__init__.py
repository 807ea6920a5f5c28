"""Trailer data sets: format, store, batching, validation, importer and generator.

See docs/data-format.md for the on-disk format and docs/interfaces.md for the
contract other parts code against.
"""

from mmx_core.data.batching import FEATURE_DTYPES, BatchBuffers, collate_clips, read_batch
from mmx_core.data.manifest import PAPER_EXPERTS, ExpertSpec, Manifest, read_manifest, write_manifest
from mmx_core.data.store import TrailerClips, TrailerStore
from mmx_core.data.writer import DatasetWriter

__all__ = [
    "TrailerStore", "TrailerClips", "collate_clips", "read_batch", "BatchBuffers", "FEATURE_DTYPES", "Manifest",
    "ExpertSpec", "PAPER_EXPERTS", "read_manifest", "write_manifest", "DatasetWriter", "ValidationReport",
    "validate_dataset", "synthesize", "SynthConfig", "import_mmx",
]


def __getattr__(name):  # lazy: validation, generator and importer pull in more modules
    if name in ("ValidationReport", "validate_dataset"):
        from mmx_core.data import validate
        return getattr(validate, name)
    if name in ("synthesize", "SynthConfig"):
        from mmx_core.data import synth
        return getattr(synth, name)
    if name == "import_mmx":
        from mmx_core.data.importer import import_mmx
        return import_mmx
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
