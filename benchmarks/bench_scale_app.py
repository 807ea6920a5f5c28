"""The Explore page on a large generated collection: warm open, zoom -> re-sampled map, click -> panel, payload.

Server time of the Explore script runs, measured through Streamlit's own AppTest (the script run a browser's
message starts, without the network and the browser's drawing):

- warm open: a new session's first run once the server's caches hold the set, its map and the map's layers
  (a first session has loaded them; its time is shown too, with the map and clusters read from the disk cache);
- zoom -> re-sampled map: the run after the map reports new axis ranges (a box around the map's middle, a
  quarter of each axis), which draws the density and the points of that region;
- click -> panel: the run after a click on a drawn point (the trailer card and its nearest neighbours);
- payload: the map figure's JSON as the page sends it, for the whole map and for the zoomed region.

Full: the 1,000,000 x 256 generated set ``upload:generated-1m`` (the set of the ``scale_pipeline``
benchmark), which this benchmark expects with its map (UMAP) and clusters already in the cache; prepare
it once with::

    python -m mmx_core generate-embeddings --n 1000000 --dim 256 --seed 17 --name generated-1m
    python -m benchmarks scale_pipeline     # or: python -m mmx_core precompute --set upload:generated-1m --methods umap

Quick (``--quick``): 50,000 x 256 generated here in a temporary folder, PCA map, computed on the way.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.harness import Table, project_folders, timed_runs, timer
from benchmarks.scale_sets import generated

ROOT = Path(__file__).resolve().parent.parent
FULL_SET, FULL_N = "upload:generated-1m", 1_000_000


def _quick_set(n: int) -> str:
    """A generated n x 256 set as an upload in a temporary project home (the process's folders point there)."""
    from mmx_core.appkit.uploads import keep_generated

    home = Path(tempfile.mkdtemp(prefix="mmx_bench_scale_app_"))
    os.environ.update(project_folders(home))
    return keep_generated(f"generated-{n}x256", generated(n, 256, 0), "bench scale_app").name


def _check_precomputed(name: str) -> None:
    """Stop with one line when the full set or its map and clusters are not in the cache."""
    from mmx_core import workspace
    from mmx_core.base.errors import MMXError
    from mmx_core.base.paths import cache_dir

    try:
        emb = workspace.load_set(name)
    except MMXError as exc:
        raise SystemExit(f"scale_app: {exc}; prepare the set as the docstring of benchmarks/bench_scale_app.py says")
    for step in ("projection", "clusters"):
        if not any(emb.content_hash in p.read_text() for p in (cache_dir() / step).glob("*.json")):
            raise SystemExit(f"scale_app: no cached {step} of {name} in {cache_dir()}; run "
                             f"`python -m mmx_core precompute --set {name} --methods umap` first")


def _map_element(at) -> tuple[dict, int]:
    element = next(e for e in at.get("bidi_component") if e.proto.component_name == "mmx_plotly_map")
    data = json.loads(element.proto.json)
    return json.loads(data["figure"]), len(data["figure"].encode())


def _drawn_row(fig: dict) -> int:
    import base64

    trace = max((t for t in fig["data"] if t["type"] == "scattergl" and t["name"] != "noise"),
                key=lambda t: len(t["hovertext"]))
    custom = trace["customdata"]
    rows = np.frombuffer(base64.b64decode(custom["bdata"]), np.int32) if isinstance(custom, dict) else custom
    return int(rows[len(rows) // 2])


def _session(name: str, query: dict):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=3600)
    for key, value in {"set": name, **query}.items():
        at.query_params[key] = value
    return at


def run(quick: bool = False) -> list[Table]:
    sys.path.insert(0, str(ROOT))
    from mmx_core.appkit.map_figure import MAP_POINT_LIMIT
    from mmx_core.appkit.large_map import DENSITY_BINS
    from ui.plotly_map import selection_key

    name, n = (_quick_set(50_000), 50_000) if quick else (FULL_SET, FULL_N)
    if not quick:
        _check_precomputed(name)
    query = {"projection": "pca"} if quick else {}
    with timer() as first:
        _session(name, query).run()
    opens = []
    for _ in range(1 if quick else 3):
        at = _session(name, query)
        opens += timed_runs(at.run, 1)
    assert not at.exception, [e.value for e in at.exception]
    fig, whole_bytes = _map_element(at)
    density = fig["data"][0]
    left, bottom = density["x0"] - density["dx"] / 2, density["y0"] - density["dy"] / 2
    width, height = density["dx"] * DENSITY_BINS, density["dy"] * DENSITY_BINS
    zooms, clicks = [], []
    for i in range(1 if quick else 3):     # a box around the middle, a quarter of each axis (moved a little)
        x0, y0 = left + width * (0.375 + 0.01 * i), bottom + height * 0.375
        box = [x0, x0 + width / 4, y0, y0 + height / 4]
        at.session_state["map_large"] = {"view": box, "missing": 0}
        zooms += timed_runs(at.run, 1)
        zoomed, zoom_bytes = _map_element(at)
        at.session_state[selection_key("map_large")] = {"kind": "click", "rows": [_drawn_row(zoomed)]}
        clicks += timed_runs(at.run, 1)
        assert "**Nearest neighbours**" in [m.value for m in at.markdown]
    label = f"{n:,} x 256" + (" (PCA map)" if quick else " (UMAP map)")
    cold = "computing the map and clusters" if quick else "map and clusters from the disk cache"
    rows = [[label, f"first open, server caches cold ({cold})", first["seconds"], "s", ""],
            [label, "warm open (new session)", statistics.median(opens), "s", "<= 10 s"],
            [label, "zoom -> re-sampled map", statistics.median(zooms), "s", ""],
            [label, "click -> trailer panel", statistics.median(clicks) * 1000, "ms", "<= 300 ms"],
            [label, "map payload, whole map", whole_bytes / 1e6, "MB", "< 10 MB"],
            [label, "map payload, zoomed region", zoom_bytes / 1e6, "MB", "< 10 MB"]]
    return [Table("Explore page on a large collection (server time)", ["N x D", "measure", "value", "unit", "goal"],
                  rows, note="Server time of the Explore script runs (AppTest); medians of "
                             f"{len(opens)} runs each. The map draws the density of all points plus at most "
                             f"{MAP_POINT_LIMIT:,} points of the region shown; see docs/app.md.")]
