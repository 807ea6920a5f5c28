"""``annotations``: the named sub-genres, tags and notes of an embedding set: show, export, import, undo."""

from __future__ import annotations

from mmx_core.base.console import print_json
from mmx_core.base.errors import ExitCode, MMXError
from mmx_core.base.output_writer import output_lock
from mmx_core.base.outputs import ANNOTATIONS, check_output, tag_output
from mmx_core.commands.argtypes import add_command
from mmx_core.workspace import load_set, set_info

MAX_REPORTED = 20
"""Skipped rows reported one line each before the rest are counted."""


def register(subparsers) -> None:
    parser = add_command(
        subparsers, "annotations", run, help="show, export, import or undo the annotations of an embedding set",
        description="The named sub-genres, tags and notes people keep for an embedding set (the app's Explore "
        "page writes them). With no action, prints a summary. The CSV has one row per trailer and tag "
        "(id,tag,kind,note,colour,title), opens safely in a spreadsheet, and its id,tag columns are what "
        "`train --stage fine --tags` reads.")
    parser.add_argument("set", metavar="SET", help="embedding set name as the app lists it (published, coarse, "
                        "fine, run:<run>/<file>, upload:<name>)")
    action = parser.add_mutually_exclusive_group()
    tag_output(action.add_argument("--export", metavar="FILE.csv", help="write every annotation to a CSV"),
               ANNOTATIONS)
    action.add_argument("--import", dest="import_file", metavar="FILE.csv",
                        help="add the rows of a CSV (tags and members are added, notes replaced) as one change; "
                        "rows naming trailers not in the set, or malformed, are reported and skipped (exit 1)")
    action.add_argument("--undo", action="store_true", help="undo the newest change")
    parser.add_argument("--overwrite", action="store_true", help="replace an annotations CSV written before")
    parser.add_argument("--author", default="local", help="who makes the change (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args) -> int:
    from mmx_core.annotations.store import AnnotationStore

    if args.export is not None:  # before anything is read
        target = check_output(args.export, ANNOTATIONS, option="--export", overwrite=args.overwrite,
                              reads=(args.import_file,))
    set_info(args.set)  # an unknown set is refused
    store = AnnotationStore.for_set(args.set, author=args.author)
    if args.export is not None:
        return _export(store, args.set, target)
    if args.import_file is not None:
        return _import(store, args.set, args.import_file)
    if args.undo:
        change = store.undo()
        print(f"undid change {change.seq} by {change.author}: {change.summary}")
        return ExitCode.OK
    _summary(store, args.json)
    return ExitCode.OK


def _export(store, set_name: str, target) -> int:
    emb = load_set(set_name)
    titles = dict(zip(emb.ids.astype(str), emb.metadata["display_title"].astype(str))) \
        if emb.metadata is not None and "display_title" in emb.metadata else {}
    with output_lock(target, "annotations file"):
        written = store.write_csv(target, titles)
    print(f"wrote {written} rows to {target}")
    return ExitCode.OK


def _import(store, set_name: str, path: str) -> int:
    from mmx_core.annotations.table import read_table, usable_rows

    rows, problems = usable_rows(read_table(path), load_set(set_name).ids.astype(str), set_name)
    for line, problem in problems[:MAX_REPORTED]:
        print(f"skipped{f' line {line}' if line else ''}: {problem}")
    if len(problems) > MAX_REPORTED:
        print(f"... and {len(problems) - MAX_REPORTED} more skipped rows")
    if not rows:
        raise MMXError(f"no row could be imported ({len(problems)} skipped); nothing was changed", path)
    store.import_rows(rows, source=str(path))
    print(f"imported {len(rows)} rows into the annotations of {set_name}"
          + (f"; {len(problems)} rows skipped" if problems else ""))
    return ExitCode.FAILED_INPUTS if problems else ExitCode.OK


def _summary(store, as_json: bool) -> None:
    subgenres, tags, notes = store.subgenres(), store.tags(), store.notes()
    counts = tags.groupby("tag").size().sort_values(ascending=False) if len(tags) else {}
    history = store.history(limit=5)
    if as_json:
        print_json({"store": str(store.path), "subgenres": {s.name: {"members": len(s.members),
                    "note": s.note, "colour": s.colour} for s in subgenres.values()},
                    "tags": {t: int(n) for t, n in dict(counts).items()}, "notes": len(notes),
                    "views": sorted(store.views()),
                    "history": [{"seq": c.seq, "author": c.author, "summary": c.summary, "undone": c.undone}
                                for c in history]})
        return
    print(f"store: {store.path}")
    print(f"{len(subgenres)} named sub-genres, {len(counts)} tags, {len(notes)} notes")
    for s in subgenres.values():
        print(f"  sub-genre {s.name!r}: {len(s.members)} trailers" + (f" - {s.note[:80]}" if s.note else ""))
    for tag, n in dict(counts).items():
        print(f"  tag {tag!r}: {n} trailers")
    for c in history:
        print(f"  change {c.seq} by {c.author}: {c.summary}" + (" (undone)" if c.undone else ""))
