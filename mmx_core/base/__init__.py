"""Foundations every other layer builds on: errors, paths, progress, artefacts, genres, titles,
the embeddings file format, the bundled assets, devices and the estimators' parameter base.
Imports nothing from the rest of mmx_core."""
