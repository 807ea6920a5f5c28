"""Display titles for titles published without spaces.

The published MMX titles have their spaces removed (``ItsOnlytheEndoftheWorld``).
:class:`TitleSpacer` puts them back in two passes:

1. case boundaries: ``lowerUpper``, ``UPPERUpperlower``, ``digitUpper``, a
   number ending a word (``Runner2049`` -> ``Runner 2049``, but ``Se7en`` stays) and a
   capital after a full stop (``A.I.Artificial`` -> ``A.I. Artificial``);
2. small lower-case words glued to the end of a capitalised word
   (``Endofthe`` -> ``End of the``), but only when the head is itself a word seen
   on its own at least twice in the collection. That is the "where it is clear"
   rule: ``Breathe`` stays whole because ``Brea`` is not a word of the
   collection; a short list of English words (``Within``) is never split.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

SMALL_WORDS = ("the", "of", "and", "in", "a", "to", "at", "as", "for", "from", "into", "with", "by")

# English words that end like a glued small word but are one word.
WHOLE_WORDS = frozenset({"within", "onto", "unto", "breathe", "bathe", "loathe", "soothe", "clothe", "seethe", "writhe"})

_CASE_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[0-9])(?=[A-Z])|(?<=[a-z]\.)(?=[A-Z])|(?<=[A-Z]\.)(?=[A-Z][a-z])|(?<=,)(?=\S)|(?<=[a-z])(?=[0-9]+(?![0-9a-z]))")
_TOKEN = re.compile(r"^[A-Z][a-z]*$")


def split_case(title: str) -> str:
    """Insert spaces at case boundaries only."""
    return _CASE_BOUNDARY.sub(" ", title)


class TitleSpacer:
    """Learns the words of a collection of titles and respaces each of them.

    Parameters
    ----------
    titles : iterable of str
        All titles of the collection; their case-split tokens form the vocabulary.

    Examples
    --------
    >>> spacer = TitleSpacer(["TheEnd", "EndGame", "ItsOnlytheEndoftheWorld", "OnlyYou", "OnlyOnce"])
    >>> spacer("ItsOnlytheEndoftheWorld")
    'Its Only the End of the World'
    """

    def __init__(self, titles: Iterable[str]):
        self.vocabulary_ = Counter(
            token for title in titles for token in split_case(str(title)).split() if _TOKEN.match(token)
        )

    def _split_token(self, token: str) -> list[str]:
        if not _TOKEN.match(token) or token.lower() in SMALL_WORDS or token.lower() in WHOLE_WORDS:
            return [token]
        best = self._strip_small_words(token, is_head=False)
        return best if best is not None else [token]

    def _strip_small_words(self, token: str, is_head: bool) -> list[str] | None:
        """Split ``token`` into a head word seen twice or more plus small words, or None."""
        if is_head and len(token) > 1 and self.vocabulary_.get(token, 0) >= 2:
            return [token]
        for word in SMALL_WORDS:
            if token.endswith(word) and len(token) > len(word):
                head = self._strip_small_words(token[: -len(word)], is_head=True)
                if head is not None:
                    return head + [word]
        return None

    def __call__(self, title: str) -> str:
        tokens = split_case(str(title)).split()
        return " ".join(part for token in tokens for part in self._split_token(token))


def display_titles(titles: Iterable[str]) -> list[str]:
    """Respace every title of a collection using the collection's own vocabulary."""
    titles = [str(t) for t in titles]
    spacer = TitleSpacer(titles)
    return [spacer(t) for t in titles]
