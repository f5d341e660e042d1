"""The online loop over HTTP: answers say what they are, the storefront's impressions and
clicks are attributed, the online metrics per group, and A/B experiments between bundles."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopmind.catalog.store import Store
from shopmind.training.config import TrainConfig

Shop = Any
#: An experiment whose second arm names a bundle that does not exist.
NO_SUCH_BUNDLE = {
    "name": "x",
    "arms": [
        {"name": "a", "share": 0.5},
        {"name": "b", "bundle": "20990101T000000Z-abcdef", "share": 0.5},
    ],
}
POPULARITY = TrainConfig(models={"pop": {}}, max_validation_rows=100, search=None)


def _impression(user: str, answer: dict[str, Any]) -> dict[str, Any]:
    context = {
        "request_id": answer["request_id"],
        "placement": answer["placement"],
        "items": [i["item_id"] for i in answer["items"]],
        "bundle": answer["bundle"],
    }
    if answer.get("experiment"):
        context |= {"experiment": answer["experiment"], "arm": answer["arm"]}
    return {
        "event_id": f"impression-{answer['request_id']}",
        "user_id": user,
        "type": "impression",
        "context": context,
    }


def _event(user: str, item: str, kind: str, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"{user}-{item}-{kind}-{n}",
        "user_id": user,
        "item_id": item,
        "type": kind,
        **extra,
    }


def _post(api: TestClient, *events: dict[str, Any]) -> dict[str, Any]:
    answer = api.post("/v1/events", json={"events": list(events)})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_served_list_carries_a_request_id_and_its_placement(
    api: TestClient, shop: Shop
) -> None:
    item = shop.truth.complementary_pairs[0][0]
    answers = {
        "for_you": api.get("/v1/users/u00001/recommendations?k=5").json(),
        "cross_category": api.get("/v1/users/u00001/cross-category?k=5").json(),
        "similar": api.get(f"/v1/items/{item}/similar?k=5&user_id=u00001").json(),
        "complementary": api.get(f"/v1/items/{item}/complementary?k=5").json(),
        "search": api.get("/v1/search?q=shoes&k=5").json(),
    }
    ids = set()
    for placement, answer in answers.items():
        assert answer["placement"] == placement
        assert answer["bundle"] == shop.bundle and answer["experiment"] is None
        ids.add(answer["request_id"])
    assert len(ids) == 5 and all(len(i) == 32 for i in ids)
    again = api.get("/v1/users/u00001/recommendations?k=5").json()
    assert again["request_id"] not in ids


def test_an_impression_must_say_what_was_shown(api: TestClient) -> None:
    bad = [
        ({"placement": "for_you", "items": ["i1"]}, "context.request_id"),
        ({"request_id": "r", "items": ["i1"]}, "context.placement"),
        ({"request_id": "r", "placement": "for_you", "items": []}, "context.items"),
        ({"request_id": "r", "placement": "for_you", "items": [3]}, "context.items"),
        ({"request_id": "r", "placement": "for_you", "items": ["a"], "arm": 2}, "context.arm"),
    ]
    for context, says in bad:
        event = {"event_id": "e", "user_id": "u", "type": "impression", "context": context}
        answer = api.post(
            "/v1/events",
            json={
                "events": [
                    {"event_id": "ok", "user_id": "u", "item_id": "i1", "type": "view"},
                    event,
                ]
            },
        )
        assert answer.status_code == 422, context
        [error] = answer.json()["detail"]
        assert error["loc"][:4] == ["body", "events", 1, "context"] and says in error["msg"]
    assert api.get("/v1/users/u/events").status_code == 404  # the good row did not land either


def test_clicks_and_later_purchases_count_for_the_list_that_showed_them(api: TestClient) -> None:
    shown = api.get("/v1/users/u00002/recommendations?k=4").json()
    items = [i["item_id"] for i in shown["items"]]
    impression = _impression("u00002", shown)
    assert _post(api, impression) == {"accepted": 1, "duplicates": 0}
    assert _post(api, impression) == {"accepted": 0, "duplicates": 1}  # idempotent
    clicked = {"request_id": shown["request_id"], "placement": "for_you", "position": 2}
    _post(
        api,
        _event("u00002", items[1], "click", 1, context=clicked),
        _event("u00002", items[1], "add_to_cart", 1),
        _event("u00002", items[1], "purchase", 1, value=42.0),
    )
    figures = api.get("/v1/metrics/online?by=placement").json()
    [group] = figures["groups"]
    assert group["key"] == "for_you" and group["lists"] == 1 and group["impressions"] == 4
    assert (group["clicks"], group["carts"], group["purchases"]) == (1, 1, 1)
    assert group["ctr"] == 0.25 and group["cvr"] == 0.25 and group["revenue"] == 42.0
    assert figures["attributed"] == {
        "click.request": 1,
        "add_to_cart.window": 1,
        "purchase.window": 1,
    }
    by_bundle = api.get("/v1/metrics/online?by=bundle").json()["groups"]
    assert [g["key"] for g in by_bundle] == [shown["bundle"]]
    assert api.get("/v1/metrics/online?by=day").json()["groups"][0]["impressions"] == 4
    # A window of nothing before the impression: nothing in it.
    early = api.get("/v1/metrics/online?since=2000-01-01&until=2001-01-01T00:00:00Z").json()
    assert early["groups"] == []
    refused = api.get("/v1/metrics/online?since=2024-01-02&until=2024-01-01")
    assert refused.status_code == 422 and "since is after until" in refused.text
    assert api.get("/v1/metrics/online?since=yesterday").status_code == 422


def test_impressions_are_not_behaviour_and_go_with_the_shopper(
    api: TestClient, own_shop: Shop
) -> None:
    shown = api.get("/v1/users/u00003/recommendations?k=5").json()
    before = api.get("/v1/users/u00003/profile").json()["activity"]["events"]
    _post(api, _impression("u00003", shown))
    after = api.get("/v1/users/u00003/profile").json()["activity"]["events"]
    assert after == before and "impression" not in after  # what they saw is not what they did
    again = api.get("/v1/users/u00003/recommendations?k=5").json()
    assert [i["item_id"] for i in again["items"]] == [i["item_id"] for i in shown["items"]]
    exported = api.get("/v1/users/u00003/export").json()
    assert any(e["type"] == "impression" for e in exported["events"])  # stored, and exported
    with Store(own_shop.url) as store:
        scanned = {t for batch in store.scan_events() for t in batch["type"].tolist()}
        assert "impression" not in scanned  # training never reads them
        assert store.events_after(0) == sum(1 for b in store.scan_events() for _ in b["seq"])
    assert api.delete("/v1/users/u00003").json()["deleted"]
    with Store(own_shop.url) as store:
        assert not [e for e in store.user_events("u00003")]


def _second_bundle(shop: Shop, config: TrainConfig = POPULARITY) -> str:
    from shopmind.training.train import train

    with Store(shop.url) as store:
        return train(store, config, home=shop.home, activate=False).version


def test_an_experiment_splits_shoppers_stickily_and_each_arm_serves_its_bundle(
    own_shop: Shop, client_for: Any
) -> None:
    popular = _second_bundle(own_shop)
    with client_for(own_shop) as api:
        arms = [
            {"name": "control", "share": 0.5},
            {"name": "popular", "bundle": popular, "share": 0.5},
        ]
        started = api.post("/v1/admin/experiments", json={"name": "pop vs ours", "arms": arms})
        assert started.status_code == 201, started.text
        experiment = started.json()
        assert experiment["status"] == "running" and experiment["metric"] == "ctr"
        conflict = api.post("/v1/admin/experiments", json={"name": "again", "arms": arms})
        assert conflict.status_code == 409
        seen: dict[str, str] = {}
        bundles: dict[str, set[str]] = {"control": set(), "popular": set()}
        for n in range(1, 41):
            user = f"u{n:05d}"
            answer = api.get(f"/v1/users/{user}/recommendations?k=5").json()
            assert answer["experiment"] == experiment["id"]
            seen[user] = answer["arm"]
            bundles[answer["arm"]].add(answer["bundle"])
            search = api.get(f"/v1/search?q=shoes&user_id={user}").json()
            assert search["arm"] == answer["arm"]  # the same arm on every placement
            if answer["items"]:
                _post(api, _impression(user, answer))
                first = answer["items"][0]["item_id"]
                if answer["arm"] == "control":  # clicks on the control arm only: 1 or 2
                    clicked = {"request_id": answer["request_id"]}
                    _post(api, _event(user, first, "click", n, context=clicked))
                    if n % 2:
                        second = answer["items"][1]["item_id"]
                        _post(api, _event(user, second, "click", n, context=clicked))
        assert bundles == {"control": {own_shop.bundle}, "popular": {popular}}
        assert 10 <= Counter(seen.values())["popular"] <= 30
        for user, arm in list(seen.items())[:10]:  # sticky
            assert api.get(f"/v1/users/{user}/recommendations").json()["arm"] == arm
        # An anonymous search is not in the experiment (nobody to assign).
        assert api.get("/v1/search?q=shoes").json()["experiment"] is None

        results = api.get(f"/v1/experiments/{experiment['id']}").json()
        arms_out = {a["name"]: a for a in results["arms"]}
        control, treatment = arms_out["control"], arms_out["popular"]
        assert control["lists"] < control["clicks"] < 2 * control["lists"]
        assert treatment["clicks"] == 0 and treatment["lists"] > 0
        assert control["metrics"]["ctr"]["value"] == pytest.approx(
            control["clicks"] / control["impressions"], abs=1e-6
        )
        low, high = control["metrics"]["ctr"]["low"], control["metrics"]["ctr"]["high"]
        assert low < control["metrics"]["ctr"]["value"] < high
        test = treatment["versus_control"]
        assert control["versus_control"] is None and test["difference"] < 0
        assert test["significant"] and test["p_value"] < 0.05 and test["more_impressions"] == 0
        by_arm = {g["key"]: g for g in api.get("/v1/metrics/online?by=arm").json()["groups"]}
        assert set(by_arm) == {f"{experiment['id']}/control", f"{experiment['id']}/popular"}

        # Stopping an arm sends its shoppers outside the experiment; the others keep theirs.
        stopped = api.post(f"/v1/admin/experiments/{experiment['id']}/arms/popular/stop").json()
        assert stopped["arms"][1]["stopped"]
        for user, arm in list(seen.items())[:12]:
            answer = api.get(f"/v1/users/{user}/recommendations").json()
            assert answer["arm"] == (None if arm == "popular" else "control")
            assert answer["bundle"] == own_shop.bundle
        refused = api.post(f"/v1/admin/experiments/{experiment['id']}/arms/control/stop")
        assert refused.status_code == 409 and "last arm" in refused.text
        missing = api.post(f"/v1/admin/experiments/{experiment['id']}/arms/nope/stop")
        assert missing.status_code == 404

        # Promoting an arm serves its bundle to everyone and ends the experiment.
        promoted = api.post(f"/v1/admin/experiments/{experiment['id']}/arms/popular/promote")
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["status"] == "ended" and promoted.json()["promoted"] == "popular"
        assert api.get("/health").json()["bundle"] == popular
        after = api.get("/v1/users/u00001/recommendations").json()
        assert after["experiment"] is None and after["bundle"] == popular
        listing = api.get("/v1/experiments").json()
        assert listing["running"] is None and listing["experiments"][0]["decision"].startswith(
            "promoted popular"
        )
        ended = api.post(f"/v1/admin/experiments/{experiment['id']}/end")
        assert ended.status_code == 409


def test_a_rules_arm_serves_other_rules_on_the_same_bundle(api: TestClient) -> None:
    users = [f"u{n:05d}" for n in range(1, 30)]
    before = {u: api.get(f"/v1/users/{u}/recommendations?k=10").json()["items"] for u in users}
    leaves = Counter(i["category"][-1] for items in before.values() for i in items)
    leaf = leaves.most_common(1)[0][0]
    current = api.get("/v1/admin/rules").json()
    hide = {"name": "no-leaf", "action": "hide", "when": [{"field": "leaf", "value": leaf}]}
    put = api.put("/v1/admin/rules", json={"rules": [hide]})
    assert put.status_code == 200, put.text
    version = put.json()["version"]
    # The active rules go back to what they were; the arm keeps the new version.
    restore = api.put("/v1/admin/rules", json=current["rules"])
    assert restore.status_code == 200, restore.text
    arms = [{"name": "control", "share": 0.5}, {"name": "rules", "rules": version, "share": 0.5}]
    experiment = api.post("/v1/admin/experiments", json={"name": "rules", "arms": arms}).json()
    seen = Counter()
    for user in users:
        answer = api.get(f"/v1/users/{user}/recommendations?k=10").json()
        seen[answer["arm"]] += 1
        leaves_now = {i["category"][-1] for i in answer["items"]}
        if answer["arm"] == "rules":
            assert leaf not in leaves_now  # hidden in this arm
        else:  # the control arm serves the active rules: the answer of before
            assert [i["item_id"] for i in answer["items"]] == [i["item_id"] for i in before[user]]
    assert seen["rules"] and seen["control"]
    assert any(leaf in {i["category"][-1] for i in before[u]} for u in users)
    bad = api.post("/v1/admin/experiments", json=NO_SUCH_BUNDLE)
    assert bad.status_code == 409  # one is running
    api.post(f"/v1/admin/experiments/{experiment['id']}/end")
    bad = api.post("/v1/admin/experiments", json=NO_SUCH_BUNDLE)
    assert bad.status_code == 422 and "no bundle" in bad.text


def test_an_arm_whose_bundle_held_an_erased_shopper_is_stopped(
    own_shop: Shop, client_for: Any
) -> None:
    popular = _second_bundle(own_shop)
    with client_for(own_shop, follow_seconds=0) as api:
        arms = [
            {"name": "control", "share": 0.5},
            {"name": "popular", "bundle": popular, "share": 0.5},
        ]
        experiment = api.post("/v1/admin/experiments", json={"name": "e", "arms": arms}).json()
        assert api.delete("/v1/users/u00009").json()["deleted"]
        listing = api.get("/v1/experiments").json()["experiments"][0]
        stopped = {a["name"]: a for a in listing["arms"]}["popular"]
        assert stopped["stopped"] and "held an erased shopper" in stopped["stopped_why"]
        assert listing["id"] == experiment["id"] and listing["status"] == "running"
        for n in range(1, 20):  # nobody is served the erased bundle any more
            answer = api.get(f"/v1/users/u{n:05d}/recommendations").json()
            assert answer["bundle"] != popular and answer["arm"] in (None, "control")
