"""The ranking pipeline over HTTP: explanations, "why not", and rules set by an admin."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import Shop


def _view(api: TestClient, user: str, item: str, n: int = 0) -> None:
    event = {
        "event_id": f"{user}-{item}-{n}",
        "user_id": user,
        "item_id": item,
        "type": "view",
        "timestamp": 1_717_200_000 + n,
    }
    assert api.post("/v1/events", json={"events": [event]}).status_code == 200


def test_every_item_carries_its_explanation_and_full_lists_the_dropped(api: TestClient) -> None:
    _view(api, "ex-1", "i00010")
    _view(api, "ex-1", "i00011", 1)
    body = api.get("/v1/users/ex-1/recommendations", params={"k": 5}).json()
    assert body["dropped"] is None
    for item in body["items"]:
        explanation = item["explanation"]
        assert explanation["sentence"] == item["reason"]
        assert abs(sum(explanation["sources"].values()) - 1) < 1e-3
    full = api.get("/v1/users/ex-1/recommendations", params={"k": 5, "explain": "full"}).json()
    assert [i["item_id"] for i in full["items"]] == [i["item_id"] for i in body["items"]]
    served = {i["item_id"] for i in full["items"]}
    assert full["dropped"] and not served & {d["item_id"] for d in full["dropped"]}
    assert {d["why"] for d in full["dropped"]} <= {"out-ranked", "collapsed", "capped"}


def test_why_not_answers_for_one_shopper_and_item(api: TestClient) -> None:
    _view(api, "ex-2", "i00020")
    first = api.get("/v1/users/ex-2/recommendations", params={"k": 3}).json()["items"][0]
    served = api.get(f"/v1/users/ex-2/why-not/{first['item_id']}", params={"k": 3}).json()
    assert served["served"] is True and served["position"] == 0
    just_viewed = api.get("/v1/users/ex-2/why-not/i00020").json()
    assert just_viewed == {
        "item_id": "i00020",
        "served": False,
        "stage": "allowed",
        "why": "excluded: recent",
    }
    assert api.get("/v1/users/ex-2/why-not/no-such-item").status_code == 404


def test_rules_set_by_an_admin_change_the_next_answer(api: TestClient, own_shop: Shop) -> None:
    _view(api, "ex-3", "i00030")
    before = api.get("/v1/users/ex-3/recommendations", params={"k": 5}).json()["items"]
    hidden = before[0]["item_id"]
    assert api.get("/v1/admin/rules").json()["version"] is None  # never set: the defaults
    bad = api.put("/v1/admin/rules", json={"rules": [{"name": "x", "action": "pin"}]})
    assert bad.status_code == 422 and "rules[0] 'x'" in bad.json()["detail"]
    assert api.put("/v1/admin/rules", content=b"not json").status_code == 400
    done = api.put(
        "/v1/admin/rules", json={"rules": [{"name": "no-top", "action": "hide", "items": [hidden]}]}
    )
    assert done.status_code == 200
    after = api.get("/v1/users/ex-3/recommendations", params={"k": 5}).json()["items"]
    assert hidden not in [i["item_id"] for i in after] and len(after) == 5
    why = api.get(f"/v1/users/ex-3/why-not/{hidden}").json()
    assert why["stage"] == "allowed" and "rule 'no-top' (hide)" in why["why"]
    active = api.get("/v1/admin/rules").json()
    assert active["version"] == done.json()["version"] and active["versions"] == [active["version"]]
    assert (own_shop.home / "rules" / f"{active['version']}.json").exists()


def _buy(api: TestClient, user: str, item: str) -> None:
    events = [
        {"event_id": f"{user}-{item}-{kind}", "user_id": user, "item_id": item, "type": kind}
        for kind in ("view", "purchase")
    ]
    assert api.post("/v1/events", json={"events": events}).json()["accepted"] == 2


def _linked_source(api: TestClient, own_shop: Shop) -> tuple[str, list[str]]:
    """A planted complement source whose leaf the category graph links onwards, and the
    planted target leaf's path."""
    for source, partner in own_shop.truth.complementary_pairs:
        answer = api.get(f"/v1/items/{source}/complementary", params={"k": 3}).json()
        target = api.get(f"/v1/items/{partner}").json()["category"]
        if answer["items"] and answer["items"][0]["category"] == target:
            return source, target
    raise AssertionError("no planted source with a complement in its partner's leaf")


def test_the_cross_category_row_is_new_categories_the_graph_links_to(
    api: TestClient, own_shop: Shop
) -> None:
    source, target = _linked_source(api, own_shop)
    leaf = api.get(f"/v1/items/{source}").json()["category"]
    _buy(api, "explorer", source)
    body = api.get("/v1/users/explorer/cross-category", params={"k": 10}).json()
    assert body["items"], body
    assert all(i["category"] != leaf for i in body["items"])  # never the shopper's own category
    assert target in [i["category"] for i in body["items"]], [i["category"] for i in body["items"]]
    assert all(i["reason"].startswith("new for you: shoppers who buy in ") for i in body["items"])
    assert all(i["reason"].endswith(i["category"][-1]) for i in body["items"])
    # Nothing to go across from: an empty row that says why.
    empty = api.get("/v1/users/nobody-yet/cross-category").json()
    assert empty["items"] == [] and "links to a new one" in empty["reason"]


def test_a_blocked_transition_is_never_made_and_the_rules_say_what_is_wrong(
    api: TestClient, own_shop: Shop
) -> None:
    source, target = _linked_source(api, own_shop)
    leaf = api.get(f"/v1/items/{source}").json()["category"]
    _buy(api, "blocked", source)
    bad = api.put("/v1/admin/rules", json={"transitions": {"block": [{"source": leaf[-1]}]}})
    assert bad.status_code == 422 and "target" in bad.json()["detail"]
    block = {"transitions": {"block": [{"source": leaf[-1], "target": target[-1]}]}}
    assert api.put("/v1/admin/rules", json=block).status_code == 200
    row = api.get("/v1/users/blocked/cross-category", params={"k": 20}).json()["items"]
    goes = api.get(f"/v1/items/{source}/complementary", params={"k": 20}).json()["items"]
    assert goes, "other transitions still give complements"
    assert target not in [i["category"] for i in row + goes]
    # Only the allowed ones, when a shop lists them.
    allow = {"transitions": {"allow": [{"source": leaf[-1], "target": target[-1]}]}}
    assert api.put("/v1/admin/rules", json=allow).status_code == 200
    goes = api.get(f"/v1/items/{source}/complementary", params={"k": 20}).json()["items"]
    assert goes and all(i["category"] == target for i in goes)


def test_a_minimum_share_of_new_categories_in_the_main_list(
    api: TestClient, own_shop: Shop
) -> None:
    source, _ = _linked_source(api, own_shop)
    _buy(api, "mixer", source)
    mine = {tuple(api.get(f"/v1/items/{source}").json()["category"])}

    def new_share() -> float:
        items = api.get("/v1/users/mixer/recommendations", params={"k": 10}).json()["items"]
        return sum(tuple(i["category"]) not in mine for i in items) / len(items)

    before = new_share()
    rules = {"placements": {"for_you": {"recent": 1, "new_categories": 0.8}}}
    assert api.put("/v1/admin/rules", json=rules).status_code == 200
    assert new_share() >= 0.8 > before, before
    too_much = {"placements": {"for_you": {"new_categories": 1.5}}}
    assert api.put("/v1/admin/rules", json=too_much).status_code == 422
