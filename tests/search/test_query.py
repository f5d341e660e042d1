"""Query understanding: price bounds in English and Chinese, brands and categories as filters."""

from __future__ import annotations

import pytest

from shopmind.search.query import Vocabulary, parse_query

VOCAB = Vocabulary.build(
    ["Canon", "Peak Design", "李宁"],
    [
        ("Electronics", "Cameras", "Mirrorless Cameras"),
        ("Fashion", "Bags", "Camera Bags"),
        ("Sports & Fitness", "Running", "Running Shoes"),
        ("运动", "跑步", "跑步鞋"),
    ],
)


@pytest.mark.parametrize(
    ("query", "low", "high", "text"),
    [
        ("running shoes under 50", None, 50.0, "running shoes"),
        ("below $30 camera bag", None, 30.0, "camera bag"),
        ("lenses less than 299.99", None, 299.99, "lenses"),
        ("cameras between 10 and 20", 10.0, 20.0, "cameras"),
        ("$10 to $20 camera strap", 10.0, 20.0, "camera strap"),
        ("tent 100-200 euros", 100.0, 200.0, "tent"),
        ("headphones over 100", 100.0, None, "headphones"),
        ("跑步鞋50元以内", None, 50.0, "跑步鞋"),
        ("100块以下的保温杯", None, 100.0, "保温杯"),
        ("耳机200元以上", 200.0, None, "耳机"),
        ("鞋10到20元", 10.0, 20.0, "鞋"),
        ("mirrorless cameras 24MP", None, None, "mirrorless cameras 24mp"),
    ],
)
def test_price_phrases_become_bounds_and_leave_the_words(
    query: str, low: float | None, high: float | None, text: str
) -> None:
    found = parse_query(query, VOCAB)
    assert (found.min_price, found.max_price) == (low, high)
    assert found.text == text


def test_a_reversed_range_is_read_the_right_way_round() -> None:
    found = parse_query("between 80 and 20", VOCAB)
    assert (found.min_price, found.max_price) == (20.0, 80.0)


def test_brands_are_filters_and_the_longest_category_name_wins() -> None:
    found = parse_query("peak design camera bags under $80", VOCAB)
    assert found.brands == ["Peak Design"]
    assert found.categories == ["Camera Bags"]  # not "Cameras", not "Bags"
    assert found.category_filter
    assert "brand Peak Design" in found.summary() and "up to 80" in found.summary()


def test_a_category_is_a_filter_only_when_the_query_is_nothing_else() -> None:
    only = parse_query("running shoes", VOCAB)
    assert only.categories == ["Running Shoes"] and only.category_filter
    # The deepest name of a path is kept; naming its parent too says nothing more.
    assert parse_query("cameras mirrorless cameras", VOCAB).categories == ["Mirrorless Cameras"]
    # Other words beside it: "camera" describes what is wanted, it does not fence it in.
    described = parse_query("waterproof running shoes for trails", VOCAB)
    assert described.categories == ["Running Shoes"] and not described.category_filter
    # Two unrelated categories: which one is meant is for retrieval to weigh.
    both = parse_query("bag for my camera", VOCAB)
    assert not both.category_filter
    chinese = parse_query("李宁跑步鞋300元以内", VOCAB)
    assert chinese.brands == ["李宁"] and chinese.categories == ["跑步鞋"]
    assert chinese.category_filter and chinese.max_price == 300.0


def test_an_empty_vocabulary_still_reads_prices() -> None:
    found = parse_query("anything under 5")
    assert found.max_price == 5.0 and not found.brands and not found.categories
    assert found.to_json()["summary"] == "anything · up to 5"
