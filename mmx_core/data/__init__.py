"""Trailer data sets: format, store, batching, validation, importer and generator.

See docs/data-format.md for the on-disk format and docs/interfaces.md for the
contract other parts code against.
"""

import importlib

from mmx_core.data.batching import FEATURE_DTYPES, BatchBuffers, collate_clips, read_batch
from mmx_core.data.manifest import PAPER_EXPERTS, ExpertSpec, Manifest, read_manifest, write_manifest
from mmx_core.data.store import TrailerClips, TrailerStore
from mmx_core.data.writer import DatasetWriter

__all__ = [
    "TrailerStore", "TrailerClips", "collate_clips", "read_batch", "BatchBuffers", "FEATURE_DTYPES", "Manifest",
    "ExpertSpec", "PAPER_EXPERTS", "read_manifest", "write_manifest", "DatasetWriter", "ValidationReport",
    "validate_dataset", "synthesize", "SynthConfig", "import_mmx",
]


_LAZY = {"ValidationReport": "validate", "validate_dataset": "validate", "synthesize": "synth", "SynthConfig": "synth",
         "import_mmx": "importer"}


def __getattr__(name):  # lazy: validation, generator and importer pull in more modules
    if name in _LAZY:
        return getattr(importlib.import_module(f"mmx_core.data.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
