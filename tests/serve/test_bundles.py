"""Bundles over HTTP: list, activate, roll back, retrain in the background, hot swap under load."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi.testclient import TestClient

from shopmind.catalog.store import Store
from shopmind.training.config import TrainConfig

Shop = Any
ClientFor = Callable[..., TestClient]
FAST = TrainConfig(models={"pop": {}, "itemknn": {"neighbors": 20}}, max_validation_rows=100)


def _second_bundle(shop: Shop) -> str:
    from shopmind.training.train import train

    with Store(shop.url) as store:
        return train(store, FAST, home=shop.home, activate=False).version


def test_bundles_list_their_models_metrics_and_which_is_active(api: TestClient, shop: Shop) -> None:
    listing = api.get("/v1/bundles").json()
    assert listing["active"] == shop.bundle
    [only] = listing["bundles"]
    assert only["active"] and only["models"] == ["pop", "itemknn", "content"]
    manifest = api.get("/v1/bundles/active").json()
    assert manifest["version"] == shop.bundle
    for model in ("pop", "itemknn", "content", "blend"):
        assert set(manifest["metrics"][model]) >= {"recall@10", "ndcg@10", "recall@20", "ndcg@20"}
    # Validation chose the weights: the best model by NDCG@10 weighs most.
    best = max(("pop", "itemknn", "content"), key=lambda m: manifest["metrics"][m]["ndcg@10"])
    assert max(manifest["blend"], key=manifest["blend"].get) == best
    # The similar items' text / co-interaction weight too, and it is the one served.
    tuned = manifest["similar_blend"]
    scores = tuned["ndcg@10_by_weight"]
    assert len(scores) == 6 and scores[str(tuned["weight"])] == max(scores.values())
    assert api.app.state.engine.similar.blend == tuned["weight"]  # type: ignore[attr-defined]
    assert {"numpy", "shopmind"} <= set(manifest["libraries"])
    assert manifest["data"]["items"] == 300


def test_activate_and_roll_back(own_shop: Shop, client_for: ClientFor) -> None:
    newer = _second_bundle(own_shop)
    with client_for(own_shop) as api:
        assert api.get("/health").json()["bundle"] == own_shop.bundle
        switched = api.post(f"/v1/admin/bundles/{newer}/activate").json()
        assert switched == {"active": newer, "previous": own_shop.bundle}
        assert api.get("/health").json()["bundle"] == newer
        assert api.app.state.engine.version == newer  # type: ignore[attr-defined]
        assert api.get("/v1/users/u00001/recommendations").json()["bundle"] == newer
        assert api.post("/v1/admin/rollback").json()["active"] == own_shop.bundle
        assert api.get("/health").json()["bundle"] == own_shop.bundle
        assert api.post("/v1/admin/rollback").status_code == 409  # nothing older
        assert api.post("/v1/admin/bundles/20200101T000000Z-abcdef/activate").status_code == 404
    # The choice survives a restart: the active pointer is on disk.
    with client_for(own_shop) as api:
        assert api.get("/health").json()["bundle"] == own_shop.bundle


def test_a_retrain_job_writes_and_activates_a_new_bundle(
    own_shop: Shop, client_for: ClientFor
) -> None:
    with client_for(own_shop, admin_keys=["admin"]) as api:
        admin = {"X-API-Key": "admin"}
        started = api.post("/v1/admin/retrain", headers=admin)
        assert started.status_code == 202
        job = started.json()["job"]
        deadline = time.monotonic() + 300
        status = api.get(f"/v1/admin/retrain/{job}", headers=admin).json()
        while status["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            status = api.get(f"/v1/admin/retrain/{job}", headers=admin).json()
        assert status["status"] == "done", status
        assert status["bundle"] != own_shop.bundle
        assert api.get("/health").json()["bundle"] == status["bundle"]
        listing = api.get("/v1/bundles", headers=admin).json()
        assert [b["version"] for b in listing["bundles"]] == [own_shop.bundle, status["bundle"]]
        assert api.get("/v1/admin/retrain/nope", headers=admin).status_code == 404


def test_no_bundle_yet_answers_503_and_health_says_null(
    tmp_path: Any, client_for: ClientFor
) -> None:
    from shopmind.serve.app import create_app  # noqa: F401 - the factory under test

    empty = type("S", (), {"url": f"sqlite:///{tmp_path / 's.sqlite'}", "home": tmp_path})()
    with client_for(empty) as api:
        assert api.get("/health").json() == {"status": "ok", "bundle": None}
        answer = api.get("/v1/users/u1/recommendations")
        assert answer.status_code == 503 and "shopmind train" in answer.json()["detail"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _uvicorn(shop: Shop) -> Iterator[str]:
    import uvicorn

    from shopmind.serve.app import create_app
    from shopmind.serve.settings import ServeSettings

    app = create_app(ServeSettings(store=shop.url, home=shop.home))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_switching_bundles_under_load_drops_no_request(own_shop: Shop) -> None:
    newer = _second_bundle(own_shop)
    versions = {own_shop.bundle, newer}
    answers: list[tuple[int, str | None]] = []
    failures: list[str] = []
    stop = threading.Event()

    def hammer(base: str, worker: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            n = 0
            while not stop.is_set():
                n += 1
                path = (
                    f"/v1/users/u{(worker * 37 + n) % 250:05d}/recommendations"
                    if n % 2
                    else f"/v1/items/i{(worker * 11 + n) % 300:05d}/similar"
                )
                try:
                    response = client.get(path)
                    answers.append((response.status_code, response.json().get("bundle")))
                except httpx.HTTPError as exc:  # a dropped connection is a failure too
                    failures.append(repr(exc))

    with _uvicorn(own_shop) as base:
        workers = [threading.Thread(target=hammer, args=(base, w)) for w in range(6)]
        for worker in workers:
            worker.start()
        with httpx.Client(base_url=base, timeout=120) as admin:
            for target in [newer, own_shop.bundle, newer, own_shop.bundle]:
                time.sleep(0.3)
                switched = admin.post(f"/v1/admin/bundles/{target}/activate")
                assert switched.status_code == 200, switched.text
        time.sleep(0.3)
        stop.set()
        for worker in workers:
            worker.join(timeout=60)

    assert not failures, failures[:3]
    assert len(answers) > 20
    assert {status for status, _ in answers} == {200}
    assert {bundle for _, bundle in answers} == versions  # both bundles served, none dropped
