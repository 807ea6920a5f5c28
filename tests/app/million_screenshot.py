"""The Explore map of a generated collection of a million trailers in a real browser: docs/screenshots/explore-million.png.

Not part of the test suite (it needs the set and its map precomputed, many minutes on two cores). Prepare:

    python -m mmx_core generate-embeddings --n 1000000 --dim 256 --seed 17 --name generated-1m
    python -m benchmarks scale_pipeline      # computes that set's map and sub-genres and keeps them in cache/

then run ``python tests/app/million_screenshot.py``. It serves the app on the project's own folders, opens
the set, checks the caption (a density of every trailer plus the sampled points of the view), zooms into
the middle of the map, waits for the re-sampled points, clicks one and saves the picture with its panel.
"""

from __future__ import annotations

import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(HERE.parent), str(ROOT)]

from test_browser import ARGS, CHROMIUM, served, wait_idle  # noqa: E402
from test_large_map_browser import DRAWN_JS, ISOLATED_JS  # noqa: E402

SET = "upload:generated-1m"
OUT = ROOT / "docs" / "screenshots" / "explore-million.png"


def main() -> int:
    from playwright.sync_api import sync_playwright

    with served(ROOT, seconds=120) as url:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            start = time.perf_counter()
            page.goto(f"{url}/?set={urllib.parse.quote(SET)}", wait_until="domcontentloaded")
            page.wait_for_function("() => { const gd = document.querySelector('.mmx-plotly-map');"
                                   " return gd && gd._fullData && gd._fullData.length > 2; }", timeout=900_000)
            wait_idle(page, timeout=600_000)
            print(f"map drawn in the browser after {time.perf_counter() - start:.0f} s", flush=True)
            assert page.get_by_text("density of all 1,000,000 trailers").count() == 1
            (x0, x1), (y0, y1) = page.evaluate("() => { const l = document.querySelector('.mmx-plotly-map')"
                                               "._fullLayout; return [l.xaxis.range, l.yaxis.range]; }")
            cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 6, (y1 - y0) / 6
            box = [cx - w, cx + w, cy - h, cy + h]
            before = len(page.evaluate(DRAWN_JS, box))
            page.evaluate("(b) => Plotly.relayout(document.querySelector('.mmx-plotly-map'),"
                          " {'xaxis.range': [b[0], b[1]], 'yaxis.range': [b[2], b[3]]})", box)
            page.wait_for_function(f"(box) => ({DRAWN_JS})(box).length > {before}", arg=box, timeout=300_000)
            wait_idle(page, timeout=300_000)
            print(f"zoomed: {before} -> {len(page.evaluate(DRAWN_JS, box))} points in the view", flush=True)
            point = page.evaluate(ISOLATED_JS)
            page.mouse.click(point["x"], point["y"])
            page.get_by_text("Nearest neighbours").wait_for(timeout=300_000)
            wait_idle(page, timeout=300_000)
            page.mouse.move(5, 5)
            page.wait_for_timeout(1000)
            OUT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUT))
            print(f"saved {OUT.relative_to(ROOT)}", flush=True)
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
