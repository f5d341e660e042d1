"""BM25 over the item fields: weights, misspellings, Chinese words, items posted after training."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shopmind.catalog.schema import Item
from shopmind.data.dataset import ItemSide
from shopmind.search.lexical import LexicalIndex
from shopmind.search.tokens import tokens


def _side(*rows: tuple[str, str, tuple[str, ...]]) -> ItemSide:
    return ItemSide.from_items(
        [
            Item(id=f"i{n}", title=title, description=text, category_path=path, brand="Acme")
            for n, (title, text, path) in enumerate(rows)
        ]
    )


SIDE = _side(
    ("Trail tent for two", "A light shelter.", ("Outdoor", "Tents")),
    ("Camping stove", "Cooks dinner in your tent at night.", ("Outdoor", "Stoves")),
    ("Mirrorless camera", "Compact body with 24MP sensor.", ("Electronics", "Cameras")),
    ("数码相机 轻便", "适合旅行拍照。", ("数码", "相机")),
)


def _top(index: LexicalIndex, query: str) -> list[int]:
    terms, _ = index.correct(tokens(query))
    scores = index.scores(terms)
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order if scores[i] > 0]


def test_a_title_match_outranks_a_description_match() -> None:
    index = LexicalIndex.build(SIDE)
    assert _top(index, "tent") == [0, 1]
    assert _top(index, "cameras") == [2]  # stemmed: "cameras" finds "camera"
    assert _top(index, "pizza") == []


def test_misspelt_words_are_read_as_the_catalogue_word() -> None:
    index = LexicalIndex.build(SIDE)
    corrected, fixed = index.correct(tokens("mirorless camrea"))
    assert corrected == ["mirrorless", "camera"]
    assert fixed == {"mirorless": "mirrorless", "camrea": "camera"}
    assert _top(index, "mirorless camrea") == [2]
    # Short words are never "corrected" into other words.
    assert index.correct(["tant"]) == (["tant"], {})


def test_chinese_text_is_segmented_so_a_short_word_finds_a_long_one() -> None:
    index = LexicalIndex.build(SIDE)
    assert _top(index, "相机") == [3]
    assert _top(index, "旅行用的数码相机") == [3]


def test_items_posted_after_training_are_found_at_once(tmp_path: Path) -> None:
    index = LexicalIndex.build(SIDE)
    index.save(tmp_path / "lexical")
    loaded = LexicalIndex.load(tmp_path / "lexical")
    assert np.array_equal(loaded.scores(["tent"]), index.scores(["tent"]))
    grown = _side(
        *[(SIDE.title[i], SIDE.description[i], SIDE.category[i]) for i in range(4)],
        ("Inflatable kayak", "Stable on lakes.", ("Outdoor", "Kayaks")),
    )
    loaded.catch_up(grown)
    assert loaded.n_items == 5
    assert _top(loaded, "kayak") == [4]
    assert _top(loaded, "kayk") == []  # four letters: too short to correct
