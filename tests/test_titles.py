"""Display titles: case boundaries, then small words found by the word-segmentation library."""

from __future__ import annotations

import csv
import socket
from pathlib import Path

import pytest

from mmx_core.trailers import titles
from mmx_core.trailers.published import published_metadata
from mmx_core.trailers.titles import OVERRIDES, TitleSegmenter, display_titles

LABELS = Path(__file__).resolve().parent.parent / "benchmarks" / "titles_labelled.tsv"


@pytest.fixture(scope="module")
def segmenter():
    return TitleSegmenter()


@pytest.mark.parametrize("title, shown", [
    ("20.000DaysonEarth", "20.000 Days on Earth"),
    ("ItsOnlytheEndoftheWorld", "Its Only the End of the World"),
    ("NoTimetoDie", "No Time to Die"),
    ("ChristmaswiththeKranks", "Christmas with the Kranks"),
    ("HooligansatWar-NorthvsSouth", "Hooligans at War-North vs South"),
    ("Fridaythe13th", "Friday the 13th"),
    ("GuardiansoftheGalaxyVol.2", "Guardians of the Galaxy Vol. 2"),
    ("10,000BC", "10,000 BC"),
    ("A.I.ArtificialIntelligence", "A.I. Artificial Intelligence"),
    ("00Days", "00 Days"),
    ("HeavenKnows,Mr.Allison", "Heaven Knows, Mr. Allison"),
])
def test_glued_small_words_and_case_boundaries_get_spaces(segmenter, title, shown):
    assert segmenter(title) == shown


@pytest.mark.parametrize("title, shown", [
    ("10CloverfieldLane", "10 Cloverfield Lane"),   # the library alone reads "clover field"
    ("Breathe", "Breathe"),
    ("Bean", "Bean"),                               # "be an": a small word does not end a title
    ("Kon-Tiki", "Kon-Tiki"),                       # ... nor a part before "-"
    ("32MalasanaStreet", "32 Malasana Street"),     # unknown word, lone "a": not split off
    ("Apocalypto", "Apocalypto"),
    ("ALEGOBrickumentary", "ALEGO Brickumentary"),  # all-capital runs stay whole
    ("CopandaHalf-NewRecruit", "Cop and a Half-New Recruit"),
    ("PokémontheMovie-ThePowerofUs", "Pokémon the Movie-The Power of Us"),
])
def test_names_stay_whole_and_split_only_before_small_words(segmenter, title, shown):
    assert segmenter(title) == shown


def test_title_without_capitals_takes_the_library_as_it_is(segmenter):
    assert segmenter("hismajestyssergeant") == "his majestys sergeant"
    assert segmenter.split_run("Cloverfield", constrained=False) == ["Clover", "field"]
    assert segmenter.split_run("Cloverfield") == ["Cloverfield"]


def test_overrides_win_and_are_few():
    assert TitleSegmenter()("PlayTime") == "PlayTime"
    assert TitleSegmenter(overrides={})("PlayTime") == "Play Time"
    assert TitleSegmenter(overrides={"PlayTime": "Playtime"})("PlayTime") == "Playtime"
    assert len(OVERRIDES) <= 12


def test_library_loads_its_counts_without_the_network(monkeypatch):
    import wordsegment

    def no_network(*args, **kwargs):
        raise OSError("network used")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    fresh = wordsegment.Segmenter()
    fresh.load()
    assert len(fresh.unigrams) > 300_000 and fresh.segment("daysonearth") == ["days", "on", "earth"]


def _labelled(sample: str) -> list[dict]:
    with open(LABELS, newline="", encoding="utf-8") as handle:
        return [r for r in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if r["sample"] == sample]


def test_labelled_samples_are_disjoint_and_the_tune_sample_is_right(segmenter):
    tune, test = _labelled("tune"), _labelled("test")
    assert len(tune) == len(test) == 100
    assert not {r["title"] for r in tune} & {r["title"] for r in test}
    for row in tune:
        assert row["label"].replace(" ", "") == row["title"].replace(" ", "")  # labels only add spaces
    assert [segmenter(r["title"]) for r in tune] == [r["label"] for r in tune]


def test_bundled_table_carries_the_library_display_titles():
    meta = published_metadata()
    sample = meta.iloc[::10]
    assert sample["display_title"].tolist() == display_titles(sample["title"])
    assert meta.loc[meta["title"] == "20.000DaysonEarth", "display_title"].tolist() == ["20.000 Days on Earth"]
    assert titles._library_segmenter() is titles._library_segmenter()
