"""Scheduled retraining and its guard: a retrain that validates worse than the active bundle
beyond the tolerance is kept inactive, and the job, the bundle list and the file say why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopmind.bundle import BundleStore
from shopmind.serve import service as serving
from shopmind.training import guard
from shopmind.training.config import TrainConfig

from .test_jobs import _wait

Shop = Any
ClientFor = Callable[..., TestClient]
#: Popularity alone validates far below the shop's blend of itemknn and content.
POPULARITY = TrainConfig(models={"pop": {}}, max_validation_rows=200, search=None, segments=None)


def test_the_guard_compares_the_served_validation_within_the_tolerance(shop: Shop) -> None:
    active = BundleStore(shop.home).get(shop.bundle).manifest
    figure = guard.served_figure(active)
    assert figure is not None and figure > 0

    def scoring(value: float) -> Any:
        return active.model_copy(update={"metrics": {"served": {"ndcg@10": value}}})

    held = guard.judge(scoring(figure * 0.97), active, tolerance=0.05)
    assert held.activate and "≥" in held.why and held.active == figure
    dropped = guard.judge(scoring(figure * 0.9), active, tolerance=0.05)
    assert not dropped.activate and "kept inactive" in dropped.why
    assert guard.judge(scoring(figure * 0.9), active, tolerance=0.2).activate
    assert guard.judge(scoring(figure * 0.5), active, trigger="erasure").activate
    assert guard.judge(scoring(figure * 0.5), None).activate


def test_a_worse_retrain_is_kept_inactive_and_says_why(
    own_shop: Shop, client_for: ClientFor
) -> None:
    with client_for(own_shop, follow_seconds=0, retrain_tolerance=0.05) as api:
        service = api.app.state.service  # type: ignore[attr-defined]
        job = service.start_retrain(POPULARITY)
        record = _wait(api, job)
        assert record["status"] == "done", record
        assert record["activated"] is False and record["trigger"] == "manual"
        assert "kept inactive" in record["decision"]
        assert api.get("/health").json()["bundle"] == own_shop.bundle  # unchanged
        listing = {b["version"]: b for b in api.get("/v1/bundles").json()["bundles"]}
        kept = listing[record["bundle"]]
        assert not kept["active"] and kept["decision"]["activate"] is False
        assert kept["decision"]["active_version"] == own_shop.bundle
        assert kept["decision"]["candidate"] < kept["decision"]["active"] * 0.95
        assert listing[own_shop.bundle]["decision"] is None  # trained by hand, not retrained


def test_enough_new_events_start_a_retrain_once(
    own_shop: Shop, client_for: ClientFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serving, "SCHEDULE_CHECK_SECONDS", 0.0)
    settings = {"follow_seconds": 0, "retrain_after_events": 5, "retrain_tolerance": 1.0}
    with client_for(own_shop, **settings) as api:
        service = api.app.state.service  # type: ignore[attr-defined]
        assert service.retrain_due() is None
        events = [
            {"event_id": f"new-{n}", "user_id": "u00001", "item_id": "i00001", "type": "view"}
            for n in range(4)
        ]
        api.post("/v1/events", json={"events": events})
        impression = {
            "event_id": "imp",
            "user_id": "u00001",
            "type": "impression",
            "context": {"request_id": "r", "placement": "for_you", "items": ["i00001"]},
        }
        api.post("/v1/events", json={"events": [impression]})
        assert service.retrain_due() is None  # 4 behaviour events; an impression is not one
        api.post("/v1/events", json={"events": [{**events[0], "event_id": "new-5"}]})
        assert service.retrain_due() == "events"
        service.follow()
        job = service.jobs._current()
        assert job is not None
        record = _wait(api, job)
        assert record["status"] == "done" and record["trigger"] == "events", record
        assert record["activated"] and "≥" in record["decision"]
        assert service.retrain_due() is None  # the new bundle's snapshot holds them
        service.follow()
        assert service.jobs._current() is None  # not started again


def test_a_retrain_is_due_on_schedule_after_the_newest_bundle(
    own_shop: Shop, client_for: ClientFor
) -> None:
    with client_for(own_shop, follow_seconds=0) as api:
        service = api.app.state.service  # type: ignore[attr-defined]
        assert service.retrain_due() is None  # no schedule set
    with client_for(own_shop, follow_seconds=0, retrain_every_hours=1.0) as api:
        service = api.app.state.service  # type: ignore[attr-defined]
        assert service.retrain_due() is None  # trained moments ago
    with client_for(own_shop, follow_seconds=0, retrain_every_hours=1e-6) as api:
        service = api.app.state.service  # type: ignore[attr-defined]
        assert service.retrain_due() == "schedule"
