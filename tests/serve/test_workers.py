"""Several server processes over one Store and bundles folder: each follows the others."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from shopmind.catalog.store import Store
from shopmind.training.config import TrainConfig

Shop = Any
ClientFor = Callable[..., TestClient]


def _twin(api: TestClient | httpx.Client, shop: Shop, item_id: str) -> dict[str, Any]:
    """A new item: a copy of a cold item's text, category, brand and price."""
    original = api.get(f"/v1/items/{shop.truth.cold_items[0]}").json()
    return {
        "item_id": item_id,
        "title": original["title"] + " (new edition)",
        "description": original["description"],
        "category": original["category"],
        "brand": original["brand"],
        "price": original["price"],
    }


def test_a_process_follows_items_and_bundle_switches_made_by_another(
    own_shop: Shop, client_for: ClientFor
) -> None:
    from shopmind.training.train import train

    with Store(own_shop.url) as store:
        fast = TrainConfig(models={"pop": {}, "itemknn": {"neighbors": 20}}, max_validation_rows=80)
        newer = train(store, fast, home=own_shop.home, activate=False).version
    # follow_seconds=0: no background thread, the test calls follow() when it wants.
    with client_for(own_shop, follow_seconds=0) as a, client_for(own_shop, follow_seconds=0) as b:
        follow = b.app.state.service.follow  # type: ignore[attr-defined]
        follow()  # nothing changed yet: nothing to do, and nothing breaks
        posted = a.post("/v1/items", json={"items": [_twin(a, own_shop, "arrival")]})
        assert posted.status_code == 200
        assert a.get("/v1/items/arrival/similar").status_code == 200
        assert b.get("/v1/items/arrival/similar").status_code == 404  # b has not looked yet
        follow()
        answer = b.get("/v1/items/arrival/similar", params={"k": 5}).json()
        assert answer["items"][0]["category"] == a.get("/v1/items/arrival").json()["category"]
        # A price change and a deletion made through a reach b too.
        changed = {**a.get("/v1/items/i00007").json(), "price": 1234.5}
        changed.pop("image", None)
        assert a.post("/v1/items", json={"items": [changed]}).status_code == 200
        assert a.delete("/v1/items/i00009").status_code in (200, 204)
        follow()
        engine = b.app.state.engine  # type: ignore[attr-defined]
        assert engine.side.price[engine.items.index("i00007")] == 1234.5
        assert engine.removed[engine.items.index("i00009")]
        everything = b.get("/v1/users/nobody/recommendations", params={"k": 100}).json()
        assert "i00009" not in [i["item_id"] for i in everything["items"]]
        # A bundle switch made by a: b serves the new bundle after its next look.
        assert a.post(f"/v1/admin/bundles/{newer}/activate").status_code == 200
        assert b.get("/health").json()["bundle"] == own_shop.bundle
        follow()
        assert b.get("/health").json()["bundle"] == newer
        # A retrain job started by one process is reported by the other.
        job = a.post("/v1/admin/retrain").json()["job"]
        assert b.get(f"/v1/admin/retrain/{job}").json()["job"] == job
        for _ in range(600):
            status = b.get(f"/v1/admin/retrain/{job}").json()["status"]
            if status in ("done", "failed"):
                break
            time.sleep(0.2)
        assert status == "done"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_shopmind_serve_with_two_workers_answers_and_they_follow_each_other(
    own_shop: Shop, tmp_path: Path
) -> None:
    port = _free_port()
    env = {**os.environ, "SHOPMIND_FOLLOW_SECONDS": "0.3", "SHOPMIND_READ_KEYS": ""}
    shopmind = str(Path(sys.executable).parent / "shopmind")
    command = [shopmind, "serve", "--workers", "2", "--port", str(port), "--store", own_shop.url]
    command += ["--home", str(own_shop.home)]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(300):  # both workers load the bundle
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            for n in range(40):
                answer = client.get(f"/v1/users/u{n:05d}/recommendations", params={"k": 5})
                assert answer.status_code == 200 and len(answer.json()["items"]) == 5
            twin = _twin(client, own_shop, "two-worker-arrival")
            assert client.post("/v1/items", json={"items": [twin]}).status_code == 200
            time.sleep(1.5)  # several follow periods
            # New connections spread over both workers: every one of them knows the item.
            for _ in range(20):
                with httpx.Client(base_url=base, timeout=30) as fresh:
                    similar = fresh.get("/v1/items/two-worker-arrival/similar")
                    assert similar.status_code == 200, similar.text
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert text.count("Application startup complete") == 2, text[-2000:]
