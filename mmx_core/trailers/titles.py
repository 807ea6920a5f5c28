"""Display titles for titles published without spaces.

The published MMX titles have their spaces removed (``ItsOnlytheEndoftheWorld``).
:class:`TitleSegmenter` puts them back in two passes:

1. case boundaries, which the published titles keep: ``lowerUpper``,
   ``UPPERUpperlower``, ``digitUpper``, a number ending a word (``Runner2049`` ->
   ``Runner 2049``, but ``Se7en`` stays), a capital after a full stop
   (``A.I.Artificial`` -> ``A.I. Artificial``) and a letter after a comma
   (``Knows,Mr.`` -> ``Knows, Mr.``; ``10,000`` stays);
2. small words glued to the end of a word (``Endofthe``, ``Dayson``): each run of
   letters is segmented by the ``wordsegment`` library (Norvig's unigram and bigram
   counts, shipped inside its wheel, so it works offline). Title case writes every
   word capitalised except articles, conjunctions and short prepositions, so a
   split is kept only for the trailing words that title case writes in lower case
   (:data:`SMALL_WORDS`); whatever the library puts before them stays one word.
   ``Cloverfield`` stays whole although the library reads ``clover field``, and a
   name the library does not know stays one word before its small words
   (``Nobitaandthe`` -> ``Nobita and the``). Two more checks keep names whole: a
   word is split only when another word follows it (a title or a part after ``-``
   does not end in a small word: ``Bean``, ``Kon-Tiki``), and a lone ``a``, ``an``,
   ``to``, ``or``... is not split off a word the library does not know
   (``Malasana``, ``Apocalypto``).

A title written without any capital has no case to go by: there the library's
segmentation is taken as it is. :data:`OVERRIDES` lists the few published titles
the two passes get wrong (checked by hand). ``python -m benchmarks titles`` measures
all this on the published titles (docs/benchmarks.md, section ``titles``).
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from typing import Iterable, Mapping

# Words English title case writes in lower case: articles, coordinating
# conjunctions and short prepositions (plus "vs", as titles write it).
SMALL_WORDS = frozenset({"a", "an", "the", "and", "but", "or", "nor", "for",
                         "of", "in", "on", "at", "to", "by", "as", "from", "into", "with", "vs"})

# Short small words that seldom end a word or a name: split off even after a word
# the library does not know (Airlordsof, Timerangervs).
_RARE_ENDINGS = frozenset({"of", "vs"})

# Published title -> display title, where the two passes are wrong. Keep it short.
OVERRIDES: dict[str, str] = {
    "PlayTime": "PlayTime",
    "BatoMunikoPhool2": "Bato Muniko Phool 2",
    "BirthStory-InaMayGaskinandtheFarmMidwives": "Birth Story-Ina May Gaskin and the Farm Midwives",
    "ButImaCheerleader": "But Im a Cheerleader",
    "Dilan1991": "Dilan 1991",
    "HasanMinhaj-HomecomingKing": "Hasan Minhaj-Homecoming King",
    "HeavenisforReal": "Heaven is for Real",
    "MESSiAH": "MESSiAH",
}

_CASE_BOUNDARY = re.compile(
    r"(?<=[a-z])(?=[A-Z])"            # lowerUpper
    r"|(?<=[A-Z])(?=[A-Z][a-z])"      # UPPERUpperlower
    r"|(?<=[0-9])(?=[A-Z])"           # digitUpper
    r"|(?<=[a-z]\.)(?=[A-Z])"         # word. Next
    r"|(?<=[A-Z]\.)(?=[A-Z][a-z])"    # A.I.Artificial
    r"|(?<=[A-Za-z]{2}\.)(?=[0-9])"   # Vol.2 (not 20.000)
    r"|(?<=,)(?=[^\W\d_])"            # a comma before a letter (not 10,000)
    r"|(?<=[a-z])(?=[0-9]+(?![0-9a-z]))"  # Runner2049, not Se7en or 13th
)
# A run of letters (any script); only capitalised or lower-case runs are segmented:
# all-capital runs are acronyms and stay whole.
_RUN = re.compile(r"[^\W\d_]{2,}")


@functools.lru_cache(maxsize=1)
def _library_segmenter():
    """wordsegment's segmenter with its shipped counts loaded (about 1 s, once per process)."""
    import wordsegment

    segmenter = wordsegment.Segmenter()
    segmenter.load()
    return segmenter


class TitleSegmenter:
    """Respace published titles: case boundaries, then small words found by ``wordsegment``.

    Parameters
    ----------
    overrides : mapping of str to str, optional
        Published title -> display title, used as they are. Defaults to
        :data:`OVERRIDES`.
    small_words : iterable of str, optional
        Words a split may put after a word. Defaults to :data:`SMALL_WORDS`.

    Examples
    --------
    >>> segmenter = TitleSegmenter()
    >>> segmenter("20.000DaysonEarth")
    '20.000 Days on Earth'
    >>> segmenter("10CloverfieldLane")
    '10 Cloverfield Lane'
    """

    def __init__(self, overrides: Mapping[str, str] | None = None, small_words: Iterable[str] | None = None):
        self.overrides = OVERRIDES if overrides is None else overrides
        self.small_words = SMALL_WORDS if small_words is None else small_words

    def split_run(self, run: str, constrained: bool = True) -> list[str]:
        """Words of one run of letters, in its own case.

        With ``constrained``, only trailing small words are split off and what the
        library puts before them stays one word; without, the library's words as they are.
        """
        if not (run[1:].islower() and run[0].isalpha()):
            return [run]
        # ``é`` -> ``e``: the library knows ASCII only (one character for one, so positions hold)
        words = _library_segmenter().segment("".join(unicodedata.normalize("NFKD", c)[0] for c in run))
        if sum(map(len, words)) != len(run):  # the library drops characters it does not know
            return [run]
        if constrained:
            small = frozenset(self.small_words)
            tail = len(words)
            while tail > 1 and words[tail - 1] in small:
                tail -= 1
            if (tail == len(words) - 1 and len(words[-1]) <= 2 and words[-1] not in _RARE_ENDINGS
                    and "".join(words[:tail]) not in _library_segmenter().unigrams):
                tail = len(words)  # Malasana, Apocalypto: an unknown word that ends like a small word
            words = ["".join(words[:tail])] + words[tail:]
        ends = itertools.accumulate(map(len, words))
        return [run[end - len(word):end] for word, end in zip(words, ends)]

    def __call__(self, title: str) -> str:
        title = str(title)
        if title in self.overrides:
            return self.overrides[title]
        constrained = any(c.isupper() for c in title)
        spaced = _CASE_BOUNDARY.sub(" ", title)  # pass 1: spaces at case boundaries

        def respace(match: re.Match) -> str:
            after = spaced[match.end():].lstrip(" ")[:1]
            if constrained and not after.isalnum():
                return match.group(0)  # a small word does not end a title or a part (Bean, Kon-Tiki)
            pieces = self.split_run(match.group(0), constrained)
            text = " ".join(pieces)
            if len(pieces) > 1 and after.isdigit():
                text += " "  # Fridaythe13th -> Friday the 13th
            return text

        return " ".join(_RUN.sub(respace, spaced).split())


def display_titles(titles: Iterable[str]) -> list[str]:
    """Respace every title of a collection (see :class:`TitleSegmenter`)."""
    return list(map(TitleSegmenter(), titles))
