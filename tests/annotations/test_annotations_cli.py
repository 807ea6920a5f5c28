"""``annotations SET --export/--import/--undo``: the CSV travels whole, hostile files change nothing."""

from __future__ import annotations

import csv
import io

import pytest

from mmx_core.annotations.store import AnnotationStore
from mmx_core.annotations.table import HEADER, read_table, read_tags, table_text, Row
from mmx_core.base import outputs
from mmx_core.base.errors import MMXError
from mmx_core.cli import main
from mmx_core.workspace import load_set

IDS = [str(i) for i in load_set("published").ids[:6]]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["annotations", "published", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_export_then_import_elsewhere_carries_everything(published_store, capsys, tmp_path, monkeypatch):
    published_store.name_subgenre("=Giallo, \"Italian\"", IDS[:3], note="dark\nand stylish", colour="#112233")
    published_store.tag(IDS[2:5], "-slow burn")
    published_store.set_note(IDS[0], "@see also")
    code, out, _ = run(capsys, "--export", str(tmp_path / "a.csv"))
    assert code == 0 and "wrote 7 rows" in out
    text = (tmp_path / "a.csv").read_text()
    assert text.splitlines()[0] == HEADER == outputs.ANNOTATIONS_HEADER
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert not any(c.startswith(("=", "-", "@")) for c in cells)      # a spreadsheet shows them as text
    monkeypatch.setenv("MMX_ANNOTATIONS_DIR", str(tmp_path / "elsewhere"))
    code, out, _ = run(capsys, "--import", str(tmp_path / "a.csv"))
    assert code == 0, out
    moved = AnnotationStore.for_set("published")
    assert moved.subgenres()['=Giallo, "Italian"'].members == set(IDS[:3])
    assert moved.subgenres()['=Giallo, "Italian"'].note == "dark\nand stylish"
    assert set(moved.tags()["tag"]) == {"-slow burn"} and moved.notes() == {IDS[0]: "@see also"}
    assert read_tags(tmp_path / "a.csv")[IDS[2]] == {'=Giallo, "Italian"', "-slow burn"}


@pytest.mark.parametrize("content, problem", [
    (b"id,tag\n1,a\x00b\n", "NUL"),
    (b"id,tag\n\xff\xfe1,a\n", "not UTF-8"),
    (b"title,year\nx,1999\n", "needs at least id and tag"),
    (b"", "needs at least id and tag"),
    (b'id,tag\n"unterminated,a\n', "not valid CSV"),
])
def test_a_hostile_file_is_refused_whole_and_changes_nothing(published_store, capsys, tmp_path, content, problem):
    published_store.tag(IDS[:1], "kept")
    before = published_store.revision()
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    code, out, err = run(capsys, "--import", str(path))
    assert code == 2 and problem in err and len(err.strip().splitlines()) == 1
    assert published_store.revision() == before and list(published_store.tags()["tag"]) == ["kept"]


def test_bad_rows_are_reported_one_line_each_and_skipped_with_exit_1(published_store, capsys, tmp_path):
    path = tmp_path / "rows.csv"
    long = "x" * 500
    path.write_text(f"id,tag,kind\n{IDS[0]},good,tag\nnot-a-trailer,x,tag\n{IDS[1]},{long},tag\n"
                    f"{IDS[1]},\"bad\x1b[2J\",tag\n{IDS[1]},x,weird\n,x,tag\n{IDS[2]},also good,tag\n")
    code, out, _ = run(capsys, "--import", str(path))
    assert code == 1
    assert sum(line.startswith("skipped") for line in out.splitlines()) == 5
    assert sorted(published_store.tags()["tag"]) == ["also good", "good"]
    assert len(published_store.history()) == 1                                     # one change: one undo reverts it
    code, out, _ = run(capsys, "--undo")
    assert code == 0 and published_store.tags().empty


def test_an_import_of_nothing_usable_is_refused(published_store, capsys, tmp_path):
    path = tmp_path / "none.csv"
    path.write_text("id,tag\nnot-a-trailer,x\n")
    code, _, err = run(capsys, "--import", str(path))
    assert code == 2 and "no row could be imported" in err and published_store.last_change() == 0


def test_export_never_replaces_a_file_people_wrote(published_store, capsys, tmp_path):
    theirs = tmp_path / "theirs.csv"
    theirs.write_text("id,tag,kind,note,colour,title\n1,mine,tag,,,\n")
    code, _, err = run(capsys, "--export", str(theirs), "--overwrite")
    assert code == 2 and "not written by this project" in err
    assert theirs.read_text() == "id,tag,kind,note,colour,title\n1,mine,tag,,,\n"
    code, _, err = run(capsys, "--export", str(tmp_path / "ok.csv"))
    assert code == 0
    code, _, err = run(capsys, "--export", str(tmp_path / "ok.csv"))
    assert code == 2 and "--overwrite" in err


def test_read_tags_refuses_a_file_with_any_bad_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(table_text([Row("1", "a"), Row("2", "a"), Row("3", "", "note", "n")]) + '"4","","tag","","",""\n')
    with pytest.raises(MMXError, match="line 5: the tag is empty"):
        read_tags(path)
    assert read_table(path).rows[-1] == Row("3", "", "note", "n")
