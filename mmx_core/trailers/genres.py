"""The paper's genre vocabulary and its test-set support (Table 2).

Table 2 of the paper prints Western with support 181 and Thriller with 12. Among
the 7,594 published trailers Thriller tags 1,517 and Western 99, so the two
labels are very likely swapped in the table's header; :data:`PAPER_SUPPORT`
uses Thriller 181 and Western 12 (see docs/data-format.md).
"""

from __future__ import annotations

PAPER_GENRES: tuple[str, ...] = (
    "Action", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary", "Drama", "Family",
    "Fantasy", "History", "Horror", "Music", "Mystery", "Sci-Fi", "Short", "Sport", "Thriller", "War", "Western",
)

PAPER_SUPPORT: dict[str, int] = {
    "Action": 130, "Adventure": 197, "Animation": 46, "Biography": 13, "Comedy": 224, "Crime": 102,
    "Documentary": 87, "Drama": 267, "Family": 117, "Fantasy": 115, "History": 44, "Horror": 104,
    "Mystery": 41, "Music": 86, "Sci-Fi": 107, "Thriller": 181, "Sport": 30, "Short": 45, "Western": 12, "War": 21,
}

# Table 2's abbreviated column names -> genre (with the Western/Thriller swap undone).
TABLE2_COLUMNS: dict[str, str] = {
    "Actn": "Action", "Advnt": "Adventure", "Animtn": "Animation", "Bio": "Biography", "Cmdy": "Comedy",
    "Crme": "Crime", "Doc": "Documentary", "Drma": "Drama", "Famly": "Family", "Fntsy": "Fantasy",
    "Hstry": "History", "Hrror": "Horror", "Mystry": "Mystery", "Music": "Music", "SciFi": "Sci-Fi",
    "Wstrn": "Thriller", "Sprt": "Sport", "Shrt": "Short", "Thrll": "Western", "War": "War",
}
