"""GET /v1/search: the interpretation, the results with their reasons, filters, new items,
searches stored as events that the profile reads."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def _search(api: TestClient, **params: Any) -> dict[str, Any]:
    answer = api.get("/v1/search", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_search_says_how_it_read_the_query_and_why_each_result(api: TestClient) -> None:
    item = api.get("/v1/items", params={"limit": 1}).json()["items"][0]
    leaf = item["category"][-1]
    body = _search(api, q=f"{leaf} under 10000", k=5)
    read = body["interpretation"]
    assert read["max_price"] == 10000 and read["categories"] == [leaf] and read["category_filter"]
    assert read["summary"].endswith("up to 10000")
    assert 0 < len(body["items"]) <= 5
    for found in body["items"]:
        assert found["category"][-1] == leaf and found["price"] <= 10000
        shares = found["explanation"]["sources"]
        assert set(shares) <= {"lexical", "semantic", "personal"}
        assert found["reason"]
    assert body["user_id"] is None


def test_the_filters_of_the_request_hold_beside_the_query(api: TestClient) -> None:
    body = _search(api, q="camera", max_price=100, k=20)
    assert body["items"]
    assert all(i["price"] <= 100 for i in body["items"])
    none = _search(api, q="camera", brand="no such brand")
    assert none["items"] == [] and none["reason"] == "no item passes the filters"


def test_a_bad_query_is_a_422_naming_it(api: TestClient) -> None:
    for params in ({}, {"q": ""}, {"q": "x" * 501}, {"q": "tent", "k": 0}):
        answer = api.get("/v1/search", params=params)
        assert answer.status_code == 422, params
        assert any("q" in e["loc"] or "k" in e["loc"] for e in answer.json()["detail"])


def test_an_item_posted_after_training_is_found_at_once(api: TestClient) -> None:
    posted = {
        "item_id": "search-new-1",
        "title": "Zorblax inflatable paddleboard",
        "description": "A stable board for lakes and calm seas.",
        "category": ["Outdoor", "Water Sports", "Paddleboards"],
        "brand": "Zorblax",
        "price": 399.0,
    }
    assert api.post("/v1/items", json={"items": [posted]}).status_code == 200
    body = _search(api, q="zorblax paddleboard")
    assert body["items"][0]["item_id"] == "search-new-1"


def test_a_stored_search_feeds_the_shoppers_profile(api: TestClient) -> None:
    user = "searcher-1"
    event = {
        "event_id": "search-1",
        "user_id": user,
        "type": "search",
        "query": "waterproof hiking backpack",
        "context": {"placement": "search", "shown": []},
    }
    assert api.post("/v1/events", json={"events": [event]}).json()["accepted"] == 1
    body = _search(api, q="backpack", user_id=user, k=3)
    assert body["user_id"] == user and body["items"]
    profile = api.get(f"/v1/users/{user}/profile").json()
    assert profile["activity"]["events"].get("search") == 1
    assert profile["searches"] == ["waterproof hiking backpack"]
