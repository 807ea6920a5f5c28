"""Validation of a trailer data set on disk: every problem reported with its file and row.

:func:`validate_dataset` never stops at the first problem: it returns a
:class:`ValidationReport` listing all of them (per check, at most
``max_rows`` rows are listed one by one, then one line counts the rest).
:func:`ensure_valid` is what training and the app call before using a set: it
raises :class:`MMXError` on problems and remembers a clean result per data set
fingerprint in the cache folder, so a large set is scanned for NaN/Inf once.

:mod:`~mmx_core.data.validate.dataset` runs the checks, which live in :mod:`~mmx_core.data.validate.table`
(manifest, trailer table) and :mod:`~mmx_core.data.validate.arrays` (index, features, counts); the report is
:mod:`~mmx_core.data.validate.report`.
"""

from mmx_core.data.validate.dataset import ensure_valid, validate_dataset
from mmx_core.data.validate.report import ValidationReport, format_report

__all__ = ["ValidationReport", "validate_dataset", "ensure_valid", "format_report"]
