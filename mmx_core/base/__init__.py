"""Foundations every other layer builds on; imports nothing from the rest of mmx_core.

Errors, paths, progress, artefacts, locks, devices, the estimators' parameters, safe file reading,
the console, spreadsheet-safe CSV, what may be written where, and the generated-block format of the docs."""
