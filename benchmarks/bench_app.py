"""The app: start to first interactive map (cold and warm), click -> neighbour panel, map payload size.

- cold: a fresh ``streamlit run app.py`` process (shipped cache in assets/cache, empty ``cache/``), from
  process start until headless Chromium shows the map with its points (plotly has drawn its traces);
- warm: a second browser tab on the same server (Streamlit's resource cache is warm);
- click -> neighbours: server time of the Explore script run that handles a click (AppTest, warm), i.e.
  what the server does between the click event and sending the neighbour panel; plus the browser's
  end-to-end time from the click to the visible panel;
- payload: bytes of the map figure JSON sent to the browser, for 7,594 trailers and 100,000 points
  (above ``map_figure.MAP_POINT_LIMIT`` points the map sends a sample plus a density layer).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.harness import Table, timed_runs, timer
from testing.streamlit_client import free_port, stop_server

ROOT = Path(__file__).resolve().parent.parent


def browser_helpers():
    """The browser tests' module (its server and page helpers), importable as under pytest: ``tests/`` and
    ``tests/app/`` on the path."""
    for folder in (ROOT / "tests", ROOT / "tests" / "app"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    import test_browser

    return test_browser


def _browser_times(quick: bool) -> list:
    helpers = browser_helpers()
    from playwright.sync_api import sync_playwright

    rows = []
    home = Path(tempfile.mkdtemp(prefix="mmx_bench_app_"))
    port = free_port()
    start = time.perf_counter()
    process = helpers.start_server(home, port)
    url = f"http://127.0.0.1:{port}"
    ready = "() => { const gd = document.querySelector('[data-testid=stMain] .js-plotly-plot'); return gd && gd._fullData && gd._fullData.length > 2; }"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=helpers.CHROMIUM, headless=True, args=helpers.ARGS)
            page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            while True:
                try:
                    page.goto(url, wait_until="domcontentloaded", timeout=2000)
                    break
                except Exception:  # noqa: BLE001 - server not listening yet
                    if time.perf_counter() - start > 120:
                        raise
                    time.sleep(0.1)
            page.wait_for_function(ready, timeout=180_000)
            cold = time.perf_counter() - start
            rows.append(["server start -> first interactive map (cold)", cold, "s", "< 10 s"])
            warm_times = []
            for _ in range(1 if quick else 3):
                tab = page.context.new_page()
                with timer() as t:
                    tab.goto(url, wait_until="domcontentloaded")
                    tab.wait_for_function(ready, timeout=120_000)
                warm_times.append(t["seconds"])
                tab.close()
            rows.append(["new tab -> first interactive map (warm server)", statistics.median(warm_times), "s", ""])
            helpers.wait_idle(page)
            clicks = []
            for _ in range(1 if quick else 3):
                point = page.evaluate(helpers.POINT_JS)
                page.mouse.move(point["x"], point["y"])
                page.wait_for_timeout(300)
                with timer() as t:
                    page.mouse.click(point["x"], point["y"])
                    page.get_by_text("Nearest neighbours").wait_for(timeout=60_000)
                    helpers.wait_idle(page)
                clicks.append(t["seconds"])
                page.goto(url, wait_until="domcontentloaded")
                page.wait_for_function(ready, timeout=120_000)
                helpers.wait_idle(page)
            rows.append(["click -> neighbour panel visible (browser, end to end)", statistics.median(clicks), "s", ""])
            browser.close()
    finally:
        stop_server(process)
    return rows


def _server_click_ms(quick: bool) -> list:
    from streamlit.testing.v1 import AppTest

    sys.path.insert(0, str(ROOT))
    from mmx_core.appkit import map_tables
    from mmx_core.trailers.published import load_published

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    emb = load_published()
    rng = np.random.default_rng(0)
    script, neighbours = [], []
    for row in rng.choice(len(emb), 3 if quick else 15, replace=False):
        at.session_state["map"] = {"selection": {"points": [{"customdata": [int(row)]}], "point_indices": [int(row)],
                                                 "box": [], "lasso": []}}
        script.append(timed_runs(at.run, 1)[0] * 1000)
        assert "**Nearest neighbours**" in [m.value for m in at.markdown]
        neighbours.append(timed_runs(lambda: map_tables.neighbour_table(emb, str(emb.ids[row]), k=5), 1)[0] * 1000)
    return [["click -> neighbour panel, server script run (7,594, warm)", statistics.median(script), "ms", "< 300 ms"],
            ["  of which the neighbour query and table", statistics.median(neighbours), "ms", ""]]


def _payload_rows() -> list:
    from mmx_core.appkit import map_tables
    from mmx_core.appkit.map_figure import MAP_POINT_LIMIT, map_figure
    from mmx_core.trailers.published import load_published

    emb = load_published()
    data = map_tables.map_data(emb, "umap", 40)
    fig = map_figure(data.frame, "cluster", summaries=data.summaries)
    rows = [["map payload, 7,594 trailers (all points, hover text)", len(fig.to_json()) / 1e6, "MB", ""]]
    n = 100_000
    rng = np.random.default_rng(0)
    big = pd.DataFrame({
        "id": [f"t{i}" for i in range(n)], "x": rng.normal(size=n), "y": rng.normal(size=n),
        "cluster": rng.integers(-1, 60, n), "display_title": [f"Trailer number {i}" for i in range(n)],
        "year": pd.array(rng.integers(1950, 2022, n), dtype="Int64"), "genres": "Action, Drama",
        "genre_list": [["Action", "Drama"]] * n,
    })
    big["cluster_label"] = [f"cluster {c}" if c >= 0 else "noise" for c in big["cluster"]]
    summaries = big[big["cluster"] >= 0].groupby("cluster").agg(x=("x", "median"), y=("y", "median"),
                                                                  size=("x", "size")).reset_index()
    summaries["label"] = "cluster " + summaries["cluster"].astype(str)
    with timer() as t:
        fig = map_figure(big, "cluster", summaries=summaries)
        payload = fig.to_json()
    json.loads(payload)
    return rows + [[f"map payload, 100,000 points ({MAP_POINT_LIMIT:,} sampled + density)", len(payload) / 1e6, "MB",
                    ""], ["  figure build + JSON, 100,000 points", t["seconds"], "s", ""]]


def run(quick: bool = False) -> list[Table]:
    rows = []
    try:
        rows += _browser_times(quick)
    except Exception as exc:  # noqa: BLE001 - report, do not hide, a missing browser
        rows.append([f"browser timings unavailable ({type(exc).__name__}: {str(exc)[:80]})", float("nan"), "", ""])
    rows += _server_click_ms(quick)
    rows += _payload_rows()
    return [Table("App: start, click and payload", ["measure", "value", "unit", "goal"], rows,
                  note="Cold = fresh `streamlit run` process with the shipped cache; warm = new tab on the same "
                       "server. Server click time = the Explore script run handling the click (AppTest, warm).")]
