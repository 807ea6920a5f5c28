"""The tag-taught fine stage (``train --stage fine --tags FILE.csv``): the SupCon and prototype terms, its
batches, the refusals, the plain run left bit for bit as it was, the recorded tags file, and tags helping on planted data."""

from __future__ import annotations

import hashlib
import json
import math
import re

import numpy as np
import pytest
import torch

from mmx_train_toys import TINY_MODEL
from mmx_core.base.errors import MMXError
from mmx_core.cli import main
from mmx_core.data import TrailerStore, synthesize
from mmx_core.model import ModelConfig
from mmx_core.train import TrainConfig, train
from mmx_core.train.checkpoint import read_checkpoint
from mmx_core.train.config import DEFAULT_TAG_PROTOTYPE_WEIGHT, DEFAULT_TAG_WEIGHT
from mmx_core.train.losses import prototype_loss, shared_tag_mask, supervised_contrastive
from mmx_core.train.sampling import epoch_batches, tag_batches
from mmx_core.train.tags import TagTeaching, TrailerTags


# -- the loss on hand-made tensors ----------------------------------------------------------------------------

def test_known_value_on_a_tiny_case():
    # trailers 0 and 1 share tag 0 (same direction), trailer 2 has tag 1 (orthogonal), trailer 3 is untagged.
    # Anchor 0a: positives 1a, 1b (cos 1); candidates 1a, 1b, 2a, 2b (cos 1, 1, 0, 0); t = 0.5:
    # -log(e^2 / (2 e^2 + 2)) = log(2 + 2 e^-2), the same for 0b, 1a, 1b; trailer 2 has no positive.
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    groups = torch.tensor([0, 0, 1, -1])
    expected = math.log(2 + 2 * math.exp(-2))
    assert supervised_contrastive(z, z, groups, 0.5).item() == pytest.approx(expected, rel=1e-6)
    # the same as a tag matrix; the untagged trailer is neither a positive nor a negative
    matrix = torch.tensor([[1, 0], [1, 0], [0, 1], [0, 0]], dtype=torch.bool)
    assert supervised_contrastive(z, z, matrix, 0.5).item() == pytest.approx(expected, rel=1e-6)
    moved = z.clone()
    moved[3] = torch.tensor([-1.0, 0.3])
    assert supervised_contrastive(moved, moved, groups, 0.5).item() == pytest.approx(expected, rel=1e-6)


def test_positives_pull_lower_loss_when_tagged_trailers_align():
    gen = torch.Generator().manual_seed(0)
    groups = torch.tensor([0, 0, 1, 1, 2, 2, -1, -1])
    centres = torch.randn(3, 16, generator=gen)
    aligned = torch.cat([centres[g.clamp(min=0)][None] for g in groups]) + 0.05 * torch.randn(8, 16, generator=gen)
    scattered = torch.randn(8, 16, generator=gen)
    assert supervised_contrastive(aligned, aligned, groups) < supervised_contrastive(scattered, scattered, groups)
    # a gradient step on the loss pulls the two trailers of tag 0 together
    z = scattered.clone().requires_grad_(True)
    before = torch.nn.functional.cosine_similarity(z[0], z[1], dim=0).item()
    supervised_contrastive(z, z, groups, 0.1).backward()
    with torch.no_grad():
        stepped = z - 0.5 * z.grad
    assert torch.nn.functional.cosine_similarity(stepped[0], stepped[1], dim=0).item() > before


def test_no_positive_in_the_batch_gives_a_zero_that_keeps_the_graph():
    z_a = torch.randn(4, 3, requires_grad=True)
    z_b = torch.randn(4, 3, requires_grad=True)
    for tags in (torch.tensor([0, 1, 2, -1]), torch.tensor([-1, -1, -1, -1]), torch.zeros(4, 5, dtype=torch.bool)):
        loss = supervised_contrastive(z_a, z_b, tags)
        assert loss.item() == 0.0 and loss.requires_grad
        loss.backward()
        assert torch.count_nonzero(z_a.grad) == 0


def test_gradient_flows_in_float32_from_half_inputs():
    gen = torch.Generator().manual_seed(1)
    z_a = torch.randn(6, 8, generator=gen).half().requires_grad_(True)
    z_b = torch.randn(6, 8, generator=gen).half().requires_grad_(True)
    loss = supervised_contrastive(z_a, z_b, torch.tensor([0, 0, 1, 1, -1, 2]))
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(z_a.grad.float()).all() and z_a.grad.abs().sum() > 0 and z_b.grad.abs().sum() > 0
    assert z_a.grad[4].abs().sum() == 0 and z_b.grad[4].abs().sum() == 0  # an untagged trailer: not in the term


def test_shared_tag_mask_of_many_tags_per_trailer():
    matrix = torch.tensor([[1, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=torch.bool)
    shared, tagged = shared_tag_mask(matrix)
    assert shared.tolist() == [[False, True, False, False], [True, False, False, False],
                               [False, False, False, False], [False, False, False, False]]
    assert tagged.tolist() == [True, True, True, False]
    with pytest.raises(ValueError, match="shape"):
        supervised_contrastive(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(2, dtype=torch.long))


def _memory(unit, tags):
    return tags.float().t() @ unit, tags.float().sum(dim=0)


def test_prototype_loss_known_value_leaves_the_row_out():
    # trailers 0 and 1 carry tag 0 (vector e0), trailer 2 tag 1 (e1), trailer 3 none. Row 0's prototype of tag 0
    # is trailer 1 alone (itself left out), that of tag 1 is e1: -log(e^2 / (e^2 + e^0)) at t = 0.5, the same for
    # row 1; row 2's tag has no other member and row 3 no tag: neither counts.
    unit = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    tags = torch.tensor([[1, 0], [1, 0], [0, 1], [0, 0]], dtype=torch.bool)
    sums, counts = _memory(unit[:3], tags[:3])
    expected = math.log(1 + math.exp(-2))
    assert prototype_loss(unit, tags, sums, counts, unit, 0.5).item() == pytest.approx(expected, rel=1e-6)
    # without leaving the row out its own vector would pull it: a trailer alone in its tag would score 0 loss
    moved = unit.clone()
    moved[0] = torch.tensor([0.0, 1.0])  # row 0 now points at tag 1's prototype: a larger loss for it
    assert prototype_loss(moved, tags, sums, counts, unit, 0.5).item() > expected


def test_prototype_loss_pulls_towards_the_own_tag_and_keeps_the_graph_when_empty():
    gen = torch.Generator().manual_seed(2)
    unit = torch.nn.functional.normalize(torch.randn(6, 8, generator=gen), dim=1)
    tags = torch.tensor([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=torch.bool)
    sums, counts = _memory(unit, tags)
    h = unit.clone().requires_grad_(True)
    loss = prototype_loss(h, tags, sums, counts, unit, 0.1)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(h.grad).all()
    assert h.grad[4:].abs().sum() == 0  # tag 2 has no other member, trailer 5 no tag
    with torch.no_grad():
        stepped = h - 0.05 * h.grad
    assert prototype_loss(stepped, tags, sums, counts, unit, 0.1) < loss
    none = prototype_loss(h, torch.zeros(6, 3, dtype=torch.bool), sums, counts, unit)
    assert none.item() == 0.0 and none.requires_grad


def test_tag_teaching_refresh_builds_the_prototypes_of_the_tagged_training_trailers():
    class Embed(torch.nn.Module):  # the mean of a trailer's sequences' features
        def forward(self, batch, head):
            assert head == "embed"
            return torch.stack([batch["features"][i, :n].mean(dim=0) for i, n in enumerate(batch["lengths"])])

    vectors = {0: [3.0, 0.0], 1: [0.0, 2.0], 2: [1.0, 1.0], 4: [0.0, 5.0]}
    matrix = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, 0]], dtype=bool)  # row 3 is not a training trailer
    tags = TrailerTags("t.csv", "0" * 64, ("a", "b"), matrix, np.array([0, 1, 2, 4]))
    teaching = TagTeaching(tags, 0.25, 1.0)

    def batches(store, rows, batch_size, device, buffers=None):
        assert rows.tolist() == [0, 1, 2]  # tagged training trailers only
        yield {"batch": {"features": torch.tensor([[vectors[r]] for r in rows]), "lengths": [1, 1, 1]}}

    import mmx_core.train.tags as tags_module

    original, tags_module.inference_batches = tags_module.inference_batches, batches
    try:
        teaching.refresh(Embed(), None, 8, torch.device("cpu"))
    finally:
        tags_module.inference_batches = original
    unit, sums, counts = teaching.memory_
    assert unit[0].tolist() == [1.0, 0.0] and unit[1].tolist() == [0.0, 1.0] and unit[4].tolist() == [0.0, 0.0]
    assert sums.flatten().tolist() == pytest.approx([1.0, 1.0, 2 ** -0.5, 2 ** -0.5])
    assert counts.tolist() == [2.0, 1.0]
    assert teaching.rows(np.array([3, 0])).tolist() == [[False, False], [True, False]]  # positions of train_rows
    assert TagTeaching(tags, 0.25, 0.0).refresh(Embed(), None, 8, torch.device("cpu")) is None  # term off


# -- batches holding trailers that share a tag ---------------------------------------------------------------

def test_tag_batches_keep_sizes_hold_shared_tags_and_repeat():
    plain = epoch_batches(200, 32, 1, seed=3, epoch=2)
    groups = [np.array([5, 17, 40, 90]), np.array([7, 8]), np.array([150])]
    batches = tag_batches(plain, groups, seed=3, epoch=2)
    assert [len(b) for b in batches] == [len(b) for b in plain]
    for batch in batches:
        assert len(set(batch.tolist())) == len(batch)  # no trailer twice in a batch
        assert sum(len(set(batch.tolist()) & set(g.tolist())) >= 2 for g in groups[:2]) >= 1
    again = tag_batches(epoch_batches(200, 32, 1, seed=3, epoch=2), groups, seed=3, epoch=2)
    assert all((a == b).all() for a, b in zip(batches, again))
    assert tag_batches(plain, [np.array([4])], seed=3, epoch=2) is plain  # nothing to group


# -- the CLI and the run folder -------------------------------------------------------------------------------

def _tags_csv(path, rows, header="id,tag"):
    path.write_text(header + "\n" + "".join(f"{a},{b}\n" for a, b in rows))
    return path


@pytest.fixture(scope="module")
def coarse(tiny_data, tmp_path_factory):
    model = ModelConfig.for_store(TrailerStore.open(tiny_data).manifest, **TINY_MODEL)
    return train(TrainConfig(stage="coarse", data=tiny_data, out=tmp_path_factory.mktemp("tags") / "coarse",
                             epochs=1, batch_size=16, model=model, device="cpu"))


def _train_ids(data, count=None):
    store = TrailerStore.open(data)
    ids = store.trailers["id"].astype(str).to_numpy()[store.split_indices("train")]
    return list(ids[:count])


def _fine_args(data, coarse, out, *extra):
    return ["train", "--stage", "fine", "--data", str(data), "--init", str(coarse), "--out", str(out),
            "--epochs", "2", "--batch-size", "16", "--device", "cpu", *extra]


@pytest.mark.parametrize("case", ["unknown ids", "no shared tag", "coarse stage", "bad line"])
def test_refusals_exit_2_with_one_error_line_and_no_run_folder(case, tiny_data, coarse, tmp_path, capsys):
    ids = _train_ids(tiny_data, 6)
    out = tmp_path / "run"
    if case == "unknown ids":
        tags = _tags_csv(tmp_path / "t.csv", [(ids[0], "x"), (ids[1], "x"), ("nope-1", "x"), ("nope-2", "y")])
        argv, match = _fine_args(tiny_data, coarse, out, "--tags", str(tags)), r"2 id\(s\) .*'nope-1', 'nope-2'"
    elif case == "no shared tag":
        tags = _tags_csv(tmp_path / "t.csv", [(ids[0], "a"), (ids[1], "b"), (ids[2], "c")])
        argv, match = _fine_args(tiny_data, coarse, out, "--tags", str(tags)), "no two training trailers share a tag"
    elif case == "coarse stage":
        tags = _tags_csv(tmp_path / "t.csv", [(ids[0], "a"), (ids[1], "a")])
        argv = ["train", "--stage", "coarse", "--data", str(tiny_data), "--out", str(out), "--tags", str(tags)]
        match = "fine stage only"
    else:  # read_tags refuses a malformed file, naming its first bad line
        tags = _tags_csv(tmp_path / "t.csv", [(ids[0], "a"), (ids[1], "a,extra,cells,too,many,here")])
        argv, match = _fine_args(tiny_data, coarse, out, "--tags", str(tags)), "line 3"
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err
    assert re.search(match, err[0]), err[0]
    assert not out.exists()


def test_train_config_checks_the_tag_options(tiny_data, tmp_path):
    for weight in (0, -1.0, float("nan"), float("inf"), True):
        with pytest.raises(MMXError, match="tag_weight=.*: must be a finite number > 0"):
            TrainConfig(stage="fine", data=tiny_data, out=tmp_path / "r", tag_weight=weight).validate()
    with pytest.raises(MMXError, match="fine stage only"):
        TrainConfig(stage="coarse", data=tiny_data, out=tmp_path / "r", tags=tmp_path / "t.csv").validate()
    assert TrainConfig().tag_weight == DEFAULT_TAG_WEIGHT > 0
    for weight in (-0.5, float("nan"), float("inf"), True, "1"):
        with pytest.raises(MMXError, match="tag_prototype_weight=.*: must be a finite number >= 0"):
            TrainConfig(stage="fine", data=tiny_data, out=tmp_path / "r", tag_prototype_weight=weight).validate()
    TrainConfig(stage="fine", data=tiny_data, out=tmp_path / "r", tag_prototype_weight=0).validate()  # term off
    assert TrainConfig().tag_prototype_weight == DEFAULT_TAG_PROTOTYPE_WEIGHT > 0


def _events(run):
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    return [{k: v for k, v in e.items() if k not in ("time", "trailers_per_s", "eta_s")} for e in events]


def test_no_tags_is_the_plain_fine_stage_bit_for_bit(tiny_data, coarse, tmp_path, monkeypatch):
    assert main(_fine_args(tiny_data, coarse, tmp_path / "plain")) == 0
    import mmx_core.train.build as build
    import mmx_core.train.loop as loop

    def untouched(*args, **kwargs):
        raise AssertionError("tag code ran in a run without tags")

    for module, name in ((loop, "load_trailer_tags"), (loop, "TagTeaching"), (build, "check_resume_tags")):
        monkeypatch.setattr(module, name, untouched)
    train(TrainConfig(stage="fine", data=tiny_data, init=coarse, out=tmp_path / "again", epochs=2, batch_size=16,
                      device="cpu", tag_weight=3.0))
    a, b = (read_checkpoint(tmp_path / name / "checkpoints" / "last.pt") for name in ("plain", "again"))
    assert a["model"].keys() == b["model"].keys()
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert "tags" not in a and "tags" not in json.loads((tmp_path / "plain" / "config.json").read_text())
    assert _events(tmp_path / "plain") == _events(tmp_path / "again")


def test_a_tagged_run_records_the_file_and_trains(tiny_data, coarse, tmp_path):
    ids = _train_ids(tiny_data)
    tags = _tags_csv(tmp_path / "tags.csv", [(i, f"group-{k % 3}") for k, i in enumerate(ids[:12])]
                     + [(ids[0], "also")], header="id,tag,kind,note,colour,title")
    assert main(_fine_args(tiny_data, coarse, tmp_path / "run", "--tags", str(tags), "--tag-weight", "0.5")) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["train"]["tags"] == str(tags) and config["train"]["tag_weight"] == 0.5
    assert config["train"]["tag_prototype_weight"] == DEFAULT_TAG_PROTOTYPE_WEIGHT
    record = config["tags"]
    assert record["sha256"] == hashlib.sha256(tags.read_bytes()).hexdigest()
    assert record["trailers_tagged"] == record["train_trailers_tagged"] == 12 and record["tags"] == 4
    assert record["tags_shared_in_train"] == 3
    assert read_checkpoint(tmp_path / "run")["tags"] == record
    plain = tmp_path / "plain"
    assert main(_fine_args(tiny_data, coarse, plain)) == 0
    a, b = (read_checkpoint(p / "checkpoints" / "last.pt")["model"] for p in (tmp_path / "run", plain))
    assert any(not torch.equal(a[k], b[k]) for k in a)  # the tags changed what was learnt
    # a resume must use the same tags
    assert main(_fine_args(tiny_data, coarse, tmp_path / "run", "--resume", "--epochs", "3")) == 2


def test_train_request_passes_tags_to_the_command(tmp_path, monkeypatch):
    from mmx_core.jobs.kinds import TrainRequest

    monkeypatch.setenv("MMX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MMX_DATA_ROOTS", raising=False)
    (tmp_path / "data" / "set").mkdir(parents=True)
    (tmp_path / "data" / "set" / "manifest.json").write_text("{}")
    tags = _tags_csv(tmp_path / "data" / "tags.csv", [("a", "x"), ("b", "x")])
    monkeypatch.setenv("MMX_RUNS_DIR", str(tmp_path / "runs"))
    request = TrainRequest("fine", "set", tags=str(tags), device="cpu", name="r").validate()
    argv = request.command(tmp_path / "runs" / "r")
    assert argv[argv.index("--tags") + 1] == str(tags.resolve())
    with pytest.raises(MMXError, match="fine stage only"):
        TrainRequest("coarse", "set", tags=str(tags), device="cpu").validate()
    outside = _tags_csv(tmp_path / "elsewhere.csv", [("a", "x")])
    with pytest.raises(MMXError, match="outside the folders"):
        TrainRequest("fine", "set", tags=str(outside), device="cpu").validate()


# -- tags help on planted data --------------------------------------------------------------------------------

PLANTED = dict(latent="planted", dims={"image": 32, "scene": 32, "motion": 16, "audio": 8}, latent_dim=16,
               subgenres_per_genre=2, style_strength=0.0, subgenre_strength=1.5)
SMALL_MODEL = dict(shared_dim=16, sequence_dim=32, bottleneck_dim=32, gating_hidden=16, head_hidden=32,
                   projection_dim=16, vlad_clusters=4, train_sequences=3)
DATA_SEED = 1
TAG_MARGIN = 0.03


def test_tags_help_on_planted_data(tmp_path):
    """1,000 planted trailers (the configuration of test_learning.py), 10 % of each sub-genre's training
    trailers tagged; the margin is set below the gains ``python -m benchmarks tags`` measured (docs/benchmarks.md)."""
    from mmx_core.studies.tag_teaching import run_tag_experiment

    data = synthesize(tmp_path / "planted", n_trailers=1000, seed=DATA_SEED, **PLANTED)
    model = ModelConfig.for_store(TrailerStore.open(data).manifest, **SMALL_MODEL)
    coarse = train(TrainConfig(stage="coarse", data=data, out=tmp_path / "coarse", epochs=8, batch_size=16,
                               lr=3e-3, patience=0, seed=0, device="cpu", model=model))
    experiment = run_tag_experiment(data, coarse, tmp_path / "tags", seed=0, epochs=10, batch_size=64)
    assert experiment.plain["all"] > 3 * experiment.plain["chance"]  # a working plain embedding is compared
    assert experiment.difference >= TAG_MARGIN, experiment.to_dict()
