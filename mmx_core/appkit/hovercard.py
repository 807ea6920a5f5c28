"""The map's hover card: a thumbnail, title, year, genres and cluster beside the hovered point.

Plotly hover labels cannot show images, so the card is drawn by a small browser
script (``static/hovercard.js``, with ``static/hovercard.css``) that listens to the
map's ``plotly_hover`` events. The text comes from the point's own hover text;
the thumbnail is asked for one trailer at a time (the page answers with
:func:`hover_reply`), so the map figure itself carries no images. No streamlit here.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Sequence

from mmx_core.appkit.trailer_media import thumbnail_bytes

__all__ = ["static_text", "thumbnail_uri", "hover_reply"]


@functools.lru_cache(maxsize=8)
def static_text(name: str) -> str:
    """Text of a file shipped in ``mmx_core/appkit/static`` (the hover card's script and style)."""
    return (Path(__file__).with_name("static") / name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=4096)
def thumbnail_uri(trailer_id: str, dataset: str | None = None) -> str | None:
    """A trailer's thumbnail as a ``data:image/jpeg;base64,...`` URI, or None when it has none.

    ``dataset`` is the data set folder of a set extracted from videos (its ``dataset`` column)."""
    image = thumbnail_bytes(str(trailer_id), {"dataset": dataset} if dataset else None)
    return "data:image/jpeg;base64," + base64.b64encode(image).decode("ascii") if image else None


def hover_reply(ids: Sequence[str], request: dict | None, scope: str, dataset: str | None = None) -> dict:
    """What the page sends back to the hover card script after it asked for a row's thumbnail.

    Parameters
    ----------
    ids : sequence of str
        Trailer id of each row of the map frame (the rows the points' ``customdata`` name).
    request : dict or None
        The script's last request, ``{"row": int, "scope": str}``; ignored when malformed, out of
        range, or made for another map (``scope`` differs).
    scope : str
        Names the map the rows belong to (the embedding set); the script caches thumbnails per scope.
    dataset : str, optional
        The data set folder of an extracted set, whose ``thumbnails.zip`` holds the pictures.

    Returns
    -------
    dict
        ``{"scope": scope, "row": row or None, "src": data URI or None}``.
    """
    reply = {"scope": scope, "row": None, "src": None}
    if not isinstance(request, dict) or request.get("scope") != scope:
        return reply
    try:
        row = int(request.get("row"))
    except (TypeError, ValueError):
        return reply
    if 0 <= row < len(ids):
        reply["row"], reply["src"] = row, thumbnail_uri(str(ids[row]), dataset)
    return reply
