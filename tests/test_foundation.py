"""Artefacts, the embeddings file format and the bundled published set (titles: test_titles.py)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from mmx_core.base.artefacts import array_hash, atomic_write, cached_artefact, params_key, read_json
from mmx_core.trailers.published import PUBLISHED_THUMBNAILS, load_published, thumbnail_archive
from mmx_core.trailers.embeddings import load_embeddings, save_embeddings
from mmx_core.base.errors import MMXError, first_line


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as handle:
            handle.write("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_array_hash_reads_every_dtype_as_its_bytes():
    # cache keys (the shipped cache's too) are the SHA-256 of dtype, shape and tobytes(); reading in place keeps them
    import hashlib

    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(5, 7)).astype(t) for t in ("float32", "float16", "float64", "int64", "uint8")]
    arrays += [rng.normal(size=(3, 4)) > 0, np.zeros((0, 3), np.float32), np.float32(3.5), np.arange(10)[::2],
               np.asfortranarray(rng.normal(size=(4, 5))), np.array([1 + 2j]), np.array(["2020-01-01"], "M8[D]")]
    for array in arrays:
        flat = np.ascontiguousarray(array)
        expected = hashlib.sha256(f"{flat.dtype}{flat.shape}".encode() + flat.tobytes()).hexdigest()[:16]
        assert array_hash(array) == expected, array.dtype


def test_read_json_names_file_on_bad_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(MMXError, match="bad.json: not valid JSON"):
        read_json(bad)


def test_cached_artefact_computes_once_and_writes_params(tmp_path, monkeypatch):
    monkeypatch.setenv("MMX_CACHE_DIR", str(tmp_path))
    calls = []

    def compute(path):
        calls.append(path)
        path.write_text("result")

    first = cached_artefact("demo", {"k": 1}, {"x": "abc"}, compute, suffix=".txt")
    second = cached_artefact("demo", {"k": 1}, {"x": "abc"}, compute, suffix=".txt")
    third = cached_artefact("demo", {"k": 2}, {"x": "abc"}, compute, suffix=".txt")
    assert first == second != third
    assert len(calls) == 2
    meta = json.loads((tmp_path / "demo" / f"{first.stem}.txt.json").read_text())
    assert meta["params"] == {"k": 1} and meta["inputs"] == {"x": "abc"}
    assert meta["key"] == params_key("demo", {"k": 1}, {"x": "abc"}) == first.stem


def test_embeddings_round_trip(tmp_path, rng):
    ids = np.array([f"t{i}" for i in range(5)])
    vectors = rng.normal(size=(5, 8)).astype(np.float32)
    path = save_embeddings(tmp_path / "e.npz", ids, vectors, generated=True, source="test")
    loaded = load_embeddings(path)
    np.testing.assert_array_equal(loaded.ids, ids)
    np.testing.assert_allclose(loaded.vectors, vectors)
    assert loaded.generated and loaded.source == "test"
    assert loaded.index_of("t3") == 3
    with pytest.raises(MMXError, match="unknown trailer id 'nope'"):
        loaded.index_of("nope")


@pytest.mark.parametrize(
    "vectors, ids, message",
    [
        (np.ones(4), ["a", "b", "c", "d"], "must be a 2-D array"),
        (np.ones((3, 2)), ["a", "b"], "give one id per row"),
        (np.array([[1.0, np.nan], [1.0, 1.0]]), ["a", "b"], "NaN or Inf .*id 'a'"),
        (np.array([[0.0, 0.0], [1.0, 1.0]]), ["a", "b"], "all zeros"),
        (np.ones((2, 2)), ["a", "a"], "more than once"),
        (np.ones((0, 2)), [], "no trailers"),
    ],
)
def test_bad_embeddings_are_named(tmp_path, vectors, ids, message):
    path = tmp_path / "bad.npz"
    np.savez(path, embeddings=np.asarray(vectors, dtype=np.float32), ids=np.array(ids, dtype=str))
    with pytest.raises(MMXError, match=f"bad.npz: .*{message}"):
        load_embeddings(path)


def test_embeddings_file_with_pickled_object_is_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, embeddings=np.ones((2, 2), np.float32), ids=np.array([{"a": 1}, {"b": 2}], dtype=object))
    with pytest.raises(MMXError, match="obj.npz: cannot read"):
        load_embeddings(path)


def test_corrupt_embeddings_file(tmp_path):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(MMXError, match="corrupt.npz"):
        load_embeddings(path)


def test_metadata_join_keeps_order_and_fills_missing(tmp_path, rng):
    table = pd.DataFrame({"id": ["b", "a"], "title": ["TheEnd", "OnlyYou"], "genres": ["Drama|War", "Comedy"]})
    table.to_csv(tmp_path / "meta.csv", index=False)
    save_embeddings(tmp_path / "e.npz", np.array(["a", "b", "c"]), rng.normal(size=(3, 4)))
    loaded = load_embeddings(tmp_path / "e.npz", metadata=tmp_path / "meta.csv")
    assert list(loaded.metadata["id"]) == ["a", "b", "c"]
    assert loaded.metadata["genres"].tolist() == [["Comedy"], ["Drama", "War"], []]
    assert loaded.metadata["display_title"].tolist() == ["Only You", "The End", "c"]


def test_published_set_is_bundled():
    published = load_published()
    assert len(published) == 7594 and published.dim == 1024
    assert published.vectors.dtype == np.float32 and (published.vectors >= 0).all()
    meta = published.metadata
    assert {"id", "title", "display_title", "year", "genres", "thumbnail"} <= set(meta.columns)
    assert meta["genres"].map(len).between(1, 5).all()
    # The source README says 2.43 labels on average; the CSV itself gives 2.30.
    assert abs(meta["genres"].map(len).mean() - 2.30) < 0.01
    archive = thumbnail_archive(PUBLISHED_THUMBNAILS)
    jpeg = archive.read(meta["thumbnail"].iloc[0])
    assert jpeg[:2] == b"\xff\xd8"
    assert archive.read("not-there.jpg") is None


def test_cli_prints_one_line_error_without_traceback(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "mmx_core", "bundle-published", "--src", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "missing embeddings.npz" in out.stderr
    assert "Traceback" not in out.stderr


def test_first_line_keeps_one_line_of_a_library_message():
    assert first_line(RuntimeError("  bad header\n  at offset 12\n")) == "bad header"
    assert first_line(OSError()) == "OSError"
    assert first_line(RuntimeError(""), "unreadable") == "unreadable" and first_line(RuntimeError(" "), "") == ""
