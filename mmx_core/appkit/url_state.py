"""The app's view state <-> URL query parameters, so a view can be bookmarked and shared.

Only values that differ from the defaults are written to the URL. Reading is
forgiving: an unknown or malformed value falls back to its default (a shared
link never breaks the page), and :attr:`ViewState.warnings` says what was ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Mapping

from mmx_core.explore.clustering import SubgenreClusterer
from mmx_core.explore.projection import Projector

__all__ = ["ViewState", "PROJECTIONS", "COLOURS", "MCS_RANGE", "MCS_STEP", "PROJECTION_KNOBS"]

PROJECTIONS = Projector.METHODS
COLOURS = ("cluster", "named", "tag", "genre", "year", "change")
"""Colourings of a map: sub-genre cluster, named sub-genre, tag, one genre, year, neighbourhood change (Compare)."""
_DEFAULT = Projector.defaults()
PROJECTION_KNOBS = {  # method -> (parameter, label, low, high, default, step); defaults are the Projector's
    "umap": [("n_neighbors", "UMAP neighbours", 5, 100, _DEFAULT["n_neighbors"], 5),
             ("min_dist", "UMAP minimum distance", 0.0, 0.95, _DEFAULT["min_dist"], 0.05)],
    "tsne": [("perplexity", "t-SNE perplexity", 5.0, 100.0, _DEFAULT["perplexity"], 5.0)],
    "pca": [],
}
"""The projection parameters the Explore page offers (its sliders) and a link may carry (``pp``)."""
MCS_RANGE = (5, 200)
"""The HDBSCAN minimum cluster sizes the Explore page offers (its slider, and what a link may ask for)."""
MCS_STEP = 5
_WRITTEN = {"genres": ",".join, "tags": ",".join, "years": lambda v: f"{v[0]}-{v[1]}",
            "pp": lambda v: ",".join(f"{k}:{x:g}" for k, x in v)}   # how a field is written to a link (else str)


@dataclass(frozen=True)
class ViewState:
    """What the Explore, Trailer and Compare pages show.

    Attributes
    ----------
    set : str
        Embedding set name (see :func:`mmx_core.workspace.list_sets`).
    compare : str
        Second set for the coarse-vs-fine views ("" = none).
    projection : str
        One of :data:`PROJECTIONS`.
    colour : str
        One of :data:`COLOURS`.
    genre : str
        Genre highlighted when colouring by genre.
    trailer : str
        Selected trailer id ("" = none).
    q : str
        Title search.
    genres : tuple of str
        Genre filter (any of).
    years : tuple of int or None
        Year range filter.
    mcs : int
        HDBSCAN minimum cluster size (default: :class:`SubgenreClusterer`'s).
    cluster : int or None
        Cluster chosen in the side list.
    group : int or None
        Sub-genre group chosen on a map with groups (:attr:`mmx_core.appkit.map_tables.MapData.groups`).
    pp : tuple of (str, float)
        Projection parameters changed from their defaults (:data:`PROJECTION_KNOBS`), in the URL as
        ``pp=n_neighbors:30,min_dist:0.2``.
    tags : tuple of str
        Tag filter (any of).
    named : str
        Named sub-genre chosen ("" = none).
    """

    set: str = "published"
    compare: str = ""
    projection: str = Projector.defaults()["method"]
    colour: str = "cluster"
    genre: str = "Horror"
    trailer: str = ""
    q: str = ""
    genres: tuple[str, ...] = ()
    years: tuple[int, int] | None = None
    mcs: int = SubgenreClusterer.defaults()["min_cluster_size"]
    cluster: int | None = None
    group: int | None = None
    pp: tuple[tuple[str, float], ...] = ()
    tags: tuple[str, ...] = ()
    named: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def to_params(self) -> dict[str, str]:
        """Query parameters for the values that differ from the defaults."""
        default = ViewState()
        return {f.name: _WRITTEN.get(f.name, str)(getattr(self, f.name)) for f in fields(self)
                if f.name != "warnings" and getattr(self, f.name) != getattr(default, f.name)}

    @classmethod
    def from_params(cls, params: Mapping[str, str | list[str]]) -> "ViewState":
        """Parse query parameters; bad values keep their defaults and add a warning."""
        values: dict = {}
        warnings: list[str] = []

        def get(name: str) -> str | None:
            value = params.get(name)
            if isinstance(value, list):
                value = value[-1] if value else None
            return None if value is None else str(value)

        for name in ("set", "compare", "genre", "trailer", "q", "named"):
            if (value := get(name)) is not None:
                values[name] = value[:200]
        for name, choices in (("projection", PROJECTIONS), ("colour", COLOURS)):
            if (value := get(name)) is not None:
                if value in choices:
                    values[name] = value
                else:
                    warnings.append(f"{name}={value!r} is not one of {choices}")
        for name in ("genres", "tags"):
            if (value := get(name)) is not None:
                values[name] = tuple(g for g in value.split(",") if g)[:50]
        if (value := get("pp")) is not None:
            values["pp"], problem = _projection_params(value, values.get("projection", cls.projection))
            if problem:
                warnings.append(problem)
        if (value := get("years")) is not None:
            try:
                low, high = (int(v) for v in value.split("-"))
                values["years"] = (min(low, high), max(low, high))
            except ValueError:
                warnings.append(f"years={value!r} is not FROM-TO")
        for name, (low, high) in (("mcs", MCS_RANGE), ("cluster", (None, None)), ("group", (None, None))):
            if (value := get(name)) is not None:
                try:
                    number = int(value)
                except ValueError:
                    number = None
                if number is not None and (low is None or low <= number <= high):
                    values[name] = number
                else:
                    within = "" if low is None else f" in {low}..{high}"
                    warnings.append(f"{name}={value!r} is not an integer{within}")
        return cls(**values, warnings=tuple(warnings))


def _projection_params(text: str, projection: str) -> tuple[tuple[tuple[str, float], ...], str]:
    """``pp`` of a link: the known parameters of ``projection`` within their ranges, and what was ignored."""
    knobs = {name: (low, high) for name, _, low, high, _, _ in PROJECTION_KNOBS.get(projection, [])}
    found, ignored = {}, []
    for part in filter(None, text.split(",")):
        name, _, number = part.partition(":")
        try:
            value = float(number)
        except ValueError:
            value = None
        if name in knobs and value is not None and knobs[name][0] <= value <= knobs[name][1]:
            found[name] = int(value) if isinstance(knobs[name][0], int) else value
        else:
            ignored.append(part[:40])
    return tuple(sorted(found.items())), (f"pp: {', '.join(ignored)} not a {projection} parameter in range"
                                          if ignored else "")
