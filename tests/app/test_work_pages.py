"""AppTest of the pages that start work or read the user's files: Train (launch, progress, cancel), Evaluate, Data."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mmx_core import jobs, workspace
from mmx_core.base.paths import data_dir, runs_dir
from mmx_core.evaluate.predictions import save_predictions
from mmx_core.jobs import queue
from mmx_core.trailers.embeddings import save_embeddings
from mmx_core.trailers.published import load_published

from test_pages import assert_clean, figures_of, run_page, trace_names


@pytest.fixture
def tiny_data_and_fake_trainer(monkeypatch, tiny_data):
    monkeypatch.setattr(queue, "COMMAND_PREFIX", [sys.executable, str(Path(__file__).with_name("fake_trainer.py"))])
    monkeypatch.setenv("FAKE_EPOCH_SECONDS", "0.4")
    yield "tiny"


def test_train_page_launch_progress_cancel(tiny_data_and_fake_trainer):
    at = run_page("pages/3_Train.py")
    at.selectbox(key="f_data").set_value("tiny")
    at.number_input(key="f_epochs_coarse").set_value(50)
    at.text_input(key="f_name").input("app-test-run")
    at.button[0].click().run()   # the form's submit button
    assert_clean(at)
    assert any("queued" in s.value for s in at.success)
    deadline = time.time() + 30
    while time.time() < deadline:
        run = next(r for r in jobs.list_jobs("train") if r.name == "app-test-run")
        if run.state == "running" and run.progress > 0:
            break
        time.sleep(0.3)
    at.run()
    assert any("app-test-run · train · running" in e.label for e in at.expander), [e.label for e in at.expander]
    assert at.get("progress") and any(c.value for c in at.code if "epoch" in c.value)
    at.button(key="cancel_app-test-run").click().run()
    run = next(r for r in jobs.list_jobs("train") if r.name == "app-test-run")
    assert run.state == "cancelled" and not run.alive
    assert any("app-test-run · train · cancelled" in e.label for e in at.expander)


def test_evaluate_page_with_a_predictions_file():
    rng = np.random.default_rng(0)
    labels = (rng.random((200, 4)) < 0.3).astype(int)
    scores = np.clip(labels * 0.6 + rng.random((200, 4)) * 0.5, 0, 1)
    save_predictions(runs_dir() / "eval-run" / "predictions.npz", scores, labels, ["Action", "Comedy", "Drama", "Horror"])
    at = run_page("pages/4_Evaluate.py")
    at.selectbox(key="w_eval_source").set_value("file:eval-run/predictions.npz").run()
    at.button(key="evaluate").click().run()
    assert_clean(at)
    summary = at.dataframe[0].value
    assert list(summary["metric"])[:2] == ["F1w", "AU(PRC)w"] and summary["this model"].iloc[1] > 0.5
    assert len(figures_of(at)) == 2                         # F1 bars, PR curves
    at.multiselect(key="w_pr").select("Horror").run()
    assert "Horror" in trace_names(figures_of(at)[1])


def test_data_page_lists_uploads_and_validates_a_folder(tiny_data_and_fake_trainer):
    published = load_published()
    save_embeddings(workspace.uploads_dir() / "listed" / "embeddings.npz", published.ids[:20], published.vectors[:20])
    at = run_page("pages/5_Data.py")
    names = list(at.dataframe[0].value["name"])
    assert names[0] == "published" and "upload:listed" in names
    at.text_input(key="w_folder").input(str(data_dir() / "tiny"))
    at.button(key="validate_folder").click().run()
    assert any("valid" in s.value for s in at.success)
    at.text_input(key="w_folder").input(str(data_dir() / "nonexistent"))
    at.button(key="validate_folder").click().run()
    assert at.error and "not a folder" in at.error[0].value
    at.text_input(key="w_folder").input("/etc")                     # outside the allowed roots: not even looked at
    at.button(key="validate_folder").click().run()
    assert at.error and "outside the folders the app may read" in at.error[0].value
