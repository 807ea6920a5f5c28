"""The annotation store: every change whole or not at all, many writers at once, undo, and names that follow members."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from mmx_core.annotations.carry import MATCH_THRESHOLD, best_match, match_names
from mmx_core.annotations.store import AnnotationStore, store_path
from mmx_core.base.errors import MMXError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path) -> AnnotationStore:
    return AnnotationStore(tmp_path / "a.sqlite", author="ann")


def test_reading_a_store_that_does_not_exist_creates_nothing(tmp_path):
    empty = AnnotationStore(tmp_path / "none" / "a.sqlite")
    assert empty.subgenres() == {} and empty.tags().empty and empty.notes() == {} and empty.revision() == "" and empty.last_change() == 0
    assert not (tmp_path / "none").exists()


def test_names_tags_notes_and_views_round_trip(store):
    store.name_subgenre("Giallo", ["a", "b", "c"], note="1970s Italian horror", colour="#AA0000")
    store.tag(["a", "d"], "slow burn")
    store.set_note("a", "first line\nsecond line")
    store.save_view("gialli", {"set": "published", "mcs": "30"})
    giallo = store.subgenres()["Giallo"]
    assert giallo.members == {"a", "b", "c"} and giallo.colour == "#aa0000" and giallo.author == "ann"
    assert sorted(map(tuple, store.tags()[["id", "tag"]].to_numpy())) == [("a", "slow burn"), ("d", "slow burn")]
    assert store.notes() == {"a": "first line\nsecond line"}
    assert store.views() == {"gialli": {"set": "published", "mcs": "30"}}
    with pytest.raises(MMXError, match="already named"):
        store.name_subgenre("Giallo", ["x"])
    with pytest.raises(MMXError, match="no sub-genre"):
        store.rename_subgenre("Nope", "Other")
    with pytest.raises(MMXError, match="empty"):
        store.tag(["a"], "   ")
    with pytest.raises(MMXError, match="control"):
        store.tag(["a"], "bad\x1b[31m")


def test_merge_split_and_undo_walk_back_every_step(store):
    store.name_subgenre("A", ["1", "2"])
    store.name_subgenre("B", ["3"])
    states = [store.subgenres()]
    store.merge_subgenres(["A", "B"], into="AB")
    states.append(store.subgenres())
    assert set(states[-1]) == {"AB"} and states[-1]["AB"].members == {"1", "2", "3"}
    store.split_subgenre("AB", ["3", "9"], "C")
    states.append(store.subgenres())
    assert states[-1]["AB"].members == {"1", "2"} and states[-1]["C"].members == {"3"}
    store.rename_subgenre("C", "Cee")
    store.describe_subgenre("Cee", note="a note", colour="#ABCDEF")
    assert (store.subgenres()["Cee"].note, store.subgenres()["Cee"].colour) == ("a note", "#abcdef")
    store.undo()                                    # the description
    assert store.subgenres()["Cee"].note == ""
    store.tag(["1"], "t")
    store.untag(["1"], "t")
    assert store.tags().empty
    store.undo()                                    # the untag
    assert list(store.tags()["tag"]) == ["t"]
    store.undo()                                    # the tag
    assert store.tags().empty
    store.undo()                                    # the rename
    assert store.subgenres() == states[2]
    store.undo()                                    # the split
    assert store.subgenres() == states[1]
    store.undo()                                    # the merge
    assert store.subgenres() == states[0]
    history = store.history(limit=50)
    assert [c.action for c in history[:2]] == ["undo", "undo"] and all(c.undone for c in history if c.action == "merge")


def test_undo_of_someone_elses_change_is_refused_when_asked(store):
    store.tag(["1"], "mine")
    other = AnnotationStore(store.path, author="bob")
    other.tag(["2"], "his")
    with pytest.raises(MMXError, match="bob's"):
        store.undo(own_only=True)
    assert other.undo(own_only=True).summary.endswith("'his'")
    with pytest.raises(MMXError, match="nothing to undo"):
        AnnotationStore(store.path).undo() and AnnotationStore(store.path).undo()


def test_store_file_names_are_safe_for_every_set_name(tmp_path, monkeypatch):
    monkeypatch.setenv("MMX_ANNOTATIONS_DIR", str(tmp_path))
    paths = {store_path(name) for name in ("published", "run:r1/fine", "run:r1_fine", "../../etc", "")}
    assert len(paths) == 5 and all(p.parent == tmp_path and "/" not in p.name and not p.name.startswith(".")
                                   for p in paths)


def test_a_file_that_is_not_a_store_is_refused_and_kept(tmp_path):
    path = tmp_path / "a.sqlite"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(MMXError, match="cannot be read"):
        AnnotationStore(path).tag(["1"], "x")
    assert path.read_bytes() == b"not a database at all" * 100
    link = tmp_path / "b.sqlite"
    link.symlink_to(path)
    with pytest.raises(MMXError, match="not a regular file"):
        AnnotationStore(link).subgenres()


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mmx_core.annotations.store import AnnotationStore
    path, who, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    store = AnnotationStore(path, author=who)
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.005)
    for i in range(count):
        store.tag([f"{who}{j}" for j in range(int(sys.argv[5]))], f"{who}-{i}")
""")


def _writer(path: Path, who: str, count: int, go: Path, width: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path), who, str(count), str(go), str(width)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


def test_two_writers_at_once_lose_nothing(tmp_path):
    path, go = tmp_path / "a.sqlite", tmp_path / "go"
    AnnotationStore(path).tag(["seed"], "seed")
    writers = [_writer(path, who, 60, go, 20) for who in ("ann", "bob")]
    go.touch()
    for process in writers:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    tags = AnnotationStore(path).tags()
    assert tags.groupby("tag").size().drop("seed").eq(20).all() and tags["tag"].nunique() == 121
    assert len(AnnotationStore(path).history(limit=500)) == 121


def test_kill_9_mid_write_leaves_every_change_whole(tmp_path):
    path, go = tmp_path / "a.sqlite", tmp_path / "go"
    process = _writer(path, "ann", 10_000, go, 4000)
    go.touch()
    deadline = time.monotonic() + 60
    while AnnotationStore(path).last_change() < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = AnnotationStore(path)
    sizes = store.tags().groupby("tag").size()
    assert len(sizes) == store.last_change() >= 3 and (sizes == 4000).all()   # each change whole, none half-written
    store.undo()
    assert len(store.tags().groupby("tag").size()) == len(sizes) - 1


def test_names_follow_members_across_clusterings():
    ids = [f"t{i}" for i in range(12)]
    after = np.array([5, 5, 5, -1, 3, 3, 3, 3, 3, 3, -1, 7])        # cluster numbers change, members mostly stay
    named = {"first": ids[:4], "second": ids[4:8], "third": ids[9:12]}
    table = match_names(named, ids, after).set_index("name")
    assert table.at["first", "cluster"] == 5 and table.at["first", "jaccard"] == 0.75
    assert table.at["second", "cluster"] == 3 and table.at["second", "matched"]        # 4 of 6: Jaccard 0.67
    assert not table.at["third", "matched"] and table.at["third", "clusters_spanned"] == 2
    assert table.at["third", "jaccard"] == round(1 / 3, 4)                            # t11 alone in cluster 7
    assert best_match([], after).cluster == -1 and 0 < MATCH_THRESHOLD <= 1
    missing = match_names({"gone": ["x", "y", "t0"]}, ids, after).iloc[0]
    assert missing["absent"] == 2 and missing["present"] == 1


def test_the_revision_changes_with_every_change_and_with_a_new_store_in_the_old_ones_place(store):
    store.tag(["1"], "x")
    first = store.revision()
    store.undo()
    assert store.revision() not in ("", first)
    store.path.unlink()
    for extra in ("-wal", "-shm"):
        store.path.with_name(store.path.name + extra).unlink(missing_ok=True)
    store.tag(["1"], "x")
    assert store.last_change() == 1 and store.revision() != first       # same change number, another store


def test_a_cluster_that_absorbed_a_name_holds_it_and_a_name_split_over_clusters_stays_unmatched():
    ids = [f"t{i}" for i in range(30)]
    coarser = np.array([0] * 24 + [1] * 4 + [-1] * 2)      # a larger size: names and old noise merged in 0
    named = {"a": ids[:4], "b": ids[4:8], "split": ids[20:28]}
    table = match_names(named, ids, coarser).set_index("name")
    assert table.loc[["a", "b"], "held"].all() and not table.loc[["a", "b"], "matched"].any()
    assert (table.loc[["a", "b"], "cluster"] == 0).all() and table.at["a", "jaccard"] == round(4 / 24, 4)
    assert table.at["split", "matched"] and table.at["split", "cluster"] == 1  # all of 1: Jaccard 4 / 8 is it
    scattered = match_names({"x": ["t0", "t24", "t28", "t29"]}, ids, coarser).iloc[0]   # 1, 1 and 2 noise
    assert not scattered["held"] and not scattered["matched"] and scattered["clusters_spanned"] == 2
