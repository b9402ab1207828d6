from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mercato.kit.searchtext import needle, search_text

words = st.text(alphabet=st.sampled_from("abcXYZ019连衣裙手机茶T恤-"), min_size=1, max_size=12)


@given(st.lists(words, min_size=1, max_size=5), st.data())
def test_every_piece_of_a_word_is_found(title_words: list[str], data: st.DataObject) -> None:
    # given a title and any substring of one of its words
    title = " ".join(title_words)
    word = data.draw(st.sampled_from(title_words))
    start = data.draw(st.integers(0, len(word) - 1))
    end = data.draw(st.integers(start + 1, len(word)))
    # then its needle occurs in the indexed text, in any case
    assert needle(word[start:end].upper()) in search_text(title)


@given(st.lists(words, min_size=1, max_size=5), st.text(min_size=1, max_size=2))
def test_short_needles_only_match_real_pieces(title_words: list[str], term: str) -> None:
    title = " ".join(title_words)
    if needle(term) in search_text(title):
        assert term.lower() in title.lower()


@given(st.lists(words, min_size=1, max_size=5))
def test_punctuation_matches_only_when_the_title_has_it(title_words: list[str]) -> None:
    text = search_text(" ".join(title_words))
    for term in ("|", "||", ";", " "):
        assert (needle(term) in text) == (term.strip() != "" and term in " ".join(title_words))


def test_shape() -> None:
    assert search_text("T恤 5G") == "t恤 5g 5 5g g t t恤 恤 "
    assert needle("手机") == " 手机 " and needle("DRESS") == "dress"
