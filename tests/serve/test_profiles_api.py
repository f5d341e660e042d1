"""GET /v1/users/{id}/profile: the portrait of a shopper, current after every event."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

Shop = Any  # tests/serve/conftest.py's Shop (conftest modules are not imported by name)


def _shopper_with_history(api: TestClient, shop: Shop) -> str:
    for n in range(60):
        user = f"u{n:05d}"
        events = api.get(f"/v1/users/{user}/events", params={"limit": 1000}).json()["events"]
        if len(events) >= 20:
            return user
    raise AssertionError("no shopper with 20 events in the test shop")


def test_a_profile_is_made_of_the_shoppers_stored_events(api: TestClient, own_shop: Shop) -> None:
    user = _shopper_with_history(api, own_shop)
    events = api.get(f"/v1/users/{user}/events", params={"limit": 1000}).json()["events"]
    answer = api.get(f"/v1/users/{user}/profile")
    assert answer.status_code == 200
    profile = answer.json()
    assert profile["user_id"] == user and profile["bundle"] == own_shop.bundle
    assert profile["activity"]["events"] == dict(Counter(e["type"] for e in events))
    top = profile["categories"][0]
    assert top["level"] == 1
    assert abs(sum(a["share"] for a in top["affinities"]) - 1.0) < 1e-4
    first = top["affinities"][0]
    assert first["because"].startswith(f"{first['name']}: ")
    assert sum(first["evidence"]["counts"].values()) >= 1
    # The content model's texts give interests with readable tags; the vectors stay out.
    assert profile["interests"] and all(i["tags"] for i in profile["interests"])
    assert "vector" not in profile["interests"][0]
    assert profile["price"]["band"] in {"budget", "mid", "premium"}
    assert profile["activity"]["lifecycle"] in {"new", "active", "at_risk", "lapsed"}


def test_the_next_event_shows_in_the_next_profile(api: TestClient) -> None:
    items = api.get("/v1/items", params={"limit": 200}).json()["items"]
    item = next(i for i in items if i["category"])
    before = api.get("/v1/users/u00001/profile").json()
    root = item["category"][0]
    old = next((a for a in before["categories"][0]["affinities"] if a["name"] == root), None)
    rows = [
        {"event_id": f"p-{n}", "user_id": "u00001", "item_id": item["item_id"], "type": "purchase",
         "timestamp": "2024-04-29T10:00:00Z"}
        for n in range(3)
    ]  # fmt: skip
    assert api.post("/v1/events", json={"events": rows}).status_code == 200
    after = api.get("/v1/users/u00001/profile").json()
    new = next(a for a in after["categories"][0]["affinities"] if a["name"] == root)
    bought = (old or {"evidence": {"counts": {}}})["evidence"]["counts"].get("purchase", 0)
    assert new["evidence"]["counts"]["purchase"] == bought + 3
    assert after["activity"]["purchases"] == before["activity"]["purchases"] + 3


def test_a_new_shopper_gets_a_profile_from_one_event_and_an_unknown_one_a_404(
    api: TestClient,
) -> None:
    missing = api.get("/v1/users/nobody-at-all/profile")
    assert missing.status_code == 404 and "nobody-at-all" in missing.json()["detail"]
    event = {"event_id": "first", "user_id": "newcomer", "item_id": "i00002", "type": "view"}
    assert api.post("/v1/events", json={"events": [event]}).status_code == 200
    profile = api.get("/v1/users/newcomer/profile").json()
    assert profile["activity"]["events"] == {"view": 1}
    assert profile["activity"]["sessions"] == 1


def test_export_holds_the_profile_and_deletion_removes_it(api: TestClient) -> None:
    exported = api.get("/v1/users/u00002/export").json()
    profile = api.get("/v1/users/u00002/profile").json()
    assert exported["profile"]["activity"] == profile["activity"]
    assert exported["profile"]["categories"] == profile["categories"]
    assert api.delete("/v1/users/u00002").status_code == 200
    assert api.get("/v1/users/u00002/profile").status_code == 404


def test_segments_are_listed_paged_and_forget_a_deleted_shopper(api: TestClient) -> None:
    listing = api.get("/v1/segments").json()
    assert listing["criterion"] == "silhouette"
    sizes = [s["size"] for s in listing["segments"]]
    assert sizes == sorted(sizes, reverse=True) and len(sizes) >= 2
    first = listing["segments"][0]
    page = api.get(f"/v1/segments/{first['id']}", params={"limit": 5}).json()
    assert page["total"] == first["size"] and len(page["members"]) == 5
    rest = api.get(f"/v1/segments/{first['id']}", params={"limit": 5, "offset": 5}).json()
    assert not set(rest["members"]) & set(page["members"])
    member = page["members"][0]
    # The member's profile falls in that segment now too.
    assert api.get(f"/v1/users/{member}/profile").json()["segment"]["id"] == first["id"]
    assert api.delete(f"/v1/users/{member}").status_code == 200
    after = api.get(f"/v1/segments/{first['id']}", params={"limit": 1000}).json()
    assert after["total"] == first["size"] - 1 and member not in after["members"]
    missing = api.get("/v1/segments/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_a_rule_segment_is_sized_at_once_listed_paged_and_deleted(api: TestClient) -> None:
    item = next(
        i for i in api.get("/v1/items", params={"limit": 50}).json()["items"] if i["category"]
    )
    root = item["category"][0]
    body = {
        "name": f"{root} buyers",
        "rules": [{"bought_in": root}, {"lifecycle": ["new", "active", "at_risk", "lapsed"]}],
    }
    made = api.post("/v1/segments", json=body)
    assert made.status_code == 201
    answer = made.json()
    segment = answer["segment"]
    assert segment["id"] == "r1" and segment["kind"] == "rule" and segment["size"] > 0
    assert answer["total"] == segment["size"] and len(answer["members"]) == min(
        100, segment["size"]
    )
    member = answer["members"][0]
    events = api.get(f"/v1/users/{member}/events", params={"limit": 1000}).json()["events"]
    bought = {e["item_id"] for e in events if e["type"] == "purchase"}
    paths = {
        i["item_id"]: i["category"]
        for i in api.get("/v1/items", params={"limit": 1000}).json()["items"]
    }
    assert any(paths.get(i, [None])[0] == root for i in bought)
    listed = api.get("/v1/segments").json()["rules"]
    assert [(r["id"], r["size"]) for r in listed] == [("r1", segment["size"])]
    page = api.get("/v1/segments/r1", params={"limit": 3, "offset": 1}).json()
    assert page["members"] == answer["members"][1:4] and page["segment"]["name"] == body["name"]
    assert api.delete("/v1/segments/r1").json() == {"deleted": True}
    assert api.get("/v1/segments/r1").status_code == 404


def test_a_bad_rule_is_a_422_naming_the_rule_and_field(api: TestClient) -> None:
    bad = {"name": "x", "rules": [{"bought_in": "Outdoor"}, {"bought_in": "A", "within_days": -3}]}
    answer = api.post("/v1/segments", json=bad)
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["loc"] == ["body", "rules", 1, "within_days"]
    assert api.get("/v1/segments").json()["rules"] == []  # nothing half-written


def test_an_items_audience_is_the_models_run_in_reverse_and_exports_as_csv(
    api: TestClient,
) -> None:
    events = api.get("/v1/users/u00001/events", params={"limit": 1000}).json()["events"]
    item = next(e["item_id"] for e in events if e["type"] == "purchase")  # one shoppers choose
    answer = api.get(f"/v1/items/{item}/audience", params={"k": 20})
    assert answer.status_code == 200
    members = answer.json()["members"]
    assert 0 < len(members) <= 20
    scores = [m["score"] for m in members]
    assert scores == sorted(scores, reverse=True)
    assert all(m["reason"] for m in members)
    top = members[0]
    assert sum(top["sources"].values()) == pytest.approx(top["score"], abs=1e-3)
    # A reason that names a history item names one the shopper really chose.
    assert any(m["reason"].startswith("they chose ") for m in members[:5])
    for m in members[:5]:
        if m["reason"].startswith("they chose "):
            events = api.get(f"/v1/users/{m['user_id']}/events", params={"limit": 1000})
            titles = {repr(e["title"]) for e in events.json()["events"] if e.get("title")}
            named = m["reason"].removeprefix("they chose ").split(", which shoppers")[0]
            assert named in titles, (named, m)
    csv_answer = api.get(f"/v1/items/{item}/audience", params={"k": 20, "format": "csv"})
    assert csv_answer.headers["content-type"].startswith("text/csv")
    lines = csv_answer.text.strip().splitlines()
    assert lines[0] == "user_id,score,reason" and len(lines) == len(members) + 1
    assert lines[1].split(",")[0] == members[0]["user_id"]
    # A deleted shopper is never listed again.
    assert api.delete(f"/v1/users/{top['user_id']}").status_code == 200
    again = api.get(f"/v1/items/{item}/audience", params={"k": 20}).json()["members"]
    assert top["user_id"] not in [m["user_id"] for m in again]
    assert api.get("/v1/items/no-such/audience").status_code == 404
