"""Docs that cannot go stale: generated blocks, includes, the figure check and the ``docs`` command."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from mmx_core.base import docblocks
from mmx_core.base.errors import MMXError
from mmx_core.base.paths import PROJECT_ROOT
from mmx_core.cli import main as cli_main
from mmx_core.data.synth.config import SynthConfig
from mmx_core.docs import build, includes
from mmx_core.docs.figures import prose_figures, requirement_names
from mmx_core.docs.module_map import module_summaries, render_module_map
from mmx_core.docs.defaults import KNOBS, clip_bytes
from mmx_core.studies.model_card import render_model_card
from mmx_core.train.config import STAGE_RECIPES

# Files whose hand-written figures are not all converted yet, with the number of figures without a
# source each still holds. The count may only go down: lower it when you convert some. Empty: every
# doc figure has a source.
PENDING: dict[str, int] = {}

BENCH = """# Benchmarks

<!-- BEGIN GENERATED: app -->
## app

| measure | value | unit |
| --- | --- | --- |
| server start -> first map (cold) | 4.79 | s |
| click -> panel | 81.7 | ms |

Fine minus coarse precision@10: +0.194, interval [+0.184, +0.204].
<!-- END GENERATED: app -->
"""


def _project(tmp_path: Path, readme: str) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "benchmarks.md").write_text(BENCH)
    (tmp_path / "README.md").write_text(readme)
    return tmp_path


def test_update_block_replaces_only_its_block_and_appends_new_ones(tmp_path):
    path = tmp_path / "doc.md"
    path.write_text("# Doc\n\nBy hand.\n")
    docblocks.update_block(path, "a", "first")
    docblocks.update_block(path, "b", "second")
    docblocks.update_block(path, "a", "third")
    text = path.read_text()
    assert text.startswith("# Doc\n\nBy hand.\n")
    assert docblocks.parse_blocks(text) == {"a": "third", "b": "second"}
    assert text.index("third") < text.index("second")
    with pytest.raises(MMXError, match="block name 'a b'"):
        docblocks.update_block(path, "a b", "x")


def test_includes_resolve_table_cells_and_numbers_after_text(tmp_path):
    root = _project(tmp_path, (
        'Cold start <!-- include: docs/benchmarks.md#app row="server start" col="value" -->old<!-- /include --> s, '
        'gain <!-- include: docs/benchmarks.md#app after="interval [+0.184, " -->?<!-- /include -->.\n'))
    text = includes.refresh(root / "README.md")
    assert "-->4.79<!-- /include --> s" in text and "-->+0.204<!-- /include -->." in text
    inc = includes.find_includes(text)
    assert [i.attrs for i in inc] == [{"row": "server start", "col": "value"}, {"after": "interval [+0.184, "}]


def test_an_include_written_as_code_is_left_alone(tmp_path):
    readme = 'Syntax: `<!-- include: docs/none.md#x after="y" -->v<!-- /include -->`.\n'
    root = _project(tmp_path, readme)
    assert includes.refresh(root / "README.md") == readme


@pytest.mark.parametrize("attrs, message", [
    ('row="nope" col="value"', "no table cell with row 'nope'"),
    ('after="missing text"', "no number after 'missing text'"),
    ('row="click"', "give after="),
])
def test_a_broken_include_names_itself(tmp_path, attrs, message):
    root = _project(tmp_path, f"x <!-- include: docs/benchmarks.md#app {attrs} -->1<!-- /include -->\n")
    with pytest.raises(MMXError, match=message):
        includes.refresh(root / "README.md")
    (root / "README.md").write_text("x <!-- include: docs/benchmarks.md#gone after=\"a\" -->1<!-- /include -->\n")
    with pytest.raises(MMXError, match="no generated block 'gone'"):
        includes.refresh(root / "README.md")


def test_prose_figures_flags_measurements_and_passes_the_rules():
    text = "\n".join([
        "Measured 4.33x faster, 1,349 warm.",                       # 2 figures
        "Run `make bench --size 1000` and", "```", "python -m x --n 5000", "```",
        "In 2021 the paper (Table 2, Fig. 3, issue 10, seed 7777) used torch 2.13 and Python 3.11.",
        "It has 20 genres, 9 clips a sequence, 7,594 trailers, 1024-d embeddings, 2 cores.",
        "precision@10 is a metric.",
        "1. first item",
        "<!-- BEGIN GENERATED: t -->\n| 0.871 |\n<!-- END GENERATED: t -->",
        'x <!-- include: a.md#t after="y" -->0.5<!-- /include -->',
    ])
    figures = prose_figures(text, packages=["torch"])
    assert [(f.line, f.number) for f in figures] == [(1, "4.33"), (1, "1,349")]


def test_docs_check_command_reports_stale_and_unsourced(tmp_path, capsys):
    root = _project(tmp_path, 'Start <!-- include: docs/benchmarks.md#app row="server" col="value" -->9<!-- /include --> s.\n')
    assert cli_main(["docs", "--check", "--root", str(root)]) == 1
    assert "README.md: stale" in capsys.readouterr().out
    assert cli_main(["docs", "--root", str(root)]) == 0
    assert "-->4.79<!--" in (root / "README.md").read_text()
    assert cli_main(["docs", "--check", "--root", str(root)]) == 0
    (root / "docs" / "app.md").write_text("The map opens in 3.2 s.\n")
    assert cli_main(["docs", "--check", "--root", str(root)]) == 1
    assert "docs/app.md:1: figure 3.2 has no source" in capsys.readouterr().out


def test_model_card_is_one_block_and_reads_its_comparison_from_the_data():
    results = json.loads((PROJECT_ROOT / "models" / "make_models.json").read_text())
    card = render_model_card(results)
    assert list(docblocks.parse_blocks(card)) == ["model-card"]
    assert "cores were shared" not in card and "Fig. 3" not in card
    results["neighbour_genre_overlap"] = {"coarse": 0.2, "fine": 0.3}
    assert "(higher in the fine space)" in render_model_card(results)


def test_project_docs_have_no_stale_include():
    stale = [p.name for p in build.doc_files(PROJECT_ROOT) if includes.refresh(p) != p.read_text()]
    assert not stale, f"run `python -m mmx_core docs`: stale includes in {stale}"


def test_every_project_figure_has_a_source():
    packages = requirement_names(PROJECT_ROOT)
    files = build.doc_files(PROJECT_ROOT)
    assert {"README.md", "docs/benchmarks.md", "docs/results.md", "models/README.md"} <= {
        str(f.relative_to(PROJECT_ROOT)) for f in files}
    for path in files:
        name = str(path.relative_to(PROJECT_ROOT))
        figures = prose_figures(path.read_text(), packages)
        if name in PENDING:
            assert len(figures) <= PENDING[name], f"{name}: {len(figures)} figures without a source (was {PENDING[name]})"
        else:
            assert not figures, f"{name}: figures without a source: " + "; ".join(
                f"line {f.line}: {f.number}" for f in figures[:10])


def test_code_defined_blocks_match_the_code_they_are_read_from():
    assert build.stale_blocks(PROJECT_ROOT) == [], "run `python -m mmx_core docs`"
    blocks = {(doc, name): docblocks.parse_blocks((PROJECT_ROOT / doc).read_text())[name]
              for doc, name, _ in build.GENERATORS}
    recipe = blocks[("docs/model.md", "train-recipe")]
    assert includes.select_value(recipe, {"row": "fine", "col": "patience"}) == "0"
    assert includes.select_value(recipe, {"row": "fine", "col": "epochs"}) == f"{STAGE_RECIPES['fine']['epochs']:g}"
    paper = blocks[("docs/paper.md", "paper-tables")]
    assert includes.select_value(paper, {"table": "Table 2: summary", "row": "MMX-Trailer-20", "col": "F1w"}) == "0.597"
    assert includes.select_value(paper, {"table": "Table 2: summary", "row": "MMX-Trailer-20", "col": "AU(PRC)w"}) == "0.583"
    assert includes.select_value(paper, {"table": "Table 2: test-set", "row": "Thriller", "col": "printed column"}) == "Wstrn"
    explore = blocks[("docs/explore.md", "explore-defaults")]
    assert includes.select_value(explore, {"table": "`SubgenreClusterer`", "row": "min_cluster_size", "col": "default"}) == "40"


def test_synth_defaults_cover_every_knob_and_the_clip_cost_follows_the_dims():
    assert set(KNOBS) == {f.name for f in dataclasses.fields(SynthConfig)}
    small = SynthConfig(dims={"image": 4, "scene": 4, "motion": 2, "audio": 1}, audio_frames=(2, 2), missing_audio=0.5)
    assert clip_bytes(small) == 2 * (4 + 4 + 2 + 1 * 2 * 0.5)


def test_docs_command_writes_code_defined_blocks_and_check_flags_a_stale_one(tmp_path, capsys):
    root = _project(tmp_path, "Nothing measured here.\n")
    (root / "docs" / "model.md").write_text("# Model\n\n<!-- BEGIN GENERATED: train-recipe -->\nold\n<!-- END GENERATED: train-recipe -->\n")
    assert cli_main(["docs", "--check", "--root", str(root)]) == 1
    assert "docs/model.md#train-recipe: stale generated block" in capsys.readouterr().out
    assert cli_main(["docs", "--root", str(root)]) == 0
    text = (root / "docs" / "model.md").read_text()
    assert text.startswith("# Model\n") and "| fine |" in text and "old" not in text
    assert cli_main(["docs", "--check", "--root", str(root)]) == 0


def test_a_row_selector_takes_prefixes_with_a_star_for_any_text():
    block = ("| index | ms |\n| --- | --- |\n| ivf, probe 32 | 3 |\n| ivfpq, re-rank 10 | 1 |\n"
             "| ivfpq, re-rank 40 (default) | 2 |\n")
    assert includes.select_value(block, {"row": "ivf", "col": "ms"}) == "3"              # a prefix: first match
    assert includes.select_value(block, {"row": "ivfpq", "col": "ms"}) == "1"
    assert includes.select_value(block, {"row": "ivfpq*(default)", "col": "ms"}) == "2"
    with pytest.raises(MMXError, match="no table cell"):
        includes.select_value(block, {"row": "*(none)", "col": "ms"})


# Paths the docs name that are not in the repository by design: the user's own secrets file, a pattern.
NAMED_NOT_SHIPPED = {".streamlit/secrets.toml", "benchmarks/bench_NAME.py"}
PATH_IN_TEXT = re.compile(r"(?<![\w./-])((?:mmx_core|ui|pages|tests|benchmarks|docs|\.streamlit|\.ci|assets|models|testing)"
                          r"/[\w./*<>{}-]*)")


def test_every_project_path_the_docs_and_configs_name_exists():
    """A doc or config naming a moved or deleted file (a stale ``mmx_core/static/...``) fails here; generated blocks too."""
    files = [PROJECT_ROOT / "README.md", PROJECT_ROOT / "models" / "README.md", PROJECT_ROOT / ".streamlit" / "config.toml",
             PROJECT_ROOT / "Makefile", PROJECT_ROOT / ".ci" / "run", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
    missing = []
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in PATH_IN_TEXT.finditer(line):
                named = match.group(1).split("::")[0].split("#")[0].rstrip(".,;:)")
                if any(c in named for c in "*<>{}") or named in NAMED_NOT_SHIPPED:
                    continue
                if not (PROJECT_ROOT / named).exists():
                    missing.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {named}")
    assert not missing


def test_every_package_states_its_purpose_above_its_modules_in_the_module_map():
    rows = {path: summary for _, path, summary in module_summaries(PROJECT_ROOT)}
    packages = [path for path in rows if path.endswith("/")]
    assert {"mmx_core/", "mmx_core/base/", "mmx_core/trailers/", "mmx_core/docs/", "ui/"} <= set(packages)
    unfinished = [f"{path}: {rows[path]}" for path in packages if not rows[path].endswith((".", ".)", ")"))]
    assert not unfinished, "a package __init__.py docstring's first line says what the package is for, in one sentence"
    text = render_module_map(PROJECT_ROOT)
    assert text.index("| **`mmx_core/docs/`** |") < text.index("| `mmx_core/docs/build.py` |")
