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
