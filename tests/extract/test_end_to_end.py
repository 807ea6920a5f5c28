"""Your own trailers, end to end: three videos -> extract -> train coarse -> embed -> the Explore page shows the
set (with the untrained-backbones mark) and the trailer card plays the source video; a 5-genre vocabulary from the
metadata reaches training, evaluation and the app."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mmx_core import workspace
from mmx_core.appkit import trailer_media
from mmx_core.base.paths import data_dir, runs_dir
from mmx_core.cli import main
from mmx_core.data import TrailerStore
from mmx_core.extract.pipeline import ExtractConfig, extract_videos

from project_dirs import project_dirs, session_home
from videos import make_video

ROOT = Path(__file__).resolve().parents[2]
GENRES = ["Giallo", "Mumblecore", "Noir", "Space Opera", "Wuxia"]  # none of the paper's 20


@pytest.fixture(scope="module")
def own_trailers(tmp_path_factory):
    """Three short videos with cuts and sound, and a metadata table with five genres outside the paper's."""
    folder = tmp_path_factory.mktemp("own_videos")
    for i, name in enumerate(("alpha", "beta", "gamma")):
        make_video(folder / f"{name}.mp4", duration=3.0, cuts=[1.5], tone_hz=300 + 200 * i)
    meta = pd.DataFrame({"file": ["alpha.mp4", "beta.mp4", "gamma.mp4"],
                         "title": ["Alpha Film", "Beta Film", "Gamma Film"], "year": [1971, 2004, 2019],
                         "genres": ["Giallo|Noir", "Mumblecore;Space Opera", "Wuxia|Noir"],
                         "split": ["train", "train", "val"]})
    meta.to_csv(folder / "meta.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def project_home(tmp_path_factory):
    """The session's project folders, already for module fixtures (the autouse fixture is per test)."""
    with project_dirs(session_home(tmp_path_factory)) as home:
        yield home


@pytest.fixture(scope="module")
def extracted_embedded(project_home, own_trailers):
    """extract (untrained image + audio experts) -> train coarse 1 epoch -> embed with the trailer table."""
    out = data_dir() / "own"
    assert out.is_relative_to(project_home)
    report = extract_videos(own_trailers, out,
                            ExtractConfig(experts="image,audio", untrained=True, device="cpu", batch_size=2,
                                          workers=0),
                            meta=own_trailers / "meta.csv")
    assert report.ok, report.failed
    run = runs_dir() / "own-coarse"
    assert main(["train", "--stage", "coarse", "--data", str(out), "--out", str(run), "--epochs", "1",
                 "--batch-size", "2", "--device", "cpu", "--shared-dim", "16", "--sequence-dim", "16",
                 "--bottleneck-dim", "8", "--gating-hidden", "16", "--head-hidden", "16",
                 "--projection-dim", "8", "--vlad-clusters", "2"]) == 0
    embeddings = run / "embeddings" / "own.npz"
    assert main(["embed", "--data", str(out), "--model", str(run), "--out", str(embeddings), "--device", "cpu",
                 "--with-metadata"]) == 0
    return out, run, embeddings


def test_the_metadata_vocabulary_reaches_the_model_and_the_set(extracted_embedded):
    out, run, _ = extracted_embedded
    store = TrailerStore.open(out)
    assert store.manifest.genres == GENRES and store.manifest.extraction["untrained"] is True
    from mmx_core.train import load_checkpoint

    checkpoint = load_checkpoint(run)
    assert checkpoint.genres == GENRES and checkpoint.config.n_genres == len(GENRES)
    emb = workspace.load_set("run:own-coarse/own")
    assert len(emb) == 3 and emb.untrained and sorted(emb.metadata["display_title"]) == [
        "Alpha Film", "Beta Film", "Gamma Film"]
    assert set(g for row in emb.metadata["genres"] for g in row) == set(GENRES)
    assert any(i.name == "run:own-coarse/own" and "untrained backbones" in i.label for i in workspace.list_sets())


def test_evaluation_follows_the_manifest_vocabulary(extracted_embedded, capsys):
    import json

    out, run, _ = extracted_embedded
    assert main(["evaluate", "--data", str(out), "--model", str(run), "--split", "train", "--tune-split", "val",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["per_genre"]) == GENRES and report["n_trailers"] == 2


def test_thumbnails_and_the_source_video_are_found_from_the_set(extracted_embedded, own_trailers):
    emb = workspace.load_set("run:own-coarse/own")
    row = emb.metadata.iloc[0]
    trailer_id = str(emb.ids[0])
    image = trailer_media.thumbnail_bytes(trailer_id, row)
    assert image is not None and image[:2] == b"\xff\xd8"                 # a JPEG from the set's own archive
    video = trailer_media.trailer_video(trailer_id, row)
    assert video is not None and video.path == (own_trailers / f"{trailer_id}.mp4").resolve()
    assert video.sequence_starts[0] == 0.0 and video.start_of(99) == int(video.sequence_starts[-1])


def test_the_explore_page_shows_the_set_marked_untrained_and_plays_a_trailer(extracted_embedded):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["set"] = "run:own-coarse/own"
    at.query_params["projection"] = "pca"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("untrained backbones" in w.value for w in at.sidebar.warning)
    assert at.get("plotly_chart")
    at.session_state["map"] = {"selection": {"points": [{"customdata": [0]}], "point_indices": [0], "box": [],
                                             "lasso": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    videos = at.get("video")
    assert videos and np.isclose(videos[0].proto.start_time, 0)


def test_a_link_with_an_out_of_range_cluster_size_is_ignored_with_a_notice_not_an_exception():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["mcs"] = "2"
    at.query_params["projection"] = "pca"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("mcs='2'" in t.value for t in at.toast)
