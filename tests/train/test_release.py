"""make-models on a small slice of the published-latent data: files, sizes, model card."""

from __future__ import annotations

import pytest

from mmx_core.trailers.published import load_published
from mmx_core.trailers.embeddings import load_embeddings
from mmx_core.evaluate import genre_metrics
from mmx_core.train import load_checkpoint, predict_scores
from mmx_core.studies.release import ReleaseConfig, make_models


@pytest.mark.slow
def test_make_models_writes_shipped_files(tmp_path):
    out = tmp_path / "models"
    results = make_models(ReleaseConfig(data=tmp_path / "data", runs=tmp_path / "runs", out=out, trailers=80,
                                        coarse_epochs=1, fine_epochs=1, batch_size=16))
    published = set(load_published().ids.tolist())
    for stage in ("coarse", "fine"):
        checkpoint = load_checkpoint(out / f"{stage}.pt")
        assert checkpoint.stage == stage and checkpoint.state["optimiser"] == {}
        assert (out / f"{stage}.pt").stat().st_size < 50e6
        embeddings = load_embeddings(out / f"{stage}_embeddings.npz")
        assert len(embeddings) == 80 and embeddings.generated and set(embeddings.ids.tolist()) <= published
    card = (out / "README.md").read_text()
    for text in ("## Data", "## Time on this machine", "## Metrics", "AU(PRC)w", "make models"):
        assert text in card
    # the card's test figures are the shipped coarse encoder's own scores on the test split
    scores, labels = predict_scores(tmp_path / "data", out / "coarse.pt", "test")
    test = genre_metrics(scores, labels)
    assert results["coarse_test"]["auprc_weighted"] == pytest.approx(test.auprc_weighted)
    assert f"| {test.auprc_weighted:.3f} | {test.auprc_micro:.3f} | {test.auprc_macro:.3f} |" in card
    timings = results["timings"]
    assert timings["total_s"] == pytest.approx(sum(timings[k] for k in ("data_s", "coarse_s", "fine_s",
                                                                         "export_embed_s")))
    # a second call reuses the data and the finished runs
    again = make_models(ReleaseConfig(data=tmp_path / "data", runs=tmp_path / "runs", out=out, trailers=80,
                                      coarse_epochs=1, fine_epochs=1, batch_size=16))
    assert again["coarse"]["epoch"] == results["coarse"]["epoch"]


def test_make_models_refuses_data_generated_with_other_knobs(tmp_path):
    from mmx_core.data.synth import synthesize
    from mmx_core.base.errors import MMXError

    data = synthesize(tmp_path / "data", 12, seed=0, latent="published", style_strength=1.5,
                      dims={"image": 4, "scene": 4, "motion": 4, "audio": 4})
    with pytest.raises(MMXError, match=r"style_strength 1.5, default 0.75.*delete it"):
        make_models(ReleaseConfig(data=data, runs=tmp_path / "runs", out=tmp_path / "models", trailers=12))
    assert not (tmp_path / "runs").exists() and not (tmp_path / "models").exists()
