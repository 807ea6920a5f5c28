"""Issue 12, items 2 and 3: meta.pkl budgets, archive and .npy headers checked before loading, only regular files."""

from __future__ import annotations

import io
import pickle
import shutil
import time

import numpy as np
import pytest

from hostile_helpers import cli, make_fifo, npy_bytes, npy_claiming, npz_with, one_line_error, shared_list_bomb, write_tree
from mmx_core import workspace
from mmx_core.appkit import uploads
from mmx_core.trailers.embeddings import load_embeddings
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import data_dir
from mmx_core.base.safeio import load_npy
from mmx_core.data import TrailerStore, importer, validate_dataset
from mmx_core.data.importer.meta import MAX_META_BYTES, read_meta


# -- item 2: meta.pkl --------------------------------------------------------------------------------

def test_the_shared_nested_list_bomb_is_refused_within_a_second(tmp_path):
    bomb = shared_list_bomb(40, 8)
    assert len(bomb) < 1000  # the file is 677 bytes
    (tmp_path / "meta.pkl").write_bytes(bomb)
    start = time.perf_counter()
    with pytest.raises(MMXError, match="meta.pkl: refused: meta.pkl holds more than 10000 values") as caught:
        read_meta(tmp_path / "meta.pkl")
    assert time.perf_counter() - start < 1.0
    assert len(str(caught.value)) < 400


def test_the_importer_reports_the_bomb_and_goes_on(tmp_path):
    src = write_tree(tmp_path / "tree", 2)
    (src / "Drama" / "trailer000" / "scene0" / "meta.pkl").write_bytes(shared_list_bomb(40, 8))
    start = time.perf_counter()
    result = importer.import_mmx(src, tmp_path / "set", dims={"image": 6, "scene": 5, "motion": 4, "audio": 3})
    assert time.perf_counter() - start < 20
    assert result.trailers == 2 and any("more than 10000 values" in p["message"] for p in result.problems)


def test_a_large_or_deep_meta_pkl_is_refused_and_messages_stay_short(tmp_path):
    big = tmp_path / "big.pkl"
    big.write_bytes(pickle.dumps(["x" * (MAX_META_BYTES + 10)]))
    with pytest.raises(MMXError, match="larger than"):
        read_meta(big)
    deep: list = []
    for _ in range(30):
        deep = [deep]
    (tmp_path / "deep.pkl").write_bytes(pickle.dumps(deep))
    with pytest.raises(MMXError, match="deeper than 10 levels"):
        read_meta(tmp_path / "deep.pkl")
    from mmx_core.data.importer.meta import parse_meta

    odd = [[1, 2] * 500, {"a": 1}] * 50  # unrecognised content: the message shows it through reprlib
    with pytest.raises(MMXError, match="unrecognised meta.pkl content") as caught:
        parse_meta(odd, tmp_path / "meta.pkl")
    assert len(str(caught.value)) < 400


# -- item 3: archives and .npy headers -----------------------------------------------------------------

def test_an_upload_is_limited_by_its_expanded_size_not_its_compressed_bytes():
    vectors = np.zeros((20_000, 256), np.float32)  # 20.5 MB expanded, a few KB compressed
    vectors[:, 0] = 1
    ids = np.array([f"t{i}" for i in range(len(vectors))])
    buffer = io.BytesIO()
    np.savez_compressed(buffer, embeddings=vectors, ids=ids)
    payload = buffer.getvalue()
    assert len(payload) < 1_000_000
    with pytest.raises(MMXError, match=r"expands to 2\d\.\d MB, more than the limit of 5\.0 MB"):
        uploads.save_upload("bomb", payload, max_bytes=5_000_000)
    assert not (workspace.uploads_dir() / "bomb").exists()


def test_a_member_claiming_petabytes_is_refused_before_loading(tmp_path):
    crafted = npz_with({"embeddings.npy": npy_claiming((10 ** 14, 16)),
                        "ids.npy": npy_bytes(np.array(["a", "b"]))})
    with pytest.raises(MMXError, match="claims shape .* but holds"):
        uploads.save_upload("crafted", crafted)
    path = tmp_path / "crafted.npz"
    path.write_bytes(crafted)
    with pytest.raises(MMXError, match="crafted.npz: embeddings file member embeddings.npy claims shape"):
        load_embeddings(path)
    done = cli("neighbours", "--embeddings", path, "--id", "a")
    assert done.returncode == 2 and "claims shape (100000000000000, 16)" in one_line_error(done.stderr)


def test_a_npy_header_claiming_petabytes_is_one_line_not_memory_error(tiny_data):
    copy = data_dir() / "tiny-crafted"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(data_dir() / tiny_data, copy)
    (copy / "index" / "clip_offsets.npy").write_bytes(npy_claiming((10 ** 15,), "<i8"))
    with pytest.raises(MMXError, match="header claims shape"):
        load_npy(copy / "index" / "clip_offsets.npy")
    report = validate_dataset(copy)
    assert any(p["file"] == "index/clip_offsets.npy" and "header claims shape (1000000000000000,)" in p["message"]
               for p in report.problems)
    with pytest.raises(MMXError, match="clip_offsets.npy: index file header claims shape"):
        TrailerStore.open(copy, validate=False)
    done = cli("embed", "--data", copy, "--model", "none", "--out", copy.parent / f"{copy.name}-e.npz")
    assert done.returncode == 2 and "invalid data set" in one_line_error(done.stderr)


# -- item 3: only regular files are opened ------------------------------------------------------------

@pytest.mark.parametrize("victim", ["experts/image/features.npy", "index/sequence_offsets.npy", "trailers.parquet",
                                    "manifest.json"])
def test_a_fifo_in_place_of_a_data_file_does_not_hang_validate_or_embed(tiny_data, victim):
    copy = data_dir() / f"tiny-fifo-{victim.replace('/', '-')}"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(data_dir() / tiny_data, copy)
    make_fifo(copy / victim)
    done = cli("validate", copy, timeout=60)
    assert done.returncode == 1 and "FIFO (named pipe), not a regular file" in done.stdout
    if victim.startswith("experts/"):  # what train and embed open: refused by the validation they run first
        done = cli("embed", "--data", copy, "--model", "none", "--out", copy.parent / f"{copy.name}-e.npz",
                   timeout=60)  # beside the set: an --out inside an input is refused (tests/hardening/test_outputs.py)
        assert done.returncode == 2 and "FIFO" in one_line_error(done.stderr)
    if victim != "manifest.json":
        with pytest.raises(MMXError, match="FIFO"):
            store = TrailerStore.open(copy, validate=False)
            store.features  # noqa: B018 - opening the memory maps is the point


def test_fifos_among_the_authors_files_are_reported_not_waited_for(tmp_path):
    src = write_tree(tmp_path / "tree", 2)
    make_fifo(src / "Drama" / "trailer000" / "scene0" / "meta.pkl")
    make_fifo(src / "Comedy" / "trailer001" / "scene0" / "1" / "img-embeddings" / "0.pt")
    done = cli("import-mmx", src, "--out", tmp_path / "set", "--dims", "image=6,scene=5,motion=4,audio=3",
               timeout=60)
    assert done.returncode == 1 and done.stdout.count("FIFO (named pipe)") == 2


def test_a_fifo_as_embeddings_file_or_checkpoint_is_refused(tmp_path):
    fifo = make_fifo(tmp_path / "emb.npz")
    with pytest.raises(MMXError, match="embeddings file is a FIFO"):
        load_embeddings(fifo)
    checkpoint = make_fifo(tmp_path / "model.pt")
    done = cli("embed", "--data", "none", "--model", checkpoint, "--out", tmp_path / "e.npz", timeout=60)
    assert done.returncode == 2
    from mmx_core.train.checkpoint import read_checkpoint

    with pytest.raises(MMXError, match="checkpoint is a FIFO"):
        read_checkpoint(checkpoint)
