"""What a plotly figure of the app sends, made cheap to send (numpy and the standard library only).

Streamlit sends a figure by copying it deeply, walking every list in it, then writing it as JSON. For a map
of thousands of points most of that work is its hover texts and numeric arrays, so a map's traces hold
them as :class:`Texts` (which a deep copy returns as it is and the walk does not enter) and as plotly.js
typed-array specs (:func:`typed_array`, what plotly would otherwise convert each time it sends the figure).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np

__all__ = ["Texts", "typed_array", "encoded_trace"]


_TYPED = {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4", "uint32": "u4",
          "float32": "f4", "float64": "f8"}


def typed_array(values: np.ndarray):
    """A 1-D numeric array as plotly.js's typed-array spec (``{"dtype", "bdata"}``), as plotly writes it
    when it sends a figure; empty or non-numeric arrays are returned unchanged."""
    values = np.asarray(values)
    code = _TYPED.get(str(values.dtype))
    if code is None or values.size == 0 or values.ndim != 1:
        return values
    return {"dtype": code, "bdata": base64.b64encode(np.ascontiguousarray(values)).decode("ascii")}


def encoded_trace(trace: dict) -> dict:
    """``trace`` with its numeric arrays (top level and marker) as typed-array specs."""
    out = {k: typed_array(v) if isinstance(v, np.ndarray) else v for k, v in trace.items()}
    if isinstance(out.get("marker"), dict):
        out["marker"] = {k: typed_array(v) if isinstance(v, np.ndarray) else v for k, v in out["marker"].items()}
    return out


class Texts(Sequence):
    """Hover texts of a trace: an immutable sequence of strings, written to JSON as a list (``tolist``), that a
    deep copy returns as it is (like a string) and the walk before sending does not enter (see the module)."""

    __slots__ = ("_items",)

    def __init__(self, items=()):
        self._items = tuple(items)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):
        return self._items[index]

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and list(self._items) == list(other)

    __hash__ = None

    def __repr__(self) -> str:
        return f"Texts({len(self._items)} texts)"

    def tolist(self) -> list:
        """The texts as a list (what plotly's JSON encoder writes)."""
        return list(self._items)

    def __deepcopy__(self, memo) -> "Texts":
        return self
