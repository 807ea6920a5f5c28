"""Real-browser test of the map of a large collection: a generated set of 20,000 trailers served with the
map's point limit lowered to 5,000. Zooming in (``Plotly.relayout`` in the page, what a drag of the zoom
tool does) draws the points of the new region, keeping those already drawn; a click on one of them shows
its trailer card and neighbours. Saves ``screenshots/explore-large.png``."""

from __future__ import annotations

import urllib.parse

import numpy as np
import pytest

from project_dirs import project_dirs
from test_browser import ARGS, CHROMIUM, _require_browser, served, shot, wait_idle

pytestmark = pytest.mark.browser
N, LIMIT = 20_000, 5_000

DRAWN_JS = """(box) => {
  // Rows drawn as markers (not the matches or the star) inside box = [x0, x1, y0, y1] (all without it).
  const gd = document.querySelector('.mmx-plotly-map');
  const rows = [];
  for (const t of gd._fullData) {
    if (t.type !== 'scattergl' || !t.customdata || t.name === 'selected' || t.name === 'matches') continue;
    for (let i = 0; i < t.x.length; i++) {
      if (!box || (t.x[i] >= box[0] && t.x[i] <= box[1] && t.y[i] >= box[2] && t.y[i] <= box[3]))
        rows.push(Number(t.customdata[i]));
    }
  }
  return rows;
}"""

ISOLATED_JS = """() => {
  // The point of a cluster trace farthest from any other point on screen: its screen position and row.
  const gd = document.querySelector('.mmx-plotly-map');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, box = gd.getBoundingClientRect();
  const onScreen = (t, i) => [xa.l2p(t.x[i]), ya.l2p(t.y[i])];
  const traces = gd._fullData.filter(t => t.type === 'scattergl' && t.visible === true && t.x && t.x.length);
  const all = traces.flatMap(t => Array.from(t.x, (_, i) => onScreen(t, i)));
  let best = null, bestGap = -1;
  for (const t of traces.filter(t => t.name !== 'noise')) {
    for (let i = 0; i < t.x.length; i += Math.max(1, Math.floor(t.x.length / 40))) {
      const [x, y] = onScreen(t, i);
      if (x < 20 || y < 20 || x > xa._length - 20 || y > ya._length - 20) continue;
      let gap = Infinity;
      for (const [u, v] of all) { const d = Math.hypot(u - x, v - y); if (d > 0.01 && d < gap) gap = d; }
      if (gap > bestGap) { bestGap = gap; best = {x: box.left + xa._offset + x, y: box.top + ya._offset + y,
                                                  row: Number(t.customdata[i])}; }
    }
  }
  return best;
}"""


def large_set(home) -> str:
    from mmx_core.appkit.uploads import keep_generated
    from mmx_core.trailers.published import load_published
    from mmx_core.explore.generate import generate_set

    with project_dirs(home):
        keep_generated("large", generate_set(load_published(), N, 16, seed=0), "test: large map")
    return "upload:large"


@pytest.fixture(scope="module")
def large_server(tmp_path_factory):
    _require_browser()
    home = tmp_path_factory.mktemp("large_map_home")
    name = large_set(home)
    with served(home, {"MMX_MAP_POINT_LIMIT": str(LIMIT)}) as url:
        yield url, name


def test_zoom_samples_the_new_view_and_a_click_opens_the_trailer(large_server):
    from playwright.sync_api import sync_playwright

    url, name = large_server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
        page.goto(f"{url}/?set={urllib.parse.quote(name)}&projection=pca", wait_until="domcontentloaded")
        page.wait_for_function("() => { const gd = document.querySelector('.mmx-plotly-map');"
                               " return gd && gd._fullData && gd._fullData.length > 2; }", timeout=240_000)
        wait_idle(page)
        assert page.get_by_text(f"density of all {N:,} trailers and {LIMIT:,} sampled points").count() == 1
        assert len(page.evaluate(DRAWN_JS, None)) == LIMIT
        (x0, x1), (y0, y1) = page.evaluate("() => { const l = document.querySelector('.mmx-plotly-map')._fullLayout;"
                                           " return [l.xaxis.range, l.yaxis.range]; }")
        cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 8, (y1 - y0) / 8
        box = [cx - w, cx + w, cy - h, cy + h]                          # the middle of the map, 1/4 of each axis
        before = page.evaluate(DRAWN_JS, box)
        page.evaluate("(b) => Plotly.relayout(document.querySelector('.mmx-plotly-map'),"
                      " {'xaxis.range': [b[0], b[1]], 'yaxis.range': [b[2], b[3]]})", box)
        page.wait_for_function(f"(box) => ({DRAWN_JS})(box).length > {len(before)}", arg=box, timeout=60_000)
        wait_idle(page)
        after = page.evaluate(DRAWN_JS, box)
        assert len(after) > 2 * len(before) and set(before) <= set(after)     # zooming in only adds points
        ranges = page.evaluate("() => { const l = document.querySelector('.mmx-plotly-map')._fullLayout;"
                               " return [l.xaxis.range, l.yaxis.range]; }")
        assert np.allclose(ranges, [box[:2], box[2:]])                  # the zoom survives the new figure

        point = page.evaluate(ISOLATED_JS)
        assert point["row"] in after
        page.mouse.click(point["x"], point["y"])
        page.get_by_text("Nearest neighbours").wait_for(timeout=60_000)
        wait_idle(page)
        trailer = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["trailer"][0]
        assert trailer == f"g{point['row']:07d}"                        # the clicked point's trailer
        assert page.locator('[data-testid="stColumn"]').nth(1).locator('[data-testid="stButton"]').count() >= 5
        page.wait_for_function("() => document.querySelector('.mmx-plotly-map')._fullData"
                               ".some(t => t.name === 'selected')", timeout=30_000)
        page.mouse.move(5, 5)                                           # no hover label in the picture
        shot(page, "explore-large")
        browser.close()
