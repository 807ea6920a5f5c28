"""The expert registry, weights resolution, input preparation and the log-mel front end.

No network: the torch cache points at an empty temporary folder; downloads are
exercised with file:// URLs only.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch

from mmx_core.base.errors import MMXError
from mmx_core.data.manifest import PAPER_EXPERTS, TEMPORAL
from mmx_core.extract import audio as logmel
from mmx_core.extract.experts import (
    DEFAULT_EXPERTS, EXPERTS, AudioSampling, VideoSampling, expert_names, get_expert, parse_experts,
)
from mmx_core.extract.experts.image import ImageExpert
from mmx_core.extract.weights import WeightsFile, extraction_record, hub_checkpoint_dir, resolve_weights

torch.set_num_threads(1)
SR = 16000


@pytest.fixture(autouse=True)
def _empty_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    yield


# ---------------------------------------------------------------- registry


def test_registry_matches_the_paper_layout():
    assert expert_names() == ["image", "scene", "motion", "audio"] == list(DEFAULT_EXPERTS)
    for name, expert in EXPERTS.items():
        assert expert.name == name
        assert (expert.dim, expert.temporal) == (PAPER_EXPERTS[name].dim, PAPER_EXPERTS[name].temporal)
        assert expert.temporal in TEMPORAL
        assert expert.modality == ("audio" if name == "audio" else "video")
        assert isinstance(expert.sampling, AudioSampling if name == "audio" else VideoSampling)
    assert get_expert("motion").sampling.frames_per_clip == 16
    assert get_expert("motion").sampling.size == 112


def test_parse_experts():
    assert [e.name for e in parse_experts("audio, image,audio")] == ["audio", "image"]
    assert [e.name for e in parse_experts(None)] == list(DEFAULT_EXPERTS)
    with pytest.raises(MMXError, match=r"unknown expert 'clip'; choose from image, scene, motion, audio"):
        parse_experts("image,clip")
    with pytest.raises(MMXError, match="no expert named"):
        parse_experts(" , ")


# ---------------------------------------------------------------- weights


def test_missing_weights_name_expert_file_and_remedy(tmp_path):
    empty = tmp_path / "weights"
    empty.mkdir()
    with pytest.raises(MMXError) as err:
        resolve_weights(parse_experts("scene"), weights_dir=empty, download=False)
    message = str(err.value)
    assert "\n" not in message
    assert "expert 'scene'" in message
    assert "resnet50_places365.pth.tar" in message
    assert f"put resnet50_places365.pth.tar in {empty}" in message
    assert "--untrained" in message


def test_missing_weights_without_folder_mention_the_option():
    with pytest.raises(MMXError, match=r"expert 'motion'.*r2plus1d_18-91a641e6.pth.*--weights-dir DIR"):
        resolve_weights([get_expert("motion")], download=False)


def test_failed_download_is_the_same_one_line_error(tmp_path):
    expert = ImageExpert()
    expert.weights = WeightsFile("resnet50-0676ba61.pth", (tmp_path / "nowhere" / "x.pth").as_uri(), "test")
    with pytest.raises(MMXError, match=r"expert 'image'.*resnet50-0676ba61.pth.*download failed") as err:
        resolve_weights([expert])
    assert "\n" not in str(err.value)
    assert not (hub_checkpoint_dir() / "resnet50-0676ba61.pth").exists()


def test_weights_dir_must_be_a_folder(tmp_path):
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    with pytest.raises(MMXError, match="is not a folder"):
        resolve_weights([get_expert("audio")], weights_dir=not_a_folder)


def test_download_into_the_torch_cache_then_reuse(tmp_path):
    expert = get_expert("motion")
    published = tmp_path / "server" / expert.weights.file_name
    published.parent.mkdir()
    source = expert.create_module()
    torch.save(source.state_dict(), published)
    local = type(expert)()
    local.weights = WeightsFile(expert.weights.file_name, published.as_uri(), "test")

    resolved = resolve_weights([local])["motion"]

    assert resolved.path == hub_checkpoint_dir() / expert.weights.file_name
    assert resolved.sha256 == hashlib.sha256(published.read_bytes()).hexdigest()
    published.unlink()  # the cached copy is used from now on
    module = local.build(weights=resolve_weights([local])["motion"])
    assert torch.equal(module.state_dict()["layer4.1.conv2.0.3.weight"], source.state_dict()["layer4.1.conv2.0.3.weight"])


def test_weights_dir_comes_before_the_cache(tmp_path):
    expert = get_expert("audio")
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / expert.weights.file_name).write_bytes(b"this one")
    hub_checkpoint_dir().mkdir(parents=True)
    (hub_checkpoint_dir() / expert.weights.file_name).write_bytes(b"not this one")
    assert resolve_weights([expert], weights_dir=folder)["audio"].path == folder / expert.weights.file_name


def test_untrained_only_when_asked_and_recorded(tmp_path):
    experts = parse_experts("motion,audio")
    resolved = resolve_weights(experts, untrained=True)
    assert all(r.untrained and r.path is None and r.sha256 is None for r in resolved.values())
    record = extraction_record(experts, resolved)
    assert record["untrained"] is True
    assert record["experts"]["motion"]["weights"] == {
        "file": "r2plus1d_18-91a641e6.pth", "sha256": None,
        "url": "https://download.pytorch.org/models/r2plus1d_18-91a641e6.pth"}
    assert record["experts"]["motion"]["backbone"] == "r2plus1d_18"
    assert record["experts"]["motion"]["sampling"] == {
        "kind": "video", "frames_per_clip": 16, "fps": 15.0, "resize": 128, "size": 112,
        "mean": [0.43216, 0.394666, 0.37645], "std": [0.22803, 0.22145, 0.216989]}
    assert record["experts"]["audio"]["sampling"] == {"kind": "audio", "sample_rate": 16000, "example_seconds": 0.96}
    # build(untrained=True) reads no file; without it the same empty cache is an error
    assert get_expert("audio").build(untrained=True) is not None
    with pytest.raises(MMXError, match="expert 'audio'"):
        get_expert("audio").build(weights_dir=None)


def test_record_with_weights_carries_the_hash(tmp_path):
    expert = get_expert("audio")
    (tmp_path / expert.weights.file_name).write_bytes(b"any bytes: resolving only hashes the file")
    resolved = resolve_weights([expert], weights_dir=tmp_path)
    record = extraction_record([expert], resolved)
    digest = hashlib.sha256((tmp_path / expert.weights.file_name).read_bytes()).hexdigest()
    assert record == {"untrained": False, "experts": {"audio": {
        **expert.describe(), "untrained": False,
        "weights": {"file": "vggish-10086976.pth", "sha256": digest, "url": expert.weights.url}}}}


# ---------------------------------------------------------------- prepare / forward


def frames(t: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(t, size, size, 3), dtype=np.uint8)


def test_video_prepare_normalises_and_checks_shape():
    image = get_expert("image")
    clip = np.zeros((4, 224, 224, 3), dtype=np.uint8)
    clip[..., 0] = 255
    x = image.prepare(clip)
    assert x.shape == (4, 3, 224, 224) and x.dtype == torch.float32
    assert torch.allclose(x[:, 0], torch.tensor((1 - 0.485) / 0.229))
    assert torch.allclose(x[:, 2], torch.tensor((0 - 0.406) / 0.225))
    motion = get_expert("motion")
    y = motion.prepare(torch.from_numpy(frames(16, 112)))
    assert y.shape == (3, 16, 112, 112)
    with pytest.raises(ValueError, match="expected 112x112"):
        motion.prepare(frames(16, 128))
    with pytest.raises(ValueError, match="uint8"):
        motion.prepare(frames(16, 112).astype(np.float32))


def test_image_feature_is_the_mean_over_the_clip_frames():
    expert = get_expert("image")
    module = expert.build(untrained=True)
    clip = expert.prepare(frames(2, 224))
    pooled = expert.forward_batch(module, clip[None])  # one clip of two frames
    single = expert.forward_batch(module, clip[:, None])  # two clips of one frame
    assert pooled.shape == (1, 2048) and pooled.dtype == torch.float32
    assert not torch.allclose(single[0], single[1])
    assert torch.allclose(pooled[0], single.mean(dim=0), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", ["scene", "motion"])
def test_video_expert_dims(name):
    expert = get_expert(name)
    s = expert.sampling
    n = 1 if name == "motion" else 2
    batch = torch.stack([expert.prepare(frames(s.frames_per_clip if name == "motion" else 1, s.size, i)) for i in range(n)])
    feats = expert.forward_batch(expert.build(untrained=True), batch)
    assert feats.shape == (n, expert.dim) and feats.dtype == torch.float32
    assert torch.isfinite(feats).all()


def test_audio_expert_gives_one_128_d_frame_per_example():
    expert = get_expert("audio")
    t = np.arange(int(2.5 * SR)) / SR
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    batch = torch.cat([expert.prepare(wave), expert.prepare(wave[: SR // 2]), expert.prepare(wave[:0])])
    assert batch.shape == (3, 1, 96, 64)  # 2 + 1 + 0 examples
    feats = expert.forward_batch(expert.build(untrained=True), batch)
    assert feats.shape == (3, 128) and feats.dtype == torch.float32


# ---------------------------------------------------------------- log-mel front end


@pytest.mark.parametrize(("seconds", "expected"), [
    (0.0, 0), (0.01, 1), (0.5, 1), (0.96, 1), (1.9, 1), (1.92, 2), (2.5, 2), (10.0, 10),
])
def test_number_of_examples(seconds, expected):
    n = int(round(seconds * SR))
    examples = logmel.waveform_to_examples(np.zeros(n, dtype=np.float32))
    assert examples.shape == (expected, 1, 96, 64) == (logmel.n_examples(n), 1, 96, 64)


def test_frame_count_and_silence():
    spec = logmel.log_mel_spectrogram(np.zeros(SR, dtype=np.float32))
    assert spec.shape == (1 + (SR - 400) // 160, 64) == (98, 64)
    assert torch.allclose(spec, torch.tensor(math.log(0.01)))
    assert logmel.log_mel_spectrogram(np.zeros(399, dtype=np.float32)).shape == (0, 64)


def test_mel_filter_bank():
    bank = logmel.mel_matrix()
    assert bank.shape == (257, 64)
    assert torch.all(bank[0] == 0)  # no DC
    centres = logmel.mel_band_centres_hz()
    assert centres[0] > 125 and centres[-1] < 7500 and np.all(np.diff(centres) > 0)
    peak_hz = bank.argmax(dim=0).numpy() * (SR / 2) / 256
    assert np.all(np.abs(peak_hz - centres) <= SR / 512 + 1e-6)  # each band peaks at the FFT bin nearest its centre
    assert torch.all(bank[:, 0].sum() > 0)
    assert torch.all(bank[int(8000 / (SR / 2) * 256):, :] == 0)  # nothing above 7500 Hz


@pytest.mark.parametrize("hz", [300.0, 1000.0, 3000.0])
def test_tone_energy_lands_in_its_mel_band(hz):
    t = np.arange(2 * SR) / SR
    wave = (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    examples = logmel.waveform_to_examples(wave)
    band = int(examples.mean(dim=(0, 1, 2)).argmax())
    centres = logmel.mel_band_centres_hz()
    assert abs(band - int(np.abs(centres - hz).argmin())) <= 1
    # far bands stay near the silence floor
    assert examples[..., band].mean() > examples[..., (band + 20) % 64].mean() + 5


def test_front_end_rejects_other_rates_and_stereo():
    with pytest.raises(ValueError, match="16000 Hz"):
        logmel.waveform_to_examples(np.zeros(44100, dtype=np.float32), sample_rate=44100)
    with pytest.raises(ValueError, match="mono"):
        logmel.waveform_to_examples(np.zeros((2, SR), dtype=np.float32))


def test_an_explicit_file_for_one_expert(tmp_path):
    # The Places365 file may live anywhere under any name.
    expert = get_expert("scene")
    source = expert.create_module()
    path = tmp_path / "my_places.tar"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    resolved = resolve_weights([expert], files={"scene": path})
    assert resolved["scene"].path == path
    module = expert.build(weights=resolved["scene"])
    assert torch.equal(module.state_dict()["layer4.2.bn3.running_var"], source.state_dict()["layer4.2.bn3.running_var"])
    with pytest.raises(MMXError, match=r"expert 'scene': weights file .*nope.tar not found"):
        resolve_weights([expert], files={"scene": tmp_path / "nope.tar"})


def test_docs_table_is_generated_from_the_registry():
    from mmx_core.base import docblocks
    from mmx_core.base.paths import PROJECT_ROOT
    from mmx_core.docs.references import experts_markdown

    table = experts_markdown()
    for expert in EXPERTS.values():
        assert f"| `{expert.name}` | `{expert.weights.file_name}` | `{expert.weights.url}` |" in table
    assert "16 consecutive frames at 15 frames/s" in table and "| 128-d per example | `frames` |" in table
    blocks = docblocks.parse_blocks((PROJECT_ROOT / "docs" / "extract.md").read_text())
    assert blocks.get("experts") == table, "run `python -m mmx_core docs`"


def test_read_only_inputs_are_accepted_without_warnings(recwarn):
    clip = frames(4, 224)
    clip.flags.writeable = False
    wave = np.zeros(SR, dtype=np.float32)
    wave.flags.writeable = False
    assert get_expert("image").prepare(clip).shape == (4, 3, 224, 224)
    assert get_expert("audio").prepare(wave).shape == (1, 1, 96, 64)
    assert not [w for w in recwarn if "not writable" in str(w.message)]
