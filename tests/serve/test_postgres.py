"""The API over a PostgreSQL store: the same answers as over SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shopmind.catalog.store import Store
from shopmind.synthetic import SyntheticConfig, generate, write_to_store
from shopmind.training.config import TrainConfig


@pytest.mark.postgres
def test_the_api_over_postgresql(postgres_url: str, tmp_path: Path) -> None:
    from shopmind.serve.app import create_app
    from shopmind.serve.settings import ServeSettings
    from shopmind.training.train import train

    with Store(postgres_url) as store:
        write_to_store(
            generate(SyntheticConfig(seed=8, n_items=160, n_users=80, n_events=3_000)), store
        )
        config = TrainConfig(
            models={"pop": {}, "itemknn": {"neighbors": 20}}, max_validation_rows=50
        )
        bundle = train(store, config, home=tmp_path)
    settings = ServeSettings(store=postgres_url, home=tmp_path, admin_keys=["a"])
    with TestClient(create_app(settings), headers={"X-API-Key": "a"}) as api:
        assert api.get("/health").json()["bundle"] == bundle.version
        before = api.get("/v1/users/pg-shopper/recommendations").json()
        assert "trending" in before["reason"]
        event = {"event_id": "pg-1", "user_id": "pg-shopper", "item_id": "i00003", "type": "view"}
        assert api.post("/v1/events", json={"events": [event, event]}).status_code == 200
        assert api.post("/v1/events", json={"events": [event]}).json()["duplicates"] == 1
        after = api.get("/v1/users/pg-shopper/recommendations").json()
        assert after["reason"] is None and after["items"] != before["items"]
        category = api.get("/v1/items/i00003").json()["category"][-1]
        page = api.get("/v1/items", params={"category": category}).json()
        assert page["total"] >= 1 and all(category in i["category"] for i in page["items"])
        stats = api.get("/v1/stats").json()
        assert sum(d["count"] for d in stats["events_by_day"]) == stats["events"]
        assert api.delete("/v1/users/pg-shopper").json()["events"] == 1
        assert api.get("/v1/users/pg-shopper/export").status_code == 404
