"""Unit tests of each model module on toy tensors."""

from __future__ import annotations

import pytest
import torch

from mmx_core.base.errors import MMXError
from mmx_core.model import (ClipEncoder, CollaborativeGating, ExpertProjection, GatedEmbeddingUnit, MaskedMeanPool,
                            MLPHead, MMXEncoder, MMXModel, ModelConfig, NetVLAD)

from mmx_model_toys import toy_batch, toy_config


def test_masked_mean_pool_ignores_padding():
    x = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[5.0, 5.0], [9.0, 9.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    out = MaskedMeanPool()(x, mask)
    assert torch.allclose(out, torch.tensor([[2.0, 3.0], [0.0, 0.0]]))


def test_netvlad_shape_norm_and_mask():
    torch.manual_seed(0)
    vlad = NetVLAD(dim=4, n_clusters=3, n_ghost=2)
    assert "n_ghost=2" in repr(vlad)
    x = torch.randn(5, 6, 4)
    mask = torch.ones(5, 6, dtype=torch.bool)
    mask[1, 3:] = False
    mask[2] = False
    out = vlad(x, mask)
    assert out.shape == (5, 12) and vlad.output_dim == 12
    norms = out.norm(dim=1)
    assert torch.allclose(norms[[0, 1, 3, 4]], torch.ones(4), atol=1e-5)
    assert norms[2] == 0  # a clip without frames gives zeros
    # intra-normalisation: each centre's block has norm 1/sqrt(K) after the global L2
    blocks = out[0].reshape(3, 4).norm(dim=1)
    assert torch.allclose(blocks, torch.full((3,), 3 ** -0.5), atol=1e-5)
    # padded frames do not matter
    x2 = x.clone()
    x2[1, 3:] = 1e3
    assert torch.allclose(vlad(x2, mask)[1], out[1])


def test_netvlad_ghost_clusters_are_dropped_from_output():
    vlad = NetVLAD(dim=4, n_clusters=2, n_ghost=3)
    assert vlad.assignment.out_features == 5
    assert vlad(torch.randn(2, 3, 4), torch.ones(2, 3, dtype=torch.bool)).shape == (2, 8)


def test_gem_output_unit_norm_and_repr():
    gem = GatedEmbeddingUnit(6, 4)
    out = gem(torch.randn(2, 3, 6))
    assert out.shape == (2, 3, 4)
    assert torch.allclose(out.norm(dim=-1), torch.ones(2, 3), atol=1e-5)
    assert "in_dim=6, out_dim=4" in repr(gem)


def test_expert_projection_stacks_in_order():
    torch.manual_seed(0)
    proj = ExpertProjection({"b": 5, "a": 3}, 4)  # the dict order, not the names' order, is the output order
    inputs = {"a": torch.randn(7, 3), "b": torch.randn(7, 5)}
    out = proj(inputs)
    assert out.shape == (7, 2, 4)
    assert torch.equal(out[:, 0], proj.linears["b"](inputs["b"]))  # slot i = expert i's own linear map
    assert torch.equal(out[:, 1], proj.linears["a"](inputs["a"]))
    swapped = ExpertProjection({"a": 3, "b": 5}, 4)
    swapped.load_state_dict(proj.state_dict())
    assert torch.equal(swapped(inputs), out.flip(1))


def _pair_sum_reference(gating: CollaborativeGating, x: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
    """Direct form: sum over available j != i of g([x_i; x_j]) with g = Linear-ReLU-Linear."""
    n, e, _ = x.shape
    out = torch.zeros(n, e, gating.hidden)
    for b in range(n):
        for i in range(e):
            for j in range(e):
                if i != j and available[b, i] and available[b, j]:
                    pair = torch.cat([x[b, i], x[b, j]])
                    hidden = torch.relu(gating.g_in_weight @ pair + gating.g_in_bias)
                    out[b, i] += gating.g_out(hidden)
    return out


def test_collaborative_gating_matches_direct_pairwise_form():
    torch.manual_seed(0)
    gating = CollaborativeGating(n_experts=4, dim=5, hidden=7)
    x = torch.randn(3, 4, 5)
    available = torch.tensor([[True, True, True, True], [True, False, True, True], [False, False, True, False]])
    assert torch.allclose(gating.pair_sum(x, available), _pair_sum_reference(gating, x, available), atol=1e-5)
    assert gating(x, available).shape == (3, 4, 5)


def test_missing_expert_changes_nothing_but_its_exclusion():
    torch.manual_seed(0)
    gating = CollaborativeGating(n_experts=3, dim=4, hidden=6)
    x = torch.randn(2, 3, 4)
    available = torch.tensor([[True, False, True], [True, True, True]])
    out = gating(x, available)
    garbage = x.clone()
    garbage[0, 1] = torch.randn(4) * 100  # the missing expert's values must not leak
    assert torch.allclose(gating(garbage, available)[0, [0, 2]], out[0, [0, 2]])
    # expert 0 with expert 1 missing sees exactly the pair (0, 2): same as a 2-expert sum
    reference = _pair_sum_reference(gating, x, available)
    assert torch.allclose(gating.pair_sum(x, available)[0], reference[0], atol=1e-5)
    # and differs from the all-available case (the exclusion does something)
    assert not torch.allclose(gating(x, torch.ones(2, 3, dtype=torch.bool))[0, 0], out[0, 0])


@pytest.mark.parametrize("fusion", ["collaborative", "gem", "concat"])
def test_clip_encoder_fusions_zero_missing_experts(fusion):
    torch.manual_seed(0)
    config = toy_config(fusion=fusion)
    encoder = ClipEncoder(config)
    batch = toy_batch()
    feats = {n: batch["features"][n].flatten(0, 2) for n in config.experts}
    masks = {n: batch["frame_mask"][n].flatten(0, 2) for n in config.experts}
    out = encoder(feats, masks)
    assert out.shape == (feats["image"].shape[0], 4 * config.shared_dim)
    motion = slice(2 * config.shared_dim, 3 * config.shared_dim)
    missing_row = 1  # batch 0, sequence 0, clip 1 lost motion
    assert torch.all(out[missing_row, motion] == 0)
    assert out[0, motion].abs().sum() > 0
    assert (encoder.gating is not None) == (fusion == "collaborative")
    assert (encoder.gems is not None) == (fusion != "concat")


def test_encoder_shapes_and_padding_invariance():
    torch.manual_seed(0)
    config = toy_config()
    model = MMXModel(config).eval()
    batch = toy_batch()
    out = model.encoder(batch)
    assert out["sequences"].shape == (3, 4, 16) and out["trailer"].shape == (3, 12)
    assert torch.all(out["sequences"][2, -1] == 0)
    assert model.logits(batch).shape == (3, 5) and model.project(batch).shape == (3, 6)
    # values in padded clips / sequences do not change anything
    noisy = {**batch, "features": {n: v.clone() for n, v in batch["features"].items()}}
    noisy["features"]["image"][2, -1] = 50.0
    noisy["features"]["image"][1, 0, -1] = 50.0
    assert torch.allclose(model.embed(noisy), model.embed(batch), atol=1e-6)
    # a trailer alone gives the same embedding as inside a padded batch
    alone = {k: ({n: t[2:3, :3] for n, t in v.items()} if isinstance(v, dict) else v[2:3, :3]) for k, v in batch.items()}
    assert torch.allclose(model.embed(alone)[0], model.embed(batch)[2], atol=1e-5)


def test_mlp_plus_mean_sequence_encoder_adds_the_mean_of_valid_clips():
    torch.manual_seed(0)
    paper = MMXModel(toy_config()).eval()
    assert paper.encoder.clip_mean is None and "sequence_encoder='mlp'" in repr(paper.encoder)
    torch.manual_seed(0)
    model = MMXModel(toy_config(sequence_encoder="mlp+mean")).eval()
    batch = toy_batch()
    # with the MLP path switched off, a sequence is exactly the linear map of the mean of its *valid* clips
    with torch.no_grad():
        model.encoder.sequence_mlp[-1].weight.zero_()
        model.encoder.sequence_mlp[-1].bias.zero_()
    clips = model.encoder.encode_clips(batch)
    sequences = model.encoder(batch)["sequences"]
    short = clips[1, 0, :2].mean(0)  # trailer 1, sequence 0 has 2 of 3 clips
    assert torch.allclose(sequences[1, 0], model.encoder.clip_mean(short), atol=1e-5)
    assert torch.allclose(sequences[0, 1], model.encoder.clip_mean(clips[0, 1].mean(0)), atol=1e-5)
    assert torch.all(sequences[2, -1] == 0)  # padded sequences stay zero
    # padding still changes nothing, and the output differs from the paper's path
    noisy = {**batch, "features": {n: v.clone() for n, v in batch["features"].items()}}
    noisy["features"]["image"][1, 0, -1] = 50.0
    assert torch.allclose(model.embed(noisy), model.embed(batch), atol=1e-6)
    assert ModelConfig.from_dict(model.config.to_dict()).sequence_encoder == "mlp+mean"


def test_gem_scale_sqrt_dim_scales_every_available_expert_and_keeps_directions():
    batch = toy_batch()
    feats = {n: v[0, 0] for n, v in batch["features"].items()}  # 3 clips of trailer 0; motion missing in clip 1
    masks = {n: v[0, 0] for n, v in batch["frame_mask"].items()}
    out = {}
    for scale in ("unit", "sqrt_dim"):
        torch.manual_seed(0)
        encoder = ClipEncoder(toy_config(gem_scale=scale)).eval()
        out[scale] = encoder(feats, masks).reshape(3, 4, -1)
    d = toy_config().shared_dim
    norms = out["sqrt_dim"].norm(dim=-1)
    assert torch.allclose(norms[0], torch.full((4,), d ** 0.5), atol=1e-4)
    assert norms[1, 2] == 0  # a missing expert stays zero
    assert torch.allclose(out["sqrt_dim"], out["unit"] * d ** 0.5, atol=1e-5)  # same directions
    assert "scale=" in repr(ClipEncoder(toy_config(gem_scale="sqrt_dim")))
    assert ModelConfig.from_dict(toy_config(gem_scale="sqrt_dim").to_dict()).gem_scale == "sqrt_dim"


def test_single_expert_ablation_reads_only_that_expert():
    config = toy_config(experts=("image",))
    model = MMXModel(config).eval()
    batch = toy_batch()
    other = {**batch, "features": {**batch["features"], "audio": batch["features"]["audio"] * 7}}
    assert torch.allclose(model.logits(other), model.logits(batch))
    assert model.encoder.clip_encoder.output_dim == config.shared_dim


def test_encoder_is_injectable():
    class Fixed(torch.nn.Module):
        def forward(self, batch):
            return {"trailer": torch.ones(batch["sequence_mask"].shape[0], 12)}

    fixed = Fixed()
    model = MMXModel(toy_config(), encoder=fixed).eval()
    batch = toy_batch()
    assert model.encoder is fixed and not any(isinstance(m, MMXEncoder) for m in model.modules())
    assert torch.equal(model.embed(batch), torch.ones(3, 12))  # the injected encoder's output is the embedding
    assert torch.equal(model.logits(batch), model.coarse_head(torch.ones(3, 12)))  # and feeds both heads
    assert torch.equal(model.project(batch), model.projection_head(torch.ones(3, 12)))


def test_mlp_head_and_repr():
    head = MLPHead(4, 8, 3, dropout=0.2)
    assert head(torch.randn(2, 4)).shape == (2, 3)
    assert "hidden=8" in repr(head)


@pytest.mark.parametrize("field,value,match", [
    ("fusion", "attention", "fusion='attention'"),
    ("experts", (), "empty"),
    ("experts", ("image", "smell"), "smell"),
    ("shared_dim", 0, "shared_dim=0"),
    ("dropout", 1.5, "dropout=1.5"),
    ("sequence_encoder", "lstm", "sequence_encoder='lstm'"),
    ("gem_scale", "learned", "gem_scale='learned'"),
])
def test_config_errors(field, value, match):
    with pytest.raises(MMXError, match=match):
        toy_config(**{field: value}).validate()


def test_config_round_trip():
    config = toy_config(fusion="gem", experts=("image", "audio"))
    again = ModelConfig.from_dict(config.to_dict())
    assert again == config
    with pytest.raises(MMXError, match="unknown model config"):
        ModelConfig.from_dict({**config.to_dict(), "colour": 1})
    assert MMXEncoder(config).config.experts == ("image", "audio")
