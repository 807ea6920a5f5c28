"""Real-browser test of the workbench: name a cluster, tag a trailer, reload and find both, export the CSV and
find both there; screenshots of the cluster card and of the map coloured by named sub-genres (``screenshots/``).

Chromium driven by Playwright, as ``test_browser.py`` (skips without Chromium unless ``MMX_REQUIRE_BROWSER=1``).
"""

from __future__ import annotations

import csv
import io

import pytest

from test_browser import ARGS, CHROMIUM, _require_browser, served, shot, wait_idle

pytestmark = pytest.mark.browser

NAME, TAG, TRAILER = "Neon noir test", "rain at night", "BladeRunner2049"
TRACES_JS = "() => document.querySelector('[data-testid=stMain] .js-plotly-plot')._fullData.map(t => t.name)"


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    _require_browser()
    home = tmp_path_factory.mktemp("workbench_home")
    with served(home) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
        yield url, context.new_page()
        browser.close()


def open_page(page, url: str, traces: int = 3) -> None:
    """Go to ``url`` and wait for its map (at least ``traces`` traces) and the end of the script run."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function("(n) => { const gd = document.querySelector('[data-testid=stMain] .js-plotly-plot');"
                           " return gd && gd._fullData && gd._fullData.length >= n; }", arg=traces, timeout=180_000)
    wait_idle(page, timeout=180_000)


def submit(page, label: str, text: str, button: str) -> None:
    page.get_by_label(label).fill(text)
    page.get_by_role("button", name=button, exact=True).click()
    wait_idle(page)


def test_name_tag_reload_export_and_screenshots(browser_page):
    from mmx_core.trailers.published import load_published
    from mmx_core.workspace import load_set
    from mmx_core.appkit.map_tables import map_data

    url, page = browser_page
    cluster = int(map_data(load_set("published")).summaries["cluster"].iloc[0])   # the largest cluster
    open_page(page, f"{url}/?cluster={cluster}")
    page.get_by_text("Cluster card:").first.wait_for(timeout=120_000)
    submit(page, "Name this cluster", NAME, "Name it")
    page.get_by_label(f"Rename ★ {NAME}").wait_for(timeout=60_000)       # the cluster now carries the name
    wait_idle(page)
    assert f"★ {NAME}" in page.evaluate(TRACES_JS)
    shot(page, "explore-cluster-card", height=2200)

    open_page(page, f"{url}/?trailer={TRAILER}")
    submit(page, "Tag this trailer", TAG, "Add tag")
    page.get_by_role("button", name=f"#{TAG} ✕").wait_for(timeout=60_000)

    page.reload(wait_until="domcontentloaded")                            # a reload keeps both
    page.get_by_role("button", name=f"#{TAG} ✕").wait_for(timeout=120_000)
    wait_idle(page)
    assert page.get_by_text(NAME).count() >= 1

    open_page(page, f"{url}/?colour=named", traces=2)                     # names drawn as clusters: noise + one
    assert f"★ {NAME}" in page.evaluate(TRACES_JS)
    shot(page, "explore-named-subgenres")

    page.get_by_text("Annotations file (CSV)").click()
    wait_idle(page)   # a rerun (the screenshot's resize) renews the button's deferred file: click the current one
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="Download names, tags and notes").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert {r["id"] for r in rows if r["kind"] == "tag" and r["tag"] == TAG} == {TRAILER}
    members = {r["id"] for r in rows if r["kind"] == "subgenre" and r["tag"] == NAME}
    assert len(members) > 10 and all(r["title"] for r in rows)
    assert load_published().ids.tolist().index(TRAILER) >= 0
