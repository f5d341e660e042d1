"""What a running API holds: the Store, the bundles, the current Engine and the retrain jobs.

Switching bundles loads the new Engine fully, then replaces the one reference that routes
read at the start of each request: a request in flight finishes on the engine it started
with, and no request ever sees a half-loaded one.

Several server processes (``shopmind serve --workers N``) share the Store and the bundles
folder. Each one follows the others (:meth:`Service.follow`, every ``follow_seconds``): it
switches when another activated a bundle, and takes in items another one posted, changed or
deleted. Histories need no following: every request reads them from the Store. Retrain jobs
are recorded in ``<home>/jobs`` so any process can report them, and run one at a time
(:class:`~shopmind.training.jobs.RetrainJobs`).

Erasure: deleting a shopper (:meth:`Service.forget`) deletes every bundle but the active one
trained on their events, and, when the active one was, retrains at once; the new bundle is
activated once trained without them (a retrain whose snapshot still held them trains again).
No bundle holding them is activated again. Every process looks for erasures made by others
when it follows them, so an erasure made anywhere (``shopmind delete-user`` too) is acted on.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shopmind.bundle import Bundle, BundleStore
from shopmind.bundle.erasure import HoldsErasedData, check_servable, erased_in, purge_erased
from shopmind.catalog import erasures
from shopmind.catalog.store import Store
from shopmind.engine import Engine
from shopmind.profiles.rules import RuleSegments
from shopmind.ranking.rules import RulesError, RuleSet, RuleStore
from shopmind.serve.settings import ServeSettings
from shopmind.training.config import TrainConfig
from shopmind.training.jobs import RetrainJobs

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


#: Retrains one job runs at most while shoppers keep being erased under it.
RETRAIN_ROUNDS = 3
#: While the active bundle holds an erased shopper, look again this often (seconds) and
#: retrain if no job is running (one may have failed).
ERASURE_RECHECK_SECONDS = 60.0
#: How long to keep trying to wipe an erasure from the SQLite files (readers may hold them).
WIPE_RETRY_SECONDS = 600.0

__all__ = ["HoldsErasedData", "Metrics", "NoBundle", "Service"]


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
        self.jobs = RetrainJobs(settings.resolved_home())
        #: The newest erasure this process has acted on, and when it last looked.
        self._erasure_seen = -1
        self._erasure_checked = 0.0
        self._active_holds_erased = False
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None
        #: The shop's business rules: versioned files under the home; every engine serves them.
        self.rules = RuleStore(settings.resolved_home())
        self.rule_segments = RuleSegments(settings.resolved_home())
        self._rules_version, self._ruleset = self._read_rules()

    @property
    def engine(self) -> Engine | None:
        return self._engine

    def _load(self, bundle: Bundle) -> Engine:
        engine = Engine.load(bundle, self.store, rules=self._ruleset)
        # The bundle's millions of objects live as long as the engine: kept out of the garbage
        # collector's full passes, which otherwise stall a request now and then (200-300 ms on
        # the 100k-item shop).
        gc.collect()
        gc.freeze()
        # The search encoder loads in the background (seconds), not on a shopper's first search.
        threading.Thread(target=engine.warm_up, name="shopmind-warm-up", daemon=True).start()
        return engine

    # --- the rules ---------------------------------------------------------------------------

    def _read_rules(self) -> tuple[str | None, RuleSet]:
        """The active rules; a stored version that no longer validates is skipped with a
        warning (the defaults serve), never a failed start."""
        try:
            return self.rules.active()
        except (RulesError, OSError, ValueError) as exc:
            log.warning(
                "the active rules under %s do not load (%s): serving the defaults",
                self.rules.root,
                exc,
            )
            return None, RuleSet()

    def set_rules(self, document: Any) -> tuple[str, RuleSet]:
        """Validate and store a new rules version; serve it from the next request on."""
        version, rules = self.rules.put(document)
        self._apply_rules(version, rules)
        return version, rules

    def _apply_rules(self, version: str | None, rules: RuleSet) -> None:
        self._rules_version, self._ruleset = version, rules
        engine = self._engine
        if engine is not None:
            engine.set_rules(rules)

    def _follow_rules(self) -> None:
        if self.rules.active_version() != self._rules_version:
            version, rules = self._read_rules()
            self._apply_rules(version, rules)
            log.info("followed the rules to version %s", version)

    def require_engine(self) -> Engine:
        engine = self._engine
        if engine is None:
            raise NoBundle(
                "no bundle is active: run `shopmind train` or POST /v1/admin/retrain first"
            )
        return engine

    def load_active(self) -> None:
        """Load the active bundle, if there is one."""
        self.jobs.recover()
        bundle = self.bundles.active()
        if bundle is None:
            log.warning("no active bundle under %s: recommendations answer 503", self.bundles.root)
            return
        self._set(self._load(bundle))
        self.check_erasures()

    def _set(self, engine: Engine) -> None:
        self._engine = engine  # one reference assignment: atomic for every reader
        if self._on_switch is not None:
            self._on_switch(engine)
        self.metrics.swaps.inc()
        self.metrics.items.set(engine.n_items)

    def activate(self, version: str) -> tuple[str, str | None]:
        """Load ``version`` fully, then switch to it; returns (active, previous).

        KeyError when there is no such bundle; :class:`HoldsErasedData` when it was trained on
        the events of a shopper erased since.
        """
        with self._switch:
            bundle = self.bundles.get(version)
            check_servable(bundle, self.store)
            engine = self._load(bundle)
            previous = self._engine.version if self._engine is not None else None
            self.bundles.activate(version)
            self._set(engine)
        log.info("switched from bundle %s to %s", previous, version)
        return version, previous

    # --- following the other processes ----------------------------------------------------

    def follow(self) -> None:
        """Catch up with other processes: erasures, rules, the active bundle, the catalogue."""
        self._follow_erasures()
        self._follow_rules()
        version = self.bundles.active_version()
        engine = self._engine
        if version is not None and (engine is None or engine.version != version):
            with self._switch:  # an activation here is under way or done: check again inside
                version = self.bundles.active_version()
                if version is not None and (
                    self._engine is None or self._engine.version != version
                ):
                    self._set(self._load(self.bundles.get(version)))
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
        """Activate the newest bundle older than the active one that holds no erased shopper."""
        active = self.bundles.active_version()
        older = [v for v in self.bundles.versions() if active is None or v < active]
        refused = 0
        for version in reversed(older):
            if erased_in(self.bundles.get(version), self.store):
                refused += 1
                continue
            return self.activate(version)
        why = (
            f" ({refused} older bundle(s) were trained on shoppers erased since and may not "
            "be served)"
            if refused
            else ""
        )
        raise LookupError(f"there is no older bundle to roll back to{why}")

    # --- erasure ----------------------------------------------------------------------------

    def forget(self, user_id: str) -> int:
        """Delete a shopper everywhere: the Store (their events and row; the erasure is logged
        and wiped from the files), every other bundle trained on them, and the active one by
        retraining. Returns the events removed."""
        removed = self.store.delete_user(user_id)
        if not self.store.wipe_erased():
            threading.Thread(target=self._wipe_later, name="shopmind-wipe", daemon=True).start()
        self.check_erasures()
        return removed

    def check_erasures(self) -> bool:
        """Delete the bundles that hold erased shoppers, and retrain when the active one
        does (unless a retrain is running); True when the active one does."""
        self._erasure_checked = time.monotonic()
        _, holds = purge_erased(self.bundles, self.store)
        self._active_holds_erased = holds
        if holds:
            job = self.start_retrain(urgent=True)
            log.info("the active bundle holds an erased shopper: retrain job %s", job)
        return holds

    def _follow_erasures(self) -> None:
        newest = erasures.newest(self.store)
        overdue = time.monotonic() - self._erasure_checked > ERASURE_RECHECK_SECONDS
        if newest != self._erasure_seen or (self._active_holds_erased and overdue):
            self.store.wipe_erased()
            self.check_erasures()
            self._erasure_seen = newest

    def _wipe_later(self) -> None:
        deadline = time.monotonic() + WIPE_RETRY_SECONDS
        while not self._stop.wait(1.0):
            if self.store.wipe_erased() or time.monotonic() > deadline:
                return

    # --- retraining in the background -----------------------------------------------------

    def start_retrain(self, config: TrainConfig | None = None, *, urgent: bool = False) -> str:
        """Train a new bundle in the background, or return the job already doing so (one at
        a time across processes); the bundle is activated when it succeeds, unless the
        active one was trained on a newer snapshot. ``urgent``: an erasure waits for it (it
        trains at the server's priority, not below it)."""
        if config is None:
            active = self.bundles.active()
            config = (
                active.manifest.config
                if active is not None
                else TrainConfig(keep=self.settings.keep_bundles)
            )
        chosen = config
        job, _ = self.jobs.start(
            lambda job: self._retrain(job, chosen, urgent), after=self._after_retrain
        )
        return job

    def job(self, job: str) -> dict[str, Any]:
        """A retrain job's record (started by any process); KeyError when unknown. A job
        whose process died is reported failed, with the reason."""
        return self.jobs.get(job)

    def _retrain(self, job: str, config: TrainConfig, urgent: bool) -> dict[str, Any]:
        home = self.settings.resolved_home()
        for _ in range(RETRAIN_ROUNDS):
            version = self.jobs.train_in_child(job, self.store.url, home, config, urgent=urgent)
            activated = self._activate_if_newer(version)
            _, holds = purge_erased(self.bundles, self.store)
            if not holds:
                break
            log.info("a shopper was erased while retrain job %s ran: training again", job)
            urgent = True
        self.bundles.prune()
        return {"bundle": version, "activated": activated}

    def _activate_if_newer(self, version: str) -> bool:
        """Switch to a freshly trained bundle unless it holds an erased shopper or the active
        one was trained on a newer snapshot (by any process)."""
        with self._switch:
            bundle = self.bundles.get(version)
            if erased_in(bundle, self.store):
                return False
            engine = self._load(bundle)
            if not self.bundles.activate_if_newer(version):
                return False
            previous = self._engine.version if self._engine is not None else None
            self._set(engine)
        log.info("switched from bundle %s to %s", previous, version)
        return True

    def _after_retrain(self) -> None:
        if not self._stop.is_set():
            self.check_erasures()  # an erasure just as the job ended: this retrains again

    def close(self) -> None:
        self._stop.set()
        self.jobs.stop_children()
        if self._follower is not None:
            self._follower.join(timeout=10)
        self.store.close()
