"""Property-based fuzzing of every loader: arbitrary bytes or a mutated valid file either load or raise
:class:`MMXError` with a one-line message naming the file; never another exception, never a hang.

The example counts and the per-example deadline come from ``testing/reliability_cases.py``
(docs/reliability.md shows them); hypothesis keeps no example database on disk.
"""

from __future__ import annotations

import io
import pickle
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testing.reliability_cases import FUZZ_DEADLINE_SECONDS, FUZZ_EXAMPLES
from mmx_core.appkit import uploads
from mmx_core.trailers.embeddings import load_embeddings, save_embeddings
from mmx_core.base.errors import MMXError
from mmx_core.base.safeio import load_npy
from mmx_core.data import TrailerStore, validate_dataset
from mmx_core.data.importer.meta import parse_meta, read_meta
from mmx_core.data.manifest import read_manifest

pytestmark = pytest.mark.timeout(300)


def fuzz(key: str):
    return settings(max_examples=FUZZ_EXAMPLES[key], deadline=timedelta(seconds=FUZZ_DEADLINE_SECONDS),
                    database=None, derandomize=True, suppress_health_check=list(HealthCheck), print_blob=False)


@st.composite
def hostile(draw, valid: bytes):
    """Arbitrary bytes, or ``valid`` with a few bytes changed, a slice cut out or its end cut off."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=4096))
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "cut", "truncate", "insert"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
    return bytes(data)


def loads_or_names(path: Path, call) -> None:
    """``call()`` returns, or raises MMXError whose one-line message names ``path``."""
    try:
        call()
    except MMXError as exc:
        text = str(exc)
        assert "\n" not in text and "\r" not in text, text
        assert path.name in text, text


# -- valid files to start from -------------------------------------------------------------------

@pytest.fixture(scope="module")
def base_set(tmp_path_factory):
    from mmx_core.data import synthesize

    return synthesize(tmp_path_factory.mktemp("fuzzbase") / "set", 6, 0,
                      dims={"image": 4, "scene": 4, "motion": 3, "audio": 2}, sequences=(1, 2))


@pytest.fixture
def work_set(base_set, tmp_path):
    return Path(shutil.copytree(base_set, tmp_path / "set"))


def _valid_npz() -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez_compressed(buffer, embeddings=rng.normal(size=(5, 4)).astype(np.float32),
                        ids=np.array([f"t{i}" for i in range(5)]), generated=np.bool_(True), source=np.str_("x"))
    return buffer.getvalue()


VALID_NPZ = _valid_npz()
VALID_META = [pickle.dumps((["Drama", "None", "Horror"], 1999), protocol=p) for p in (0, 2, 4)]


# -- the loaders ---------------------------------------------------------------------------------

@fuzz("manifest.json")
@given(data=st.data())
def test_fuzz_manifest(base_set, data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("manifest")
    valid = (Path(base_set) / "manifest.json").read_bytes()
    (folder / "manifest.json").write_bytes(data.draw(hostile(valid)))
    loads_or_names(folder / "manifest.json", lambda: read_manifest(folder))


@fuzz("trailers.parquet")
@given(data=st.data())
def test_fuzz_trailer_table(base_set, data, tmp_path_factory):
    folder = Path(shutil.copytree(base_set, tmp_path_factory.mktemp("table") / "set"))
    valid = (Path(base_set) / "trailers.parquet").read_bytes()
    (folder / "trailers.parquet").write_bytes(data.draw(hostile(valid)))
    validate_dataset(folder)  # never raises: every problem is in the report
    loads_or_names(folder / "trailers.parquet", lambda: TrailerStore.open(folder, validate=False))


@fuzz("index and feature .npy")
@given(data=st.data(), which=st.sampled_from(["index/clip_offsets.npy", "index/sequence_offsets.npy",
                                              "experts/image/features.npy", "experts/audio/frame_offsets.npy"]))
def test_fuzz_npy(base_set, data, which, tmp_path_factory):
    folder = Path(shutil.copytree(base_set, tmp_path_factory.mktemp("npy") / "set"))
    valid = (Path(base_set) / which).read_bytes()
    (folder / which).write_bytes(data.draw(hostile(valid)))
    loads_or_names(folder / which, lambda: load_npy(folder / which))
    report = validate_dataset(folder)
    assert all("\n" not in p["message"] for p in report.problems)

    def open_and_read():
        store = TrailerStore.open(folder, validate=False)
        store.features  # noqa: B018 - opening the memory maps

    loads_or_names(folder / which, open_and_read)


@fuzz("embeddings .npz")
@given(data=st.data())
def test_fuzz_embeddings(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("emb") / "fuzz.npz"
    path.write_bytes(data.draw(hostile(VALID_NPZ)))
    loads_or_names(path, lambda: load_embeddings(path))


@fuzz("uploads")
@given(data=st.data())
def test_fuzz_uploads(data):
    payload = data.draw(hostile(VALID_NPZ))
    try:
        uploads.save_upload("fuzz", payload, max_bytes=1_000_000)
    except MMXError as exc:
        assert "\n" not in str(exc)


@fuzz("meta.pkl")
@given(data=st.data(), which=st.integers(0, len(VALID_META) - 1))
def test_fuzz_meta_pkl(data, which, tmp_path_factory):
    path = tmp_path_factory.mktemp("meta") / "meta.pkl"
    path.write_bytes(data.draw(hostile(VALID_META[which])))
    loads_or_names(path, lambda: parse_meta(read_meta(path), path))


@pytest.fixture(scope="module")
def checkpoint_bytes(base_set):
    from mmx_core.data import read_manifest as manifest_of
    from mmx_core.model import MMXModel, ModelConfig
    from mmx_core.train.checkpoint import FORMAT, FORMAT_VERSION, save_checkpoint

    manifest = manifest_of(base_set)
    config = ModelConfig.for_store(manifest, shared_dim=4, sequence_dim=8, bottleneck_dim=6, gating_hidden=4,
                                   head_hidden=8, projection_dim=4, vlad_clusters=2, train_sequences=2).validate()
    state = {"format": FORMAT, "version": FORMAT_VERSION, "stage": "coarse", "epoch": 1,
             "model_config": config.to_dict(), "model": MMXModel(config).state_dict(), "genres": manifest.genres,
             "data_fingerprint": "0" * 16}
    path = Path(base_set).parent / "valid.pt"
    save_checkpoint(path, state)
    return path.read_bytes()


@fuzz("checkpoints")
@given(data=st.data())
def test_fuzz_checkpoints(checkpoint_bytes, data, tmp_path_factory):
    from mmx_core.train.checkpoint import load_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "fuzz.pt"
    path.write_bytes(data.draw(hostile(checkpoint_bytes)))
    loads_or_names(path, lambda: load_checkpoint(path))


def test_the_valid_starting_files_load(base_set, checkpoint_bytes, tmp_path):
    """The mutations start from files that load (so a mutation, not the base, is what is refused)."""
    from mmx_core.train.checkpoint import load_checkpoint

    assert read_manifest(base_set).genres and TrailerStore.open(base_set, validate=False).n_trailers == 6
    (tmp_path / "e.npz").write_bytes(VALID_NPZ)
    assert len(load_embeddings(tmp_path / "e.npz")) == 5
    for blob in VALID_META:
        (tmp_path / "meta.pkl").write_bytes(blob)
        assert parse_meta(read_meta(tmp_path / "meta.pkl")) == (["Drama", "Horror"], 1999)
    (tmp_path / "c.pt").write_bytes(checkpoint_bytes)
    assert load_checkpoint(tmp_path / "c.pt").epoch == 1
    save_embeddings(tmp_path / "s.npz", np.array(["a"]), np.ones((1, 2), np.float32))


def test_the_recorded_cases_name_tests_that_exist():
    """testing/reliability_cases.py (read by docs/reliability.md) lists only tests that are here."""
    import re

    from testing.reliability_cases import CASES

    root = Path(__file__).resolve().parents[2]
    for _, test, _ in CASES:
        file, name = test.split("::")
        assert re.search(rf"^def {name}\(", (root / file).read_text(), re.M), test
