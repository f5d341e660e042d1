"""The HTTP API: auth, validation, limits, and the catalogue / events / privacy endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

ADMIN = "admin-key"
Shop = Any
ClientFor = Callable[..., TestClient]


def _event(n: int, user: str = "api-shopper", item: str = "i00001", **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"api-{user}-{n}",
        "user_id": user,
        "item_id": item,
        "type": "view",
        **extra,
    }


#: Every /v1 route: (method, path template, a concrete path, body, the scope it needs).
ROUTES = [
    (
        "GET",
        "/v1/users/{user_id}/recommendations",
        "/v1/users/u00001/recommendations",
        None,
        "read",
    ),
    ("GET", "/v1/items/{item_id}/similar", "/v1/items/i00001/similar", None, "read"),
    ("GET", "/v1/items/{item_id}/complementary", "/v1/items/i00001/complementary", None, "read"),
    ("GET", "/v1/users/{user_id}/cross-category", "/v1/users/u00001/cross-category", None, "read"),
    ("GET", "/v1/categories/graph", "/v1/categories/graph", None, "read"),
    (
        "GET",
        "/v1/users/{user_id}/why-not/{item_id}",
        "/v1/users/u00001/why-not/i00001",
        None,
        "read",
    ),
    ("GET", "/v1/items", "/v1/items", None, "read"),
    ("GET", "/v1/search", "/v1/search?q=tent", None, "read"),
    ("GET", "/v1/metrics/online", "/v1/metrics/online", None, "read"),
    ("GET", "/v1/experiments", "/v1/experiments", None, "read"),
    ("GET", "/v1/experiments/{experiment_id}", "/v1/experiments/0123456789ab", None, "read"),
    ("POST", "/v1/admin/experiments", "/v1/admin/experiments", {"name": "x", "arms": []}, "admin"),
    (
        "POST",
        "/v1/admin/experiments/{experiment_id}/arms/{arm}/stop",
        "/v1/admin/experiments/0123456789ab/arms/a/stop",
        None,
        "admin",
    ),
    (
        "POST",
        "/v1/admin/experiments/{experiment_id}/arms/{arm}/promote",
        "/v1/admin/experiments/0123456789ab/arms/a/promote",
        None,
        "admin",
    ),
    (
        "POST",
        "/v1/admin/experiments/{experiment_id}/end",
        "/v1/admin/experiments/0123456789ab/end",
        None,
        "admin",
    ),
    ("GET", "/v1/items/{item_id}", "/v1/items/i00001", None, "read"),
    ("GET", "/v1/stats", "/v1/stats", None, "read"),
    ("GET", "/v1/bundles", "/v1/bundles", None, "read"),
    ("GET", "/v1/bundles/active", "/v1/bundles/active", None, "read"),
    ("POST", "/v1/events", "/v1/events", {"events": []}, "ingest"),
    ("GET", "/v1/users", "/v1/users", None, "admin"),
    ("GET", "/v1/users/{user_id}", "/v1/users/u00001", None, "admin"),
    ("GET", "/v1/users/{user_id}/events", "/v1/users/u00001/events", None, "admin"),
    ("GET", "/v1/users/{user_id}/export", "/v1/users/u00001/export", None, "admin"),
    ("DELETE", "/v1/users/{user_id}", "/v1/users/nobody-here", None, "admin"),
    ("POST", "/v1/items", "/v1/items", {"items": []}, "admin"),
    ("DELETE", "/v1/items/{item_id}", "/v1/items/nothing-here", None, "admin"),
    ("POST", "/v1/users", "/v1/users", {"users": []}, "admin"),
    ("POST", "/v1/admin/retrain", "/v1/admin/retrain", None, "admin"),
    ("GET", "/v1/admin/retrain/{job}", "/v1/admin/retrain/nojob", None, "admin"),
    (
        "POST",
        "/v1/admin/bundles/{version}/activate",
        "/v1/admin/bundles/no/activate",
        None,
        "admin",
    ),
    ("POST", "/v1/admin/rollback", "/v1/admin/rollback", None, "admin"),
    ("GET", "/v1/admin/rules", "/v1/admin/rules", None, "admin"),
    ("PUT", "/v1/admin/rules", "/v1/admin/rules", {}, "admin"),
    ("GET", "/v1/users/{user_id}/profile", "/v1/users/u00001/profile", None, "read"),
    ("GET", "/v1/segments", "/v1/segments", None, "read"),
    ("GET", "/v1/segments/{segment_id}", "/v1/segments/s1", None, "admin"),
    ("POST", "/v1/segments", "/v1/segments", {}, "admin"),
    ("DELETE", "/v1/segments/{segment_id}", "/v1/segments/r9", None, "admin"),
    ("GET", "/v1/items/{item_id}/audience", "/v1/items/i00001/audience", None, "admin"),
]
READ, INGEST, STOREFRONT, UNKNOWN = "read-key", "ingest-key", "storefront-key", "nope"
#: The keys of the scopes matrix, and the scopes each one holds.
HOLDS = {
    READ: {"read"},
    INGEST: {"ingest"},
    STOREFRONT: {"read", "ingest"},
    ADMIN: {"read", "ingest", "admin"},
    UNKNOWN: set(),
}
SCOPED_KEYS = {"read_keys": [READ, STOREFRONT], "ingest_keys": [INGEST, STOREFRONT]}


def test_the_scopes_matrix_every_v1_route_and_every_kind_of_key(
    own_shop: Shop, client_for: ClientFor
) -> None:
    """401 without a key; 403 naming the scope for a key without it; admin may do anything."""
    with client_for(own_shop, **SCOPED_KEYS, admin_keys=[ADMIN]) as client:
        documented = client.get("/openapi.json").json()["paths"]
        declared = {
            (method.upper(), path)
            for path, operations in documented.items()
            if path.startswith("/v1/")
            for method in operations
        }
        assert declared == {(method, template) for method, template, *_ in ROUTES}
        for method, template, path, body, scope in ROUTES:
            operation = documented[template][method.lower()]
            assert operation["security"] == [{"APIKey": [scope]}], template
            assert f"Scope: `{scope}`" in operation["description"], template
            missing = client.request(method, path, json=body)
            assert missing.status_code == 401, (path, missing.text)
            assert "X-API-Key" in missing.json()["detail"]
            for key, scopes in HOLDS.items():
                if method == "POST" and path == "/v1/admin/retrain" and scope in scopes:
                    continue  # it would start a retrain; the 401/403 are what is checked here
                answer = client.request(method, path, json=body, headers={"X-API-Key": key})
                if scope in scopes:
                    assert answer.status_code not in (401, 403), (path, key, answer.text)
                else:
                    assert answer.status_code == 403, (path, key, answer.text)
                    assert f"needs the {scope} scope" in answer.json()["detail"]
                    assert f"SHOPMIND_{scope.upper()}_KEYS" in answer.json()["detail"]
        # Health stays public: load balancers probe it without keys.
        assert client.get("/health").status_code == 200


def test_an_ingest_key_posts_events_and_nothing_else(own_shop: Shop, client_for: ClientFor) -> None:
    """A tracking script's key: its events land, and no read is open because it exists."""
    with client_for(own_shop, ingest_keys=[INGEST]) as client:
        assert not client.app.state.settings.is_open  # type: ignore[attr-defined]
        events = {"events": [_event(1, user="tracked")]}
        assert client.post("/v1/events", json=events, headers={"X-API-Key": INGEST}).json() == {
            "accepted": 1,
            "duplicates": 0,
        }
        assert client.get("/v1/users/tracked/recommendations").status_code == 401
        denied = client.get("/v1/items", headers={"X-API-Key": INGEST})
        assert denied.status_code == 403 and "read scope" in denied.json()["detail"]
        assert client.get("/v1/users/tracked/events").status_code == 401


def test_a_bad_row_rejects_the_batch_naming_row_and_field(api: TestClient) -> None:
    good, bad = _event(1, user="v"), _event(2, user="v", type="teleport")
    answer = api.post("/v1/events", json={"events": [good, bad]})
    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["detail"]] == [["body", "events", 1, "type"]]
    assert "teleport" in answer.json()["detail"][0]["msg"]
    assert api.get("/v1/users/v/events").status_code == 404  # nothing half-landed

    no_item = api.post(
        "/v1/events", json={"events": [good, {**good, "event_id": "x", "item_id": None}]}
    )
    assert no_item.status_code == 422
    assert no_item.json()["detail"][0]["loc"] == ["body", "events", 1, "item_id"]

    schema = api.post("/v1/events", json={"events": [good, {"event_id": "y", "type": "view"}]})
    assert schema.status_code == 422
    assert ["body", "events", 1, "user_id"] in [e["loc"] for e in schema.json()["detail"]]

    items = api.post(
        "/v1/items", json={"items": [{"item_id": "ok"}, {"item_id": "neg", "price": -3}]}
    )
    assert items.status_code == 422
    assert items.json()["detail"][0]["loc"] == ["body", "items", 1, "price"]


def test_batches_and_bodies_past_the_limits_are_413(own_shop: Shop, client_for: ClientFor) -> None:
    with client_for(own_shop, max_batch=3, max_body_bytes=4096) as client:
        rows = [_event(n, user="limits") for n in range(4)]
        too_many = client.post("/v1/events", json={"events": rows})
        assert too_many.status_code == 413
        assert "at most 3" in too_many.json()["detail"]
        assert client.post("/v1/events", json={"events": rows[:3]}).status_code == 200
        big = {"items": [{"item_id": "big", "description": "x" * 5000}]}
        assert client.post("/v1/items", json=big).status_code == 413
        assert client.get("/v1/items/big").status_code == 404


def test_events_are_idempotent_on_their_id(api: TestClient) -> None:
    rows = [_event(n, user="idem") for n in range(5)]
    assert api.post("/v1/events", json={"events": rows}).json() == {"accepted": 5, "duplicates": 0}
    again = api.post("/v1/events", json={"events": [*rows, _event(9, user="idem")]}).json()
    assert again == {"accepted": 1, "duplicates": 5}
    assert len(api.get("/v1/users/idem/events").json()["events"]) == 6


def test_user_events_come_newest_first_with_titles(api: TestClient) -> None:
    rows = [
        _event(n, user="order", item=f"i{n:05d}", timestamp=f"2024-05-0{n + 1}T10:00:00Z")
        for n in range(3)
    ]
    api.post("/v1/events", json={"events": rows})
    events = api.get("/v1/users/order/events", params={"limit": 2}).json()["events"]
    assert [e["item_id"] for e in events] == ["i00002", "i00001"]
    assert all(e["title"] for e in events)


def test_items_and_users_upsert_get_list_delete(api: TestClient) -> None:
    item = {
        "item_id": "crud-1",
        "title": "Zebra Striped Umbrella",
        "category": "Outdoor > Rain Gear",
        "brand": "Brolly",
        "price": 12.5,
        "attributes": {"image": "https://example.com/u.png"},
    }
    assert api.post("/v1/items", json={"items": [item]}).json()["upserted"] == 1
    got = api.get("/v1/items/crud-1").json()
    assert got["category"] == ["Outdoor", "Rain Gear"]
    assert got["image"] == "https://example.com/u.png"
    page = api.get("/v1/items", params={"q": "zebra striped"}).json()
    assert [i["item_id"] for i in page["items"]] == ["crud-1"] and page["total"] == 1
    by_category = api.get("/v1/items", params={"category": "Rain Gear", "limit": 5}).json()
    assert by_category["total"] == 1
    assert api.delete("/v1/items/crud-1").status_code == 200
    assert api.get("/v1/items/crud-1").status_code == 404
    assert api.delete("/v1/items/crud-1").status_code == 404

    user = {"user_id": "crud-u", "attributes": {"tier": "gold"}}
    assert api.post("/v1/users", json={"users": [user]}).json()["upserted"] == 1
    assert api.get("/v1/users/crud-u").json()["attributes"] == {"tier": "gold"}
    everyone = api.get("/v1/users", params={"limit": 1000}).json()
    assert "crud-u" in [u["user_id"] for u in everyone["users"]]
    assert everyone["total"] == len(everyone["users"])
    assert api.get("/v1/users/nobody-at-all").status_code == 404


def test_stats_count_the_shop(api: TestClient) -> None:
    stats = api.get("/v1/stats").json()
    assert stats["items"] == 300 and stats["users"] == 250
    assert sum(stats["events_by_type"].values()) == stats["events"]
    assert sum(d["count"] for d in stats["events_by_day"]) == stats["events"]
    assert stats["top_categories"][0]["items"] >= stats["top_categories"][-1]["items"] > 0


def test_stats_list_as_many_days_as_asked(api: TestClient) -> None:
    every = api.get("/v1/stats", params={"days": 36_600}).json()["events_by_day"]
    assert len(every) > 3
    assert [d["day"] for d in every] == sorted(d["day"] for d in every)
    assert api.get("/v1/stats", params={"days": 3}).json()["events_by_day"] == every[-3:]
    assert api.get("/v1/stats").json()["events_by_day"] == every[-90:]
    assert api.get("/v1/stats", params={"days": 0}).status_code == 422


def test_the_schema_declares_the_api_key_for_swagger_ui(api: TestClient) -> None:
    # The apiKey scheme gives /docs its "Authorize" button; /health stays without one.
    schema = api.get("/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["APIKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-API-Key")
    for path in ("/v1/stats", "/v1/users/{user_id}/recommendations"):
        assert schema["paths"][path]["get"]["security"] == [{"APIKey": ["read"]}], path
    assert schema["paths"]["/v1/events"]["post"]["security"] == [{"APIKey": ["ingest"]}]
    assert schema["paths"]["/v1/users"]["get"]["security"] == [{"APIKey": ["admin"]}]
    assert "security" not in schema["paths"]["/health"]["get"]


def test_health_metrics_and_docs(api: TestClient, shop: Shop) -> None:
    assert api.get("/health").json() == {"status": "ok", "bundle": shop.bundle}
    api.get("/v1/users/u00001/recommendations")
    metrics = api.get("/metrics")
    assert metrics.status_code == 200
    assert 'route="/v1/users/{user_id}/recommendations"' in metrics.text
    assert "shopmind_request_seconds_bucket" in metrics.text
    docs = api.get("/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    redoc = api.get("/redoc", follow_redirects=False)
    assert redoc.is_redirect and redoc.headers["location"] == "/docs"
    paths = api.get("/openapi.json").json()["paths"]
    assert "/v1/users/{user_id}/recommendations" in paths and "/v1/events" in paths


def test_open_mode_warns_at_start(
    own_shop: Shop, client_for: ClientFor, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING"), client_for(own_shop) as client:
        assert client.get("/v1/stats").status_code == 200
    assert "running open" in caplog.text
