"""What a running API holds: the Store, the bundles, the current Engine and the retrain jobs.

Switching bundles loads the new Engine fully, then replaces the one reference that routes
read at the start of each request: a request in flight finishes on the engine it started
with, and no request ever sees a half-loaded one.

Several server processes (``shopmind serve --workers N``) share the Store and the bundles
folder. Each one follows the others (:meth:`Service.follow`, every ``follow_seconds``): it
switches when another activated a bundle, and takes in items another one posted, changed or
deleted. Histories need no following: every request reads them from the Store. Retrain jobs
are recorded in ``<home>/jobs`` so any process can report them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shopmind.bundle import BundleStore
from shopmind.catalog.store import Store
from shopmind.engine import Engine
from shopmind.serve.settings import ServeSettings
from shopmind.training.config import TrainConfig

log = logging.getLogger(__name__)

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    """The app's Prometheus metrics, in a registry of its own (several apps per process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "shopmind_requests",
            "HTTP requests",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "shopmind_request_seconds",
            "HTTP request latency",
            ("method", "route"),
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            "shopmind_events_accepted", "Events appended to the store", registry=self.registry
        )
        self.swaps = Counter("shopmind_bundle_switches", "Engine switches", registry=self.registry)
        self.items = Gauge(
            "shopmind_engine_items", "Items the engine serves", registry=self.registry
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class NoBundle(RuntimeError):
    """No bundle is active yet."""


class Service:
    """The state behind the routes."""

    def __init__(
        self, settings: ServeSettings, on_switch: Callable[[Engine], None] | None = None
    ) -> None:
        self.settings = settings
        self._on_switch = on_switch
        self.store = Store(settings.resolved_store_url())
        self.bundles = BundleStore(settings.resolved_home(), keep=settings.keep_bundles)
        self.metrics = Metrics()
        self._engine: Engine | None = None
        self._switch = threading.Lock()
        self._jobs_dir = settings.resolved_home() / "jobs"
        self._jobs_lock = threading.Lock()
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None

    @property
    def engine(self) -> Engine | None:
        return self._engine

    def require_engine(self) -> Engine:
        engine = self._engine
        if engine is None:
            raise NoBundle(
                "no bundle is active: run `shopmind train` or POST /v1/admin/retrain first"
            )
        return engine

    def load_active(self) -> None:
        """Load the active bundle, if there is one."""
        bundle = self.bundles.active()
        if bundle is None:
            log.warning("no active bundle under %s: recommendations answer 503", self.bundles.root)
            return
        self._set(Engine.load(bundle, self.store))

    def _set(self, engine: Engine) -> None:
        self._engine = engine  # one reference assignment: atomic for every reader
        if self._on_switch is not None:
            self._on_switch(engine)
        self.metrics.swaps.inc()
        self.metrics.items.set(engine.n_items)

    def activate(self, version: str) -> tuple[str, str | None]:
        """Load ``version`` fully, then switch to it; returns (active, previous)."""
        with self._switch:
            bundle = self.bundles.get(version)
            engine = Engine.load(bundle, self.store)
            previous = self._engine.version if self._engine is not None else None
            self.bundles.activate(version)
            self._set(engine)
        log.info("switched from bundle %s to %s", previous, version)
        return version, previous

    # --- following the other processes ----------------------------------------------------

    def follow(self) -> None:
        """Catch up with other processes: the active bundle, then the catalogue."""
        version = self.bundles.active_version()
        engine = self._engine
        if version is not None and (engine is None or engine.version != version):
            with self._switch:  # an activation here is under way or done: check again inside
                version = self.bundles.active_version()
                if version is not None and (
                    self._engine is None or self._engine.version != version
                ):
                    self._set(Engine.load(self.bundles.get(version), self.store))
                    log.info("followed the switch to bundle %s", version)
            return
        if engine is not None and engine.follow_catalogue():
            self.metrics.items.set(engine.n_items)

    def start_following(self, seconds: float) -> None:
        """Run :meth:`follow` every ``seconds`` in a background thread until :meth:`close`."""

        def loop() -> None:
            while not self._stop.wait(seconds):
                try:
                    self.follow()
                except Exception:  # a bad moment (store busy, bundle half-pruned): next time
                    log.exception("following the store and bundles failed; retrying")

        self._follower = threading.Thread(target=loop, name="shopmind-follow", daemon=True)
        self._follower.start()

    def rollback(self) -> tuple[str, str | None]:
        """Activate the bundle before the active one."""
        version = self.bundles.previous()
        if version is None:
            raise LookupError("there is no older bundle to roll back to")
        return self.activate(version)

    # --- retraining in the background -----------------------------------------------------

    def start_retrain(self, config: TrainConfig | None = None) -> str:
        """Start training a new bundle in a background thread; it is activated on success."""
        if config is None:
            active = self.bundles.active()
            config = (
                active.manifest.config
                if active is not None
                else TrainConfig(keep=self.settings.keep_bundles)
            )
        job = uuid.uuid4().hex[:12]
        self._write_job(job, {"job": job, "status": "queued"})
        thread = threading.Thread(
            target=self._retrain, args=(job, config), name=f"retrain-{job}", daemon=True
        )
        thread.start()
        return job

    def job(self, job: str) -> dict[str, Any]:
        """A retrain job's record (started by any process); KeyError when unknown."""
        path = self._jobs_dir / f"{job}.json"
        if not job.isalnum() or not path.exists():
            raise KeyError(job)
        record: dict[str, Any] = json.loads(path.read_text())
        return record

    def _write_job(self, job: str, record: dict[str, Any]) -> None:
        self._jobs_dir.mkdir(parents=True, exist_ok=True)
        staging = self._jobs_dir / f".{job}.json"
        staging.write_text(json.dumps(record))
        os.replace(staging, self._jobs_dir / f"{job}.json")  # readers never see half a file

    def _update(self, job: str, **fields: Any) -> None:
        with self._jobs_lock:
            self._write_job(job, {**self.job(job), **fields})

    def _retrain(self, job: str, config: TrainConfig) -> None:
        from shopmind.training.train import train

        self._update(job, status="running", started=_now())
        try:
            bundle = train(self.store, config, home=self.settings.resolved_home(), activate=False)
            self.activate(bundle.version)
            self.bundles.prune()
            self._update(job, status="done", bundle=bundle.version, finished=_now())
        except Exception as exc:  # the job reports it; the running engine is untouched
            log.exception("retrain job %s failed", job)
            self._update(
                job, status="failed", error=f"{type(exc).__name__}: {exc}", finished=_now()
            )

    def close(self) -> None:
        self._stop.set()
        if self._follower is not None:
            self._follower.join(timeout=10)
        self.store.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
