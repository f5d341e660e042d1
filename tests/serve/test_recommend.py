"""Recommendations and similar items over HTTP: real time, new items, privacy, filters."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

Shop = Any


def _recs(api: TestClient, user: str, **params: Any) -> dict[str, Any]:
    answer = api.get(f"/v1/users/{user}/recommendations", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _view(api: TestClient, user: str, item: str, n: int = 0, kind: str = "view") -> None:
    event = {"event_id": f"{user}-{item}-{n}", "user_id": user, "item_id": item, "type": kind}
    assert api.post("/v1/events", json={"events": [event]}).json()["accepted"] == 1


def test_an_unknown_shopper_gets_trending_items_said_so(api: TestClient) -> None:
    body = _recs(api, "never-seen", k=10)
    assert len(body["items"]) == 10
    assert "trending" in body["reason"]
    assert all(
        i["reason"] == "trending now" or i["reason"].startswith("popular in") for i in body["items"]
    )
    scores = [i["score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True)


def test_a_new_view_changes_the_next_recommendations(api: TestClient, shop: Shop) -> None:
    viewed, partner = shop.truth.complementary_pairs[0]
    item = api.get(f"/v1/items/{viewed}").json()
    partner_leaf = api.get(f"/v1/items/{partner}").json()["category"]
    before = _recs(api, "rt-shopper", k=10)

    _view(api, "rt-shopper", viewed)
    after = _recs(api, "rt-shopper", k=10)

    assert after["reason"] is None  # no longer the unknown-shopper fallback
    assert [i["item_id"] for i in after["items"]] != [i["item_id"] for i in before["items"]]
    assert any(i["reason"] == f"because you viewed {item['title']}" for i in after["items"]), [
        (i["title"], i["reason"]) for i in after["items"]
    ]
    # The planted structure: what follows the viewed item is its own department or the
    # department of its planted complement.
    related = [
        i
        for i in after["items"]
        if i["category"][0] == item["category"][0] or i["category"] == partner_leaf
    ]
    assert len(related) >= 7, [(i["title"], i["category"]) for i in after["items"]]


def test_a_new_item_with_text_is_served_without_retraining(api: TestClient, shop: Shop) -> None:
    # Its twin is a new arrival nobody has touched, so text is all that relates the two.
    neighbour = shop.truth.cold_items[0]
    twin_of = api.get(f"/v1/items/{neighbour}").json()
    new = {
        "item_id": "fresh-arrival",
        "title": twin_of["title"] + " (new edition)",
        "description": twin_of["description"],
        "category": twin_of["category"],
        "brand": twin_of["brand"],
        "price": twin_of["price"],
    }
    assert api.get("/v1/items/fresh-arrival/similar").status_code == 404
    posted = api.post("/v1/items", json={"items": [new]}).json()
    assert posted == {"upserted": 1, "new": 1}

    similar = api.get(f"/v1/items/{neighbour}/similar", params={"k": 5}).json()
    assert similar["items"][0]["item_id"] == "fresh-arrival"
    assert similar["items"][0]["reason"] == f"similar to {twin_of['title']}"
    own = api.get("/v1/items/fresh-arrival/similar", params={"k": 5}).json()
    assert own["items"] and own["items"][0]["category"][0] == twin_of["category"][0]

    _view(api, "twin-fan", neighbour)
    recs = _recs(api, "twin-fan", k=20, exclude="seen")
    found = [i for i in recs["items"] if i["item_id"] == "fresh-arrival"]
    assert found, [i["item_id"] for i in recs["items"]]
    assert "content" in found[0]["models"]


def test_a_history_holding_items_posted_after_training_is_served(
    api: TestClient, shop: Shop
) -> None:
    # The fuzzer's 500: a shopper viewed items the models never saw (posted after training),
    # and the collaborative model's candidate shortcut read them past its catalogue.
    viewed, _ = shop.truth.complementary_pairs[0]
    new = [{"item_id": f"late-{n}", "title": f"Late arrival {n}", "price": 0} for n in range(3)]
    assert api.post("/v1/items", json={"items": new}).json()["new"] == 3
    for n in range(3):
        _view(api, "late-fan", f"late-{n}")
    _view(api, "late-fan", viewed)
    body = _recs(api, "late-fan", k=10, min_price=0, max_price=0)
    assert {i["item_id"] for i in body["items"]} <= {"late-0", "late-1", "late-2"}, body
    body = _recs(api, "late-fan", k=10)
    assert len(body["items"]) == 10 and body["reason"] is None
    title = api.get(f"/v1/items/{viewed}").json()["title"]
    assert any(i["reason"] == f"because you viewed {title}" for i in body["items"])
    why = api.get("/v1/users/late-fan/why-not/late-0", params={"k": 10})
    assert why.status_code == 200, why.text
    # Text relates the late arrivals to each other (content scores items it was never fit on).
    assert why.json()["served"] is True and "content" in why.json()["explanation"]["sources"]


def test_a_deleted_shopper_is_never_served_as_history_again(api: TestClient) -> None:
    shopper = "u00003"
    assert api.get(f"/v1/users/{shopper}/export").json()["events"]
    known = _recs(api, shopper, k=10)
    assert known["reason"] is None

    deleted = api.delete(f"/v1/users/{shopper}").json()
    assert deleted["deleted"] is True and deleted["events"] > 0

    assert _recs(api, shopper, k=10)["items"] == _recs(api, "someone-new", k=10)["items"]
    assert "trending" in _recs(api, shopper, k=10)["reason"]
    assert api.get(f"/v1/users/{shopper}/export").status_code == 404
    assert api.get(f"/v1/users/{shopper}/events").status_code == 404  # nothing stored
    assert api.get(f"/v1/users/{shopper}").status_code == 404


def test_export_returns_everything_stored(api: TestClient) -> None:
    api.post("/v1/users", json={"users": [{"user_id": "exp", "attributes": {"country": "FR"}}]})
    _view(api, "exp", "i00002")
    _view(api, "exp", "i00003", kind="purchase")
    export = api.get("/v1/users/exp/export").json()
    assert export["user"]["attributes"] == {"country": "FR"}
    assert [(e["item_id"], e["type"]) for e in export["events"]] == [
        ("i00002", "view"),
        ("i00003", "purchase"),
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"category": "Fashion"},
        {"category": ["Books", "Grocery"], "max_price": 20},
        {"exclude_category": ["Electronics", "Home & Kitchen"], "min_price": 30},
        {"brand": "Oakfield"},
        {"category": "Home & Kitchen > Cookware"},
    ],
)
def test_every_returned_item_passes_the_filters(api: TestClient, params: dict[str, Any]) -> None:
    for user in ("u00001", "u00020", "brand-new-shopper"):
        body = _recs(api, user, k=15, **params)
        assert body["items"], body
        for item in body["items"]:
            record = api.get(f"/v1/items/{item['item_id']}").json()
            assert record["available"]
            _check(params, record)
    similar = api.get("/v1/items/i00005/similar", params={"k": 10, **params}).json()
    for item in similar["items"]:
        _check(params, api.get(f"/v1/items/{item['item_id']}").json())


def _check(params: dict[str, Any], record: dict[str, Any]) -> None:
    def names(value: Any) -> list[str]:
        return [v.split(">")[-1].strip() for v in ([value] if isinstance(value, str) else value)]

    path = record["category"]
    if "category" in params:
        assert set(names(params["category"])) & set(path), (params, record)
    if "exclude_category" in params:
        assert not set(names(params["exclude_category"])) & set(path), (params, record)
    if "max_price" in params:
        assert record["price"] <= params["max_price"]
    if "min_price" in params:
        assert record["price"] >= params["min_price"]
    if "brand" in params:
        assert record["brand"] == params["brand"]


def test_purchases_are_excluded_by_default_and_seen_items_on_request(api: TestClient) -> None:
    _view(api, "excl", "i00030", kind="purchase")
    _view(api, "excl", "i00031")
    default = {i["item_id"] for i in _recs(api, "excl", k=50)["items"]}
    seen = {i["item_id"] for i in _recs(api, "excl", k=50, exclude="seen")["items"]}
    everything = {i["item_id"] for i in _recs(api, "excl", k=300, exclude="none")["items"]}
    assert "i00030" not in default
    assert not {"i00030", "i00031"} & seen
    assert {"i00030", "i00031"} <= everything


def test_no_item_passing_the_filters_is_an_empty_list_with_a_reason(api: TestClient) -> None:
    for user in ("u00001", "nobody-yet"):
        body = _recs(api, user, category="No Such Department")
        assert body["items"] == [] and "filter" in body["reason"]
    similar = api.get("/v1/items/i00001/similar", params={"min_price": 1e9}).json()
    assert similar["items"] == [] and similar["reason"]
    assert (
        api.get("/v1/users/u1/recommendations", params={"min_price": 9, "max_price": 1}).status_code
        == 422
    )


def test_similar_items_of_an_unknown_item_is_404(api: TestClient) -> None:
    assert api.get("/v1/items/no-such-item/similar").status_code == 404


def test_complementary_items_come_from_other_categories_each_with_its_evidence(
    api: TestClient, shop: Shop
) -> None:
    pairs = shop.truth.complementary_pairs
    partner_leaves = {}
    for a, b in pairs:
        partner_leaves.setdefault(a, api.get(f"/v1/items/{b}").json()["category"])
    hits = 0
    for source in list(partner_leaves)[:20]:
        answer = api.get(f"/v1/items/{source}/complementary", params={"k": 5})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        leaf = api.get(f"/v1/items/{source}").json()["category"]
        assert body["items"] and all(i["category"] != leaf for i in body["items"])
        assert all(i["reason"].startswith("goes with") for i in body["items"])
        assert all(i["models"][0] in ("bought with", "category") for i in body["items"])
        hits += body["items"][0]["category"] == partner_leaves[source]
    # The planted partner's leaf comes first far more often than chance (1 leaf in ~60; this
    # shop is small, so many leaves have no behaviour link yet: tests/relations measures more).
    assert hits >= 5, hits
    assert api.get("/v1/items/no-such-item/complementary").status_code == 404
