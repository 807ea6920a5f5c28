"""Backbones load state dicts in the published layouts strictly, and give the right dims.

No network, no pre-trained weights: each published file is imitated by saving
our own randomly initialised module in that file's layout and name.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch

from mmx_core.base.errors import MMXError
from mmx_core.extract.backbones import R2Plus1D18, ResNet50, VGGish
from mmx_core.extract.experts import get_expert

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _empty_torch_home(tmp_path, monkeypatch):
    """A torch hub cache that holds nothing, so no test can find real weights."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    yield


def published_layout(name: str, module: torch.nn.Module) -> object:
    """What the published file for expert ``name`` holds, built from ``module``."""
    state = module.state_dict()
    if name == "scene":
        # CSAIL checkpoint: dict wrapper, DataParallel prefix, and (saved by a 2017 torch)
        # no BatchNorm ``num_batches_tracked`` entries.
        return {"epoch": 90, "arch": "resnet50", "best_prec1": 54.65,
                "state_dict": {f"module.{k}": v for k, v in state.items() if not k.endswith("num_batches_tracked")}}
    return state


@pytest.fixture(scope="module")
def nets():
    return {"resnet50": ResNet50(1000), "r2plus1d_18": R2Plus1D18(400), "vggish": VGGish()}


def test_parameter_counts_match_the_published_networks(nets):
    # Published sizes: torchvision ResNet-50 25,557,032; R(2+1)D-18 31,505,325; VGGish 72,141,184.
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(nets["resnet50"]) == 25_557_032
    assert count(nets["r2plus1d_18"]) == 31_505_325
    assert count(nets["vggish"]) == 72_141_184


def test_published_key_names(nets):
    keys = set(nets["resnet50"].state_dict())
    assert {"conv1.weight", "bn1.running_mean", "layer1.0.downsample.0.weight", "layer1.0.downsample.1.weight",
            "layer4.2.conv3.weight", "layer4.2.bn3.num_batches_tracked", "fc.weight", "fc.bias"} <= keys
    keys = set(nets["r2plus1d_18"].state_dict())
    assert {"stem.0.weight", "stem.1.weight", "stem.3.weight", "stem.4.running_var",
            "layer1.0.conv1.0.0.weight", "layer1.0.conv1.0.1.weight", "layer1.0.conv1.0.3.weight",
            "layer1.0.conv1.1.weight", "layer2.0.conv2.0.3.weight", "layer2.0.downsample.0.weight",
            "layer4.1.conv2.1.bias", "fc.weight"} <= keys
    assert "layer1.0.downsample.0.weight" not in keys
    keys = set(nets["vggish"].state_dict())
    assert keys == {f"features.{i}.{p}" for i in (0, 3, 6, 8, 11, 13) for p in ("weight", "bias")} | {
        f"embeddings.{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")}
    assert nets["r2plus1d_18"].state_dict()["layer1.0.conv1.0.0.weight"].shape == (144, 64, 1, 3, 3)
    assert nets["vggish"].state_dict()["embeddings.0.weight"].shape == (4096, 12288)


@pytest.mark.parametrize("name", ["image", "scene", "motion", "audio"])
def test_published_layout_loads_strictly_through_the_real_loader(name, tmp_path):
    expert = get_expert(name)
    source = expert.create_module()
    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    torch.save(published_layout(name, source), weights_dir / expert.weights.file_name)

    module = expert.build(weights_dir=weights_dir, device="cpu")

    assert not module.training
    loaded, original = module.state_dict(), source.state_dict()
    assert loaded.keys() == original.keys()
    for key in original:
        assert torch.equal(loaded[key], original[key]), key


def test_scene_accepts_a_bare_state_dict_too(tmp_path):
    expert = get_expert("scene")
    source = expert.create_module()
    torch.save(source.state_dict(), tmp_path / expert.weights.file_name)
    module = expert.build(weights_dir=tmp_path)
    assert torch.equal(module.state_dict()["fc.weight"], source.state_dict()["fc.weight"])


def test_missing_or_unexpected_keys_are_a_one_line_error(tmp_path):
    expert = get_expert("image")
    state = expert.create_module().state_dict()
    del state["layer3.1.conv2.weight"]
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / expert.weights.file_name)
    with pytest.raises(MMXError, match=r"not the published resnet50-0676ba61.pth layout for expert 'image'") as err:
        expert.build(weights_dir=tmp_path)
    assert "\n" not in str(err.value)
    assert "layer3.1.conv2.weight" in str(err.value) or "extra.weight" in str(err.value)


def test_wrong_class_count_is_rejected(tmp_path):
    # An ImageNet file offered as the Places365 file: fc has 1000 outputs, not 365.
    expert = get_expert("scene")
    torch.save(ResNet50(1000).state_dict(), tmp_path / expert.weights.file_name)
    with pytest.raises(MMXError, match="expert 'scene'"):
        expert.build(weights_dir=tmp_path)


def test_pickled_objects_are_refused(tmp_path):
    expert = get_expert("audio")

    # Any object that is not tensors and plain containers must not be unpickled.
    torch.save({"obj": Fraction(1, 3)}, tmp_path / expert.weights.file_name)
    with pytest.raises(MMXError, match=r"weights-only state-dict file \(UnpicklingError: holds fractions.Fraction\)"):
        expert.build(weights_dir=tmp_path)


@pytest.mark.parametrize(("make", "shape", "dim"), [
    (lambda: ResNet50(1000), (2, 3, 64, 64), 2048),
    (lambda: ResNet50(365), (1, 3, 96, 80), 2048),
    (lambda: R2Plus1D18(400), (1, 3, 8, 64, 64), 512),
    (VGGish, (3, 1, 96, 64), 128),
], ids=["resnet50", "resnet50-places", "r2plus1d_18", "vggish"])
def test_feature_dims(make, shape, dim):
    module = make().eval()
    with torch.inference_mode():
        feats = module.forward_features(torch.randn(shape)) if hasattr(module, "forward_features") else module(torch.randn(shape))
    assert feats.shape == (shape[0], dim)
    assert torch.isfinite(feats).all()


def test_vggish_flattens_time_frequency_channel():
    # The port feeds the first fully connected layer in (time, frequency, channel)
    # order: flat index t*4*512 + f*512 + c reads conv output (channel c, time t, freq f).
    torch.manual_seed(0)
    net = VGGish().eval()
    x = torch.randn(1, 1, 96, 64)
    with torch.inference_mode():
        conv = net.features(x)[0]  # (512, 6, 4), non-negative after ReLU and pooling
    cells = torch.nonzero(conv > 0)
    chosen = [cells[0], cells[len(cells) // 2], cells[-1]]
    for c, t, f in (cell.tolist() for cell in chosen):
        with torch.no_grad():
            for layer in (net.embeddings[0], net.embeddings[2], net.embeddings[4]):
                layer.weight.zero_()
                layer.bias.zero_()
            net.embeddings[0].weight[0, t * 4 * 512 + f * 512 + c] = 1.0
            net.embeddings[2].weight[0, 0] = 1.0
            net.embeddings[4].weight[0, 0] = 1.0
        with torch.inference_mode():
            out = net(x)
        assert torch.allclose(out[0, 0], conv[c, t, f]), (c, t, f)
