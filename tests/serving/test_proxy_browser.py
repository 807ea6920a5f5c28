"""Two real browsers through the proxy: sign in at the edge, open a trailer, see its neighbours, play its video.

The stack is the one ``make serve`` runs (nginx in front of two Streamlit workers, the sign-in service
answering nginx's auth subrequests); the browsers are Debian's Chromium driven by Playwright, each its own
process with its own cookies. Screenshots go to ``screenshots/`` beside the other browser tests'.
"""

from __future__ import annotations

import importlib.util
import os
import urllib.parse
from pathlib import Path

import pytest

from mmx_core.serving.serve import served
from needs_nginx import require_nginx
from project_dirs import project_dirs

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long lab passphrase"

pytestmark = pytest.mark.browser


def _browser_steps():
    """The steps the app's own browser tests use (video making, waiting, screenshots), loaded as a module."""
    spec = importlib.util.spec_from_file_location("browser_steps", ROOT / "tests" / "app" / "test_browser.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


steps = _browser_steps()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_nginx()
    steps._require_browser()
    home = tmp_path_factory.mktemp("proxy_home")
    name = steps.own_trailers_set(home)
    with project_dirs(home), pytest.MonkeyPatch.context() as patch:
        patch.setenv("MMX_DATA_ROOTS", str(home))             # the own videos lie under home, beside its data/
        with served(workers=2, password=PASSWORD) as running:
            yield running, name


def test_two_browsers_sign_in_at_the_edge_then_click_a_trailer_see_neighbours_and_play_a_video(stack):
    from playwright.sync_api import sync_playwright

    running, name = stack
    target = f"{running.url}/?set={urllib.parse.quote(name)}&projection=pca&trailer=beta"
    with sync_playwright() as pw:
        browsers = [pw.chromium.launch(executable_path=steps.CHROMIUM, headless=True, args=steps.ARGS)
                    for _ in range(2)]
        try:
            for index, browser in enumerate(browsers):
                page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
                page.goto(target, wait_until="domcontentloaded")
                assert urllib.parse.urlparse(page.url).path == "/signin"          # nothing of the app before
                assert page.locator("[data-testid=stApp]").count() == 0
                if index == 0:
                    page.fill("#p", "not the password")
                    with page.expect_navigation(timeout=60_000):        # the refusal is a new page: wait for it
                        page.click("input[type=submit]")
                    assert urllib.parse.urlparse(page.url).path == "/signin"
                    page.screenshot(path=str(_shots() / "signin.png"))
                page.fill("#p", PASSWORD)
                page.click("input[type=submit]")
                page.get_by_text("Nearest neighbours").first.wait_for(timeout=180_000)
                steps.wait_idle(page)
                assert "trailer=beta" in page.url                            # back where the visitor was going
                page.get_by_role("button", name="gamma").first.click()       # a neighbour, clicked
                page.wait_for_url("**trailer=gamma**", timeout=60_000)
                page.get_by_text("Nearest neighbours").first.wait_for(timeout=60_000)
                page.locator("video").first.wait_for(timeout=120_000)
                steps.wait_idle(page)
                played = page.evaluate(steps.PLAY_JS)
                assert played and not played["error"] and played["width"] == 160 and played["time"] > 0.5, played
                assert not page.locator('[data-testid="stException"]').count()
                if index == 1:
                    steps.shot(page, "explore-through-proxy")
        finally:
            for browser in browsers:
                browser.close()
    served_lines = [line for line in (running.run_dir / "access.log").read_text().splitlines() if "/media/" in line]
    assert served_lines and all(" member " in line for line in served_lines)   # the videos went to signed-in users


def _shots() -> Path:
    folder = ROOT / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder
