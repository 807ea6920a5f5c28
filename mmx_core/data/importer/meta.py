"""``meta.pkl`` of the authors' layout: a restricted unpickler and the parsing of genres and year.

Budgets: a file larger than :data:`MAX_META_BYTES` is not read, and a value whose
walk (shared references counted each time they are reached, as any reader of the
value would) passes :data:`MAX_META_NODES` nodes or :data:`MAX_META_DEPTH` levels
is refused, so a few hundred bytes of shared nested lists cannot keep the importer
busy. Messages show values through :mod:`reprlib` (never a full ``repr``).
"""

from __future__ import annotations

import io
import pickle
import re
import reprlib
from pathlib import Path
from typing import Any

from mmx_core.base.errors import MMXError
from mmx_core.base.safeio import regular_file

__all__ = ["MetaUnpickler", "read_meta", "parse_meta", "MAX_META_BYTES", "MAX_META_NODES", "MAX_META_DEPTH",
           "short_repr"]

_ALLOWED_META = (list, tuple, dict, str, int, float, bool, type(None), bytes)

MAX_META_BYTES = 1 << 20
"""Largest meta.pkl read (the authors' files hold a few genre names and a year: well under 1 KB)."""
MAX_META_NODES = 10_000
"""Most values (containers, strings, numbers) walked in one meta.pkl, shared references counted each time."""
MAX_META_DEPTH = 10
"""Deepest nesting of containers in one meta.pkl."""

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 2, 4, 4, 4
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 60, 40, 40


def short_repr(value: Any) -> str:
    """A bounded repr of ``value`` (:mod:`reprlib`: a few items per level, two levels, at most 160 characters)."""
    text = _REPR.repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


class MetaUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global: only built-in containers, strings and numbers load.

    Lists, tuples, dicts, sets of literals, strings, bytes, numbers, True/False/None
    have their own pickle opcodes and never reach :meth:`find_class`; anything
    else (a class, a function such as ``os.system``) needs ``find_class`` and
    is refused with :class:`pickle.UnpicklingError` before it is called.
    """

    def find_class(self, module: str, name: str):  # noqa: D102 - see class docstring
        raise pickle.UnpicklingError(
            f"refused global {str(module)[:60]}.{str(name)[:60]}: meta.pkl may only hold lists, tuples, dicts, "
            "strings and numbers")


def read_meta(path: str | Path) -> Any:
    """Read ``meta.pkl`` safely with :class:`MetaUnpickler`.

    Raises
    ------
    MMXError
        When the file cannot be read, is not a pickle, or holds anything but
        built-in containers, strings and numbers.
    """
    path = regular_file(path, "meta.pkl")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_META_BYTES + 1)
    except OSError as exc:
        raise MMXError(f"cannot read meta.pkl ({exc.strerror})", path) from None
    if len(data) > MAX_META_BYTES:
        raise MMXError(f"refused: meta.pkl is larger than {MAX_META_BYTES} bytes; the authors' files hold a few "
                       "genre names and a year", path)
    try:
        value = MetaUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as exc:
        raise MMXError(str(exc), path) from None
    except Exception as exc:  # noqa: BLE001 - any failure of a damaged pickle
        raise MMXError(f"not a readable pickle ({type(exc).__name__}: {str(exc)[:160]})", path) from None
    _check_plain(value, path)
    return value


def _check_plain(value: Any, path: Path) -> None:
    """Walk ``value`` within the node and depth budgets; only built-in containers, strings and numbers pass."""
    stack, nodes = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_META_NODES:
            raise MMXError(f"refused: meta.pkl holds more than {MAX_META_NODES} values (shared references counted "
                           "each time); the authors' files hold a few genre names and a year", path)
        if depth > MAX_META_DEPTH:
            raise MMXError(f"refused: meta.pkl nests containers deeper than {MAX_META_DEPTH} levels", path)
        if not isinstance(item, _ALLOWED_META):
            raise MMXError(f"refused: meta.pkl holds {type(item).__name__}; only lists, strings and numbers are "
                           "allowed", path)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for pair in item.items() for child in pair)
        elif isinstance(item, (list, tuple)):
            stack.extend((child, depth + 1) for child in item)


def _as_year(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and 1800 <= value <= 2200:
        return int(value)
    if isinstance(value, str):
        match = re.search(r"(18|19|20|21)\d\d", value)
        return int(match.group(0)) if match else None
    if isinstance(value, (list, tuple)):
        return next((year for year in map(_as_year, value) if year is not None), None)
    return None


def _genre_names(values) -> list[str]:
    """The names of ``values`` (bytes decoded), stripped, without ``'None'`` padding or repeats, in order."""
    texts = (g.decode("utf-8", "replace") if isinstance(g, bytes) else g for g in values)
    return list(dict.fromkeys(t.strip() for t in texts if isinstance(t, str) and t.strip() not in ("", "None")))


def parse_meta(value: Any, path: str | Path | None = None) -> tuple[list[str], int | None]:
    """Genres and year from the content of a ``meta.pkl``.

    Accepted forms: a list of genre names padded with ``'None'``; such a list
    paired with a year (``(genres, year)``, the year possibly itself a pair);
    a list of names followed by a year; or a dict with ``genres``/``genre``
    and ``year``.

    Returns
    -------
    genres : list of str
        Without the ``'None'`` padding, in their order.
    year : int or None
    """
    if isinstance(value, dict):
        genres = value.get("genres", value.get("genre", []))
        genres = [genres] if isinstance(genres, str) else genres
        if isinstance(genres, (list, tuple)):
            return _genre_names(genres), _as_year(value.get("year"))
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (str, bytes)) for v in value):
            return _genre_names(value), None
        lists = [v for v in value if isinstance(v, (list, tuple)) and v and all(isinstance(x, (str, bytes)) for x in v)
                 and any(_as_year(x) is None for x in v)]
        if len(lists) == 1:
            rest = [v for v in value if v is not lists[0]]
            return _genre_names(lists[0]), _as_year(rest)
        strings = [v for v in value if isinstance(v, (str, bytes)) and not re.fullmatch(r"\d{4}", str(v))]
        others = [v for v in value if not (isinstance(v, (str, bytes)) and v in strings)]
        if strings:
            return _genre_names(strings), _as_year(others)
    raise MMXError(f"unrecognised meta.pkl content {short_repr(value)}; expected genre names padded with 'None' "
                   "[and a year]", path)

