"""Real-browser test: ``streamlit run app.py`` on a free port, headless Chromium driven by Playwright.

Hovers a point on the map (the hover card shows its thumbnail and title), clicks it, checks the
trailer panel lists its neighbours, and saves a screenshot of every page to ``screenshots/``
(gitignored; see README). Skips when Chromium is absent, unless ``MMX_REQUIRE_BROWSER=1`` (CI), where
it fails instead.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from testing.streamlit_client import free_port, stop_server, wait_healthy
from testing.streamlit_client import start_server as start_streamlit
from project_dirs import env_for, project_dirs

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "screenshots"
CHROMIUM = os.environ.get("MMX_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    missing = not Path(CHROMIUM).exists() and shutil.which("chromium") is None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        if os.environ.get("MMX_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium ({CHROMIUM}) or playwright is missing and MMX_REQUIRE_BROWSER=1")
        pytest.skip(f"Chromium ({CHROMIUM}) or playwright is not installed")


def start_server(home: Path, port: int, env: dict | None = None) -> subprocess.Popen:
    """``streamlit run app.py`` with the project folders under ``home`` (plus ``env``), logging to
    ``home/server.log``."""
    return start_streamlit(Path("app.py"), port, ROOT, {**env_for(home), **(env or {})}, home / "server.log")


@contextlib.contextmanager
def served(home: Path, env: dict | None = None, seconds: float = 60) -> Iterator[str]:
    """The app served on a free port for the block (:func:`start_server`): its URL; stopped afterwards."""
    port = free_port()
    process = start_server(home, port, env)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process, seconds)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(process)


def demo_sets(home: Path) -> None:
    """Two small uploads for the Compare page while the shipped coarse/fine sets are absent."""
    from mmx_core.trailers.published import load_published
    from mmx_core.trailers.embeddings import save_embeddings
    from mmx_core.base.paths import MODELS_DIR

    if (MODELS_DIR / "coarse_embeddings.npz").exists() and (MODELS_DIR / "fine_embeddings.npz").exists():
        return
    published = load_published()
    rows = np.random.default_rng(0).choice(len(published), 1500, replace=False)
    vectors = published.vectors[rows]
    noisy = vectors + np.random.default_rng(1).normal(0, 0.6 * vectors.std(), vectors.shape).astype(np.float32)
    for name, vec in (("demo-subset", vectors), ("demo-perturbed", noisy)):
        save_embeddings(home / "data" / "uploads" / name / "embeddings.npz", published.ids[rows], vec,
                        source="app demo: published subset / perturbed copy")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _require_browser()
    home = tmp_path_factory.mktemp("browser_home")
    demo_sets(home)
    with served(home, env={"MMX_DATA_ROOTS": str(home)}) as url:   # the own videos lie under home, not its data/
        yield url, home


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        yield context.new_page()
        browser.close()


POINT_JS = """(share) => {
  // A point of the first cluster trace near position `share` of it, the one farthest from any other point
  // on screen (so the mouse picks exactly it); screen coordinates, hover text and row.
  share = share ?? 0.5;
  const gd = document.querySelector('[data-testid=stMain] .js-plotly-plot');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const trace = gd._fullData.find(t => t.type === 'scattergl' && t.name !== 'noise' && t.x && t.x.length > 20);
  const px = (t, i) => [xa.l2p(t.x[i]), ya.l2p(t.y[i])];
  const all = gd._fullData.filter(t => t.type === 'scattergl' && t.visible === true && t.x)
    .flatMap(t => Array.from(t.x, (_, i) => px(t, i)));
  let best = null, bestGap = -1;
  for (let k = 0; k < 25; k++) {
    const i = Math.min(trace.x.length - 1, Math.max(0, Math.floor(trace.x.length * (share - 0.1 + 0.2 * k / 25))));
    const [x, y] = px(trace, i);
    let gap = Infinity;
    for (const [u, v] of all) {
      const d = Math.hypot(u - x, v - y);
      if (d > 0.01 && d < gap) gap = d;
    }
    if (gap > bestGap) { bestGap = gap; best = i; }
  }
  const box = gd.getBoundingClientRect(), [x, y] = px(trace, best);
  return {x: box.left + xa._offset + x, y: box.top + ya._offset + y, title: trace.hovertext[best],
          row: Number(trace.customdata[best])};
}"""


CARD_JS = """() => {
  const card = document.querySelector('[data-testid="mmx-hovercard"]');
  const img = card && card.querySelector('img');
  if (!card || card.style.display === 'none' || !img || !img.complete || !img.naturalWidth) return null;
  return {title: card.querySelector('.mmx-hovercard-title').textContent, text: card.innerText,
          src: img.getAttribute('src'), alt: img.alt, width: img.naturalWidth};
}"""


def hover_title(hovertext: str) -> str:
    """The first line of a point's hover text without its tags: ``Title (year)``."""
    return html.unescape(re.sub(r"<[^>]+>", "", hovertext.split("<br>")[0]))


def hover_card(page, timeout: float = 30_000) -> dict:
    """The hover card shown over the map once its thumbnail has loaded (title, text, img src and alt)."""
    page.wait_for_function(CARD_JS, timeout=timeout)
    return page.evaluate(CARD_JS)


def wait_idle(page, timeout: float = 120_000) -> None:
    """Wait until Streamlit has finished running the script (no 'Running...' status widget)."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def shot(page, name: str, height: int = 1000) -> None:
    """Screenshot once every image has loaded; ``height`` grows the window for long pages."""
    page.set_viewport_size({"width": 1500, "height": height})
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)",
                           timeout=30_000)
    page.wait_for_timeout(500)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1500, "height": 1000})


def test_hover_card_then_click_on_the_map_shows_neighbours_and_screenshots(server, page):
    from mmx_core.appkit import hovercard
    from mmx_core.trailers.published import load_published

    url, home = server
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function("() => { const gd = document.querySelector('[data-testid=stMain] .js-plotly-plot');"
                           " return gd && gd._fullData && gd._fullData.length > 2; }", timeout=120_000)
    wait_idle(page)
    # One navigation: our page links with readable names, not Streamlit's file-name list.
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    links = [t.strip() for t in page.locator('[data-testid="stSidebar"] [data-testid="stPageLink"]').all_inner_texts()]
    assert [t.split("\n")[-1] for t in links] == \
        ["Explore", "Trailer", "Compare coarse vs fine", "Train", "Evaluate", "Data"], links
    shot(page, "explore")

    point = page.evaluate(POINT_JS)
    page.mouse.move(point["x"], point["y"])
    card = hover_card(page)
    assert card["title"] == card["alt"] == hover_title(point["title"]), (card, point)
    assert card["src"] == hovercard.thumbnail_uri(load_published().ids[point["row"]])   # that trailer's thumbnail
    assert "cluster: " in card["text"]
    shot(page, "explore-hover")
    assert page.evaluate(CARD_JS) is not None                 # the card was on screen for the screenshot
    page.mouse.click(point["x"], point["y"])
    page.get_by_text("Nearest neighbours").wait_for(timeout=60_000)
    wait_idle(page)
    side = page.locator('[data-testid="stColumn"]').nth(1)
    assert side.locator('[data-testid="stButton"]').count() >= 5
    clicked = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["trailer"][0]
    assert clicked == load_published().ids[point["row"]]     # the hovered trailer is the clicked one
    other = page.evaluate(POINT_JS, 0.25)               # the figure changed (star): hovering still works
    page.mouse.move(other["x"], other["y"])
    card = hover_card(page)
    assert card["title"] == hover_title(other["title"]) and card["title"] != hover_title(point["title"])
    page.mouse.move(5, 5)
    page.wait_for_function(f"() => ({CARD_JS})() === null", timeout=10_000)   # leaving the map hides the card
    shot(page, "explore-trailer-card")

    page.get_by_label("Search titles").fill("western")
    page.keyboard.press("Enter")
    page.get_by_text("Matches:").wait_for(timeout=60_000)
    wait_idle(page)
    shot(page, "explore-search", height=1500)


def start_tiny_run(home: Path) -> None:
    """A real 3-epoch training run on a tiny generated set, so the Train page shows progress and curves."""
    from mmx_core import jobs
    from mmx_core.data import synthesize

    with project_dirs(home):
        synthesize(home / "data" / "tiny", 24, 0, dims={"image": 16, "scene": 16, "motion": 8, "audio": 4},
                   sequences=(1, 2))
        jobs.submit(jobs.TrainRequest("coarse", "tiny", epochs=3, batch_size=8, device="cpu", name="tiny-coarse"))
        deadline = time.time() + 120
        while time.time() < deadline and jobs.list_jobs("train")[0].state in jobs.ACTIVE:
            time.sleep(0.5)


@pytest.mark.parametrize("path, expect", [
    ("Trailer", "Neighbours in"), ("Compare", "Jaccard"), ("Train", "Runs"), ("Evaluate", "Table 2"), ("Data", "Upload"),
])
def test_screenshots_of_every_page(server, page, path, expect):
    url, home = server
    demo = (home / "data" / "uploads" / "demo-subset").exists()
    query = {"Trailer": "?trailer=BladeRunner2049",
             "Compare": "?set=upload%3Ademo-subset&compare=upload%3Ademo-perturbed&mcs=15" if demo else ""}.get(path, "")
    if path == "Train":
        start_tiny_run(home)
        expect = "tiny-coarse"
    page.goto(f"{url}/{path}{query}", wait_until="domcontentloaded")
    page.get_by_text(expect).first.wait_for(timeout=180_000)
    wait_idle(page, timeout=180_000)
    assert not page.locator('[data-testid="stException"]').count()
    if path == "Train":
        page.get_by_text("training loss").first.wait_for(timeout=60_000)
    shot(page, path.lower(), height=1400 if path in ("Compare", "Trailer", "Train") else 1000)


def own_trailers_set(home: Path) -> str:
    """Three generated videos -> extract (untrained image + audio experts) -> train -> embed, in the server's home;
    returns the embedding set's name."""
    sys.path.insert(0, str(ROOT / "tests" / "extract"))
    from videos import make_video

    from mmx_core.cli import main
    from mmx_core.extract.pipeline import ExtractConfig, extract_videos

    videos = home / "own_videos"
    videos.mkdir(exist_ok=True)
    for i, name in enumerate(("alpha", "beta", "gamma")):
        make_video(videos / f"{name}.mp4", duration=4.0, cuts=[2.0], size=(160, 120), tone_hz=300 + 200 * i)
    with project_dirs(home):
        extract_videos(videos, home / "data" / "own",
                       ExtractConfig(experts="image,audio", untrained=True, device="cpu", batch_size=2, workers=0))
        run = home / "runs" / "own-coarse"
        assert main(["train", "--stage", "coarse", "--data", str(home / "data" / "own"), "--out", str(run),
                     "--epochs", "1", "--batch-size", "2", "--device", "cpu", "--shared-dim", "16",
                     "--sequence-dim", "16", "--bottleneck-dim", "8", "--gating-hidden", "16", "--head-hidden", "16",
                     "--projection-dim", "8", "--vlad-clusters", "2"]) == 0
        assert main(["embed", "--data", str(home / "data" / "own"), "--model", str(run), "--out",
                     str(run / "embeddings" / "own.npz"), "--device", "cpu", "--with-metadata"]) == 0
    return "run:own-coarse/own"


PLAY_JS = """async () => {
  const video = document.querySelector('video');
  if (!video) return null;
  video.muted = true;
  await video.play();
  await new Promise(r => setTimeout(r, 1500));
  return {time: video.currentTime, paused: video.paused, width: video.videoWidth, error: video.error && video.error.code};
}"""


def test_the_trailer_card_plays_a_video_of_ones_own(server, page):
    url, home = server
    name = own_trailers_set(home)
    page.goto(f"{url}/?set={urllib.parse.quote(name)}&projection=pca&trailer=beta", wait_until="domcontentloaded")
    page.locator("video").first.wait_for(timeout=120_000)
    wait_idle(page)
    assert page.get_by_text("untrained backbones").count() >= 1
    played = page.evaluate(PLAY_JS)
    assert played and not played["error"] and played["width"] == 160 and played["time"] > 0.5, played
    shot(page, "explore-own-video")
