"""Erasure reaches every copy: the served bundle is rebuilt without the shopper, older bundles
holding them are deleted and cannot be rolled back to, and the SQLite files forget them."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from shopmind.bundle import BundleStore
from shopmind.catalog.schema import Event
from shopmind.catalog.store import Store
from shopmind.training.config import TrainConfig

Shop = Any
ClientFor = Callable[..., TestClient]
#: Co-interaction only: a cold item's similar items are exactly what shoppers chose with it.
FAST = TrainConfig(models={"pop": {}, "itemknn": {"neighbors": 20}}, validate_models=False)
ALICE = "alice@example.com"
QUERY = "alices very private query"


def _alice_buys(store: Store, items: list[str]) -> None:
    now = datetime.now(UTC) - timedelta(minutes=5)
    events = [
        Event(id=f"alice-{n}", user_id=ALICE, item_id=item, type="purchase", timestamp=now)
        for n, item in enumerate(items)
    ]
    events.append(Event(id="alice-q", user_id=ALICE, type="search", query=QUERY, timestamp=now))
    store.append_events(events)


def _similar(api: TestClient, item: str) -> list[str]:
    answer = api.get(f"/v1/items/{item}/similar", params={"k": 5})
    assert answer.status_code == 200, answer.text
    return [i["item_id"] for i in answer.json()["items"]]


def _wait_for_new_bundle(api: TestClient, old: str, seconds: float = 240) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        bundle = api.get("/health").json()["bundle"]
        if bundle != old:
            return str(bundle)
        time.sleep(0.25)
    raise AssertionError(f"bundle {old} still served {seconds} s after the erasure")


def test_deleting_a_shopper_rebuilds_the_served_bundle_and_purges_older_ones(
    own_shop: Shop, client_for: ClientFor
) -> None:
    from shopmind.training.train import train

    lonely, partner = own_shop.truth.cold_items[:2]  # items nobody else has touched
    with Store(own_shop.url) as store:
        _alice_buys(store, [lonely, partner])
        older = train(store, FAST, home=own_shop.home, activate=False).version
        served = train(store, FAST, home=own_shop.home).version
    with client_for(own_shop, follow_seconds=0) as api:
        assert api.get("/health").json()["bundle"] == served
        # What Alice alone chose together shapes the answer: the partner item is similar.
        assert _similar(api, lonely)[:1] == [partner]
        deleted = api.delete(f"/v1/users/{ALICE}")
        assert deleted.json() == {"deleted": True, "events": 3}
        acknowledged = time.monotonic()
        # At once: every other bundle trained on her events is gone (the first one was
        # trained before she came, and stays), and the served one may not be activated again.
        kept = BundleStore(own_shop.home).versions()
        assert older not in kept and kept == [own_shop.bundle, served]
        refused = api.post(f"/v1/admin/bundles/{served}/activate")
        assert refused.status_code == 409 and "erased" in refused.json()["detail"], refused.text
        # The served bundle is rebuilt without her, in the background.
        rebuilt = _wait_for_new_bundle(api, served)
        took = time.monotonic() - acknowledged
        assert partner not in _similar(api, lonely)
        manifest = api.get("/v1/bundles/active").json()
        assert manifest["version"] == rebuilt and manifest["snapshot"]["erasure"] >= 1
        # Once no longer served, the bundle that held her is deleted too.
        deadline = time.monotonic() + 30
        while served in BundleStore(own_shop.home).versions() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert BundleStore(own_shop.home).versions() == [own_shop.bundle, rebuilt]
        # A rollback goes to the bundle without her.
        assert api.post("/v1/admin/rollback").json()["active"] == own_shop.bundle
    assert took < 120, f"the erasure took {took:.0f} s to reach the served bundle"


def test_a_bundle_holding_an_erased_shopper_is_refused(
    own_shop: Shop, client_for: ClientFor
) -> None:
    from shopmind.training.train import train

    with Store(own_shop.url) as store:
        _alice_buys(store, own_shop.truth.cold_items[:2])
        tainted = train(store, FAST, home=own_shop.home, activate=False).version
        store.delete_user(ALICE)  # behind the service's back, as `shopmind delete-user` does
        clean = train(store, FAST, home=own_shop.home, activate=False).version
    with client_for(own_shop, follow_seconds=0) as api:
        # The service acts on the erasure it finds when it starts: the tainted bundle goes.
        assert tainted not in BundleStore(own_shop.home).versions()
        assert api.post(f"/v1/admin/bundles/{clean}/activate").status_code == 200


def test_a_rollback_skips_bundles_holding_an_erased_shopper(own_shop: Shop) -> None:
    from shopmind.serve.service import Service
    from shopmind.serve.settings import ServeSettings
    from shopmind.training.train import train

    with Store(own_shop.url) as store:
        _alice_buys(store, own_shop.truth.cold_items[:2])
        tainted = train(store, FAST, home=own_shop.home, activate=False).version
        store.delete_user(ALICE)
        clean = train(store, FAST, home=own_shop.home).version
    # A service that has not looked for erasures yet (they purge such bundles first).
    service = Service(ServeSettings(store=own_shop.url, home=own_shop.home, follow_seconds=0))
    try:
        assert BundleStore(own_shop.home).versions() == [own_shop.bundle, tainted, clean]
        assert service.rollback() == (own_shop.bundle, None)
    finally:
        service.close()


def test_the_sqlite_files_no_longer_hold_an_erased_shopper(
    own_shop: Shop, client_for: ClientFor
) -> None:
    files = sorted(own_shop.home.glob("shop.sqlite*"))

    def holding(needle: str) -> list[str]:
        files = sorted(own_shop.home.glob("shop.sqlite*"))
        return [f.name for f in files if f.is_file() and needle.encode() in f.read_bytes()]

    # Her events among others' (so deleting them leaves their pages in use, not rewritten),
    # sent to the running service (so they are in its write-ahead log when she is deleted).
    others = [
        {"event_id": f"other-{n}", "user_id": f"u{n:05d}", "item_id": "i00001", "type": "view"}
        for n in range(60)
    ]
    hers = [
        {"event_id": "alice-1", "user_id": ALICE, "item_id": "i00002", "type": "purchase"},
        {"event_id": "alice-q", "user_id": ALICE, "type": "search", "query": QUERY},
    ]
    with client_for(own_shop, follow_seconds=0) as api:
        sent = api.post("/v1/events", json={"events": others[:30] + hers + others[30:]})
        assert sent.status_code == 200, sent.text
        assert "shop.sqlite-wal" in holding(ALICE) and holding(QUERY)  # the test sees them
        assert api.delete(f"/v1/users/{ALICE}").status_code == 200
        assert holding(ALICE) == [] and holding(QUERY) == [], files
        # The erasure log keeps when, not who.
        with Store(own_shop.url) as store:
            from shopmind.catalog import erasures

            [logged] = erasures.lookup(store, ALICE)
            assert logged.events == 2 and logged.first_seq is not None
        assert holding(ALICE) == []
