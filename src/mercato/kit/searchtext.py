"""How item titles are indexed for search, and how query terms address that index.

Both engines index trigrams: every run of three characters, which needs no word segmentation
and so serves Chinese and English alike. A term of three or more characters is looked up as it
is. Shorter terms have no trigram of their own, and most Chinese words are two characters
(手机, 茶叶); so the indexed text also carries every one- and two-character piece of the title
as a space-delimited word, and a short term is looked up as that word: ``" 手机 "``.

Everything is lower-cased here, so matching ignores case on both engines.
"""

from __future__ import annotations

TRIGRAM = 3


def search_text(title: str) -> str:
    """The text to index for a title: the title, then its short pieces as words."""
    folded = title.lower()
    pieces = {
        word[i : i + n] for word in folded.split() for n in (1, 2) for i in range(len(word) - n + 1)
    }
    # Spaces only between and after the pieces: a query term never holds whitespace, so no
    # needle can match a separator, and the trailing space makes the last piece a whole word.
    return f"{folded} {' '.join(sorted(pieces))} "


def needle(term: str) -> str:
    """The substring of ``search_text`` that a query term must match."""
    term = term.lower()
    return term if len(term) >= TRIGRAM else f" {term} "
