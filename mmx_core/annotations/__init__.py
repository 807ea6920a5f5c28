"""Annotations of an embedding set: named sub-genres, tags and notes people keep, and how names follow members.

- :mod:`~mmx_core.annotations.carry`: which cluster of a clustering a set of trailers (a named sub-genre)
  lands on (best Jaccard match), the rule that carries names across maps and spaces;
- :mod:`~mmx_core.annotations.table`: the annotations CSV (one row per trailer and tag), read and written
  spreadsheet-safe; its ``id,tag`` columns are what ``train --tags`` reads;
- :mod:`~mmx_core.annotations.store`: the store of one set (SQLite: atomic, shared by many writers, with an
  undo history).
"""
