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
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shopmind.bundle import Bundle, BundleStore
from shopmind.bundle.erasure import HoldsErasedData, check_servable, erased_in, purge_erased
from shopmind.catalog import erasures
from shopmind.catalog.schema import to_millis
from shopmind.catalog.store import Store
from shopmind.engine import Engine
from shopmind.online import experiments as experimenting
from shopmind.online.experiments import Arm, Experiment, ExperimentError, ExperimentStore
from shopmind.online.metrics import GroupBy, OnlineLog, Totals, totals
from shopmind.profiles.rules import RuleSegments
from shopmind.ranking.rules import RulesError, RuleSet, RuleStore
from shopmind.serve.settings import ServeSettings
from shopmind.training import guard
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
#: The retrain schedule is looked at this often (seconds), and a scheduled retrain starts
#: at most this often in one process (a failing one is not restarted in a loop).
SCHEDULE_CHECK_SECONDS = 30.0
SCHEDULE_MIN_GAP_SECONDS = 300.0

__all__ = ["HoldsErasedData", "Metrics", "NoBundle", "Service", "Serving"]


@dataclass(frozen=True)
class Serving:
    """Who answers one request, and what the answer says about itself: its request id and
    placement, and the experiment arm the shopper is in (what an impression records)."""

    engine: Engine
    placement: str
    request_id: str
    experiment: str | None = None
    arm: str | None = None


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
        #: The running experiment, and the engines of its arms ((bundle, rules) -> engine).
        self.experiments = ExperimentStore(settings.resolved_home())
        self._experiment: Experiment | None = None
        self._experiments_seen: tuple[tuple[str, int], ...] | None = None
        self._arm_engines: dict[tuple[str, str | None], Engine] = {}
        self._arms_lock = threading.RLock()
        #: The retrain schedule: when it was last looked at, and last started here.
        self._schedule_checked = 0.0
        self._scheduled_at = -SCHEDULE_MIN_GAP_SECONDS

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
        with self._arms_lock:
            for (_, fixed), armed in self._arm_engines.items():
                if fixed is None:  # an arm of another bundle, with the active rules
                    armed.set_rules(rules)

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
        self._follow_experiments()

    def _set(self, engine: Engine) -> None:
        self._engine = engine  # one reference assignment: atomic for every reader
        if self._on_switch is not None:
            self._on_switch(engine)
        self.metrics.swaps.inc()
        self.metrics.items.set(engine.n_items)
        self._prune_arm_engines()

    # --- who answers a request: the active engine, or the shopper's experiment arm ----------

    def serving(self, user_id: str | None, placement: str) -> Serving:
        """The engine for this shopper's answer at ``placement``: their arm's, when the
        running experiment covers it (assignment: :meth:`Experiment.assign`), else the
        active one. NoBundle when no bundle is active."""
        engine = self.require_engine()
        request = uuid.uuid4().hex
        experiment = self._experiment
        if experiment is None or not user_id or not experiment.covers(placement):
            return Serving(engine, placement, request)
        arm = experiment.assign(user_id)
        if arm is None:
            return Serving(engine, placement, request)
        try:
            armed = self._arm_engine(arm, engine)
        except Exception:  # an arm that cannot load: the shopper gets the active answer
            log.exception("experiment %s arm %s does not load", experiment.id, arm.name)
            return Serving(engine, placement, request)
        return Serving(armed, placement, request, experiment.id, arm.name)

    def _arm_engine(self, arm: Arm, main: Engine) -> Engine:
        version = arm.bundle or main.version
        if version == main.version and arm.rules is None:
            return main
        key = (version, arm.rules)
        found = self._arm_engines.get(key)
        if found is not None:
            return found
        with self._arms_lock:
            found = self._arm_engines.get(key)
            if found is not None:
                return found
            base = main if version == main.version else self._arm_engines.get((version, None))
            if base is None:
                bundle = self.bundles.get(version)
                check_servable(bundle, self.store)
                base = self._load(bundle)
                self._arm_engines[(version, None)] = base
            if arm.rules is None:
                return base
            twin = base.with_rules(self.rules.get(arm.rules))
            self._arm_engines[key] = twin
            return twin

    def _prune_arm_engines(self) -> None:
        """Let go of the engines no running arm serves (a new active bundle, an arm stopped)."""
        main = self._engine
        experiment = self._experiment
        wanted: set[tuple[str, str | None]] = set()
        if experiment is not None and main is not None:
            for arm in experiment.arms:
                if not arm.stopped:
                    version = arm.bundle or main.version
                    wanted |= {(version, arm.rules), (version, None)}
        with self._arms_lock:
            for key in [k for k in self._arm_engines if k not in wanted]:
                del self._arm_engines[key]

    # --- experiments --------------------------------------------------------------------------

    def start_experiment(self, document: Any) -> Experiment:
        """Check that every arm's bundle and rules load, then start the experiment
        (ExperimentError saying why not)."""
        main = self.require_engine()
        arms = document.get("arms") if isinstance(document, dict) else None
        for given in arms if isinstance(arms, list) else []:
            if not isinstance(given, dict):
                continue
            version, rules = given.get("bundle"), given.get("rules")
            if isinstance(version, str):
                try:
                    check_servable(self.bundles.get(version), self.store)
                except KeyError:
                    raise ExperimentError(
                        f"arm {given.get('name')!r}: no bundle {version!r} (GET /v1/bundles "
                        "lists them)"
                    ) from None
                except HoldsErasedData as exc:
                    raise ExperimentError(f"arm {given.get('name')!r}: {exc}") from None
            if isinstance(rules, str):
                try:
                    self.rules.get(rules)
                except KeyError:
                    raise ExperimentError(
                        f"arm {given.get('name')!r}: no rules version {rules!r} "
                        "(GET /v1/admin/rules lists them)"
                    ) from None
        experiment = self.experiments.create(document)
        for arm in experiment.arms:  # loaded now, not on the arm's first shopper
            self._arm_engine(arm, main)
        self._follow_experiments()
        return experiment

    def stop_arm(self, experiment_id: str, arm: str) -> Experiment:
        experiment = self.experiments.stop_arm(experiment_id, arm)
        self._follow_experiments()
        return experiment

    def end_experiment(self, experiment_id: str, promote: str | None = None) -> Experiment:
        """End the experiment; with ``promote``, its arm's bundle and rules become active."""
        experiment = self.experiments.get(experiment_id)
        if experiment.status != "running":
            raise ExperimentError(f"experiment {experiment_id} has ended ({experiment.decision})")
        decision = "ended without promoting an arm"
        if promote is not None:
            arm = experiment.arm(promote)
            if arm.bundle is not None and arm.bundle != self.bundles.active_version():
                self.activate(arm.bundle)
            if arm.rules is not None and arm.rules != self.rules.active_version():
                self._apply_rules(arm.rules, self.rules.activate(arm.rules))
            decision = (
                f"promoted {arm.name}: bundle {arm.bundle or 'active'}, rules "
                f"{arm.rules or 'active'} are now served to everyone"
            )
        ended = self.experiments.end(experiment_id, promote, decision)
        self._follow_experiments()
        return ended

    def experiment_results(self, experiment_id: str) -> dict[str, Any]:
        """The experiment's arms measured from its impressions (KeyError: no such one)."""
        experiment = self.experiments.get(experiment_id)
        since = to_millis(datetime.fromisoformat(experiment.created))
        until = (
            to_millis(datetime.fromisoformat(experiment.ended))
            if experiment.ended
            else int(time.time() * 1000)
        )
        attribution = OnlineLog(self.store).attribute(
            since, until, window_hours=self.settings.attribution_hours, price=self._price()
        )
        return experimenting.results(experiment, attribution)

    def _follow_experiments(self) -> None:
        seen = self.experiments.marker()
        if seen == self._experiments_seen:
            return
        self._experiments_seen = seen
        try:
            running = self.experiments.running()
        except (OSError, ValueError) as exc:  # a hand-edited file: serve without it
            log.warning("the experiments under %s do not load (%s)", self.experiments.root, exc)
            running = None
        self._experiment = running
        self._prune_arm_engines()
        main = self._engine
        if running is not None and main is not None:
            for arm in running.arms:
                if not arm.stopped:
                    try:
                        self._arm_engine(arm, main)
                    except Exception:
                        log.exception("experiment %s arm %s does not load", running.id, arm.name)

    # --- the online metrics -------------------------------------------------------------------

    def online_metrics(
        self, since_ms: int, until_ms: int, by: GroupBy, window_hours: float | None = None
    ) -> tuple[list[Totals], dict[str, int]]:
        """CTR, add-to-cart and conversion rates and revenue per impression of the items
        shown from ``since_ms`` to ``until_ms``, grouped ``by``; and how outcomes were
        attributed."""
        window = self.settings.attribution_hours if window_hours is None else window_hours
        attribution = OnlineLog(self.store).attribute(
            since_ms, until_ms, window_hours=window, price=self._price()
        )
        segment_of: dict[str, str] = {}
        engine = self._engine
        if by == "segment" and engine is not None and engine.segments is not None:
            for segment_id, members in engine.segment_members.items():
                found = engine.segments.get(segment_id)
                name = found.name if found is not None else segment_id
                segment_of.update(dict.fromkeys(members, name))
        return totals(attribution, by, segment_of), dict(attribution.attributed)

    def _price(self) -> Callable[[str], float | None]:
        engine = self._engine
        if engine is None:
            return lambda _: None
        ids, prices = engine.items, engine.side.price

        def price(item_id: str) -> float | None:
            index = ids.index(item_id)
            if index < 0 or index >= len(prices):
                return None
            value = float(prices[index])
            return value if value == value else None

        return price

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
        """Catch up with other processes: erasures, rules, experiments, the active bundle,
        the catalogue; and start a scheduled retrain when one is due."""
        self._follow_erasures()
        self._follow_rules()
        self._follow_experiments()
        self._follow_schedule()
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
        with self._arms_lock:
            others = [e for (v, r), e in self._arm_engines.items() if r is None]
        for armed in others:  # an arm's own bundle: its catalogue follows the store too
            armed.follow_catalogue()

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
        holds = self._purge_erased()
        self._active_holds_erased = holds
        if holds:
            job = self.start_retrain(urgent=True)
            log.info("the active bundle holds an erased shopper: retrain job %s", job)
        return holds

    def _purge_erased(self) -> bool:
        """Delete the bundles that hold erased shoppers (not the active one: True when it
        does); an experiment arm served by one is stopped, saying why."""
        deleted, holds = purge_erased(self.bundles, self.store)
        experiment = self.experiments.running() if deleted else None
        if experiment is None:
            return holds
        for arm in experiment.arms:
            if arm.bundle in deleted and not arm.stopped:
                why = f"its bundle {arm.bundle} held an erased shopper and was deleted"
                try:
                    self.experiments.stop_arm(experiment.id, arm.name, why)
                except ExperimentError:  # the last arm running: the experiment ends
                    self.experiments.end(experiment.id, None, f"ended: {arm.name}'s {why}")
        self._follow_experiments()
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

    def start_retrain(
        self, config: TrainConfig | None = None, *, urgent: bool = False, trigger: str = "manual"
    ) -> str:
        """Train a new bundle in the background, or return the job already doing so (one at
        a time across processes). The bundle is activated when it succeeds and the guard
        lets it (:mod:`shopmind.training.guard`: its validation is within the tolerance of
        the active one's), unless the active one was trained on a newer snapshot.
        ``urgent``: an erasure waits for it (it trains at the server's priority, not below
        it, and is activated whatever it scores)."""
        if config is None:
            active = self.bundles.active()
            config = (
                active.manifest.config
                if active is not None
                else TrainConfig(keep=self.settings.keep_bundles)
            )
        chosen = config
        why = "erasure" if urgent else trigger
        job, _ = self.jobs.start(
            lambda job: self._retrain(job, chosen, urgent, why), after=self._after_retrain
        )
        return job

    def job(self, job: str) -> dict[str, Any]:
        """A retrain job's record (started by any process); KeyError when unknown. A job
        whose process died is reported failed, with the reason."""
        return self.jobs.get(job)

    def _retrain(self, job: str, config: TrainConfig, urgent: bool, trigger: str) -> dict[str, Any]:
        home = self.settings.resolved_home()
        for _ in range(RETRAIN_ROUNDS):
            version = self.jobs.train_in_child(job, self.store.url, home, config, urgent=urgent)
            trained = self.bundles.get(version)
            active = self.bundles.active()
            decision = guard.judge(
                trained.manifest,
                active.manifest if active is not None else None,
                tolerance=self.settings.retrain_tolerance,
                trigger=trigger,
            )
            guard.record(trained.path, decision)
            activated = decision.activate and self._activate_if_newer(version)
            log.info("retrain job %s, bundle %s: %s", job, version, decision.why)
            holds = self._purge_erased()
            if not holds:
                break
            log.info("a shopper was erased while retrain job %s ran: training again", job)
            urgent, trigger = True, "erasure"
        arms = self._experiment.arms if self._experiment is not None else []
        self.bundles.prune(a.bundle for a in arms if a.bundle)  # an arm's bundle stays
        return {"bundle": version, "activated": activated, "trigger": trigger,
                "decision": decision.why}  # fmt: skip

    def _follow_schedule(self) -> None:
        """Start a retrain when the schedule says one is due: ``retrain_every_hours`` since
        the newest bundle was trained, or ``retrain_after_events`` behaviour events since its
        snapshot. The newest bundle counts, activated or not: a retrain the guard kept
        inactive is not repeated at once."""
        every, after = self.settings.retrain_every_hours, self.settings.retrain_after_events
        now = time.monotonic()
        if not (every or after) or now - self._schedule_checked < SCHEDULE_CHECK_SECONDS:
            return
        self._schedule_checked = now
        if now - self._scheduled_at < SCHEDULE_MIN_GAP_SECONDS:
            return
        due = self.retrain_due()
        if due is not None:
            self._scheduled_at = now
            job = self.start_retrain(trigger=due)
            log.info("scheduled retrain (%s): job %s", due, job)

    def retrain_due(self) -> str | None:
        """ "schedule" or "events" when a scheduled retrain is due now, else None."""
        versions = self.bundles.versions()
        if not versions:
            return None  # the first bundle comes from `shopmind train`
        newest = self.bundles.get(versions[-1]).manifest
        every, after = self.settings.retrain_every_hours, self.settings.retrain_after_events
        if every:
            trained = datetime.fromisoformat(newest.created)
            if (datetime.now(UTC) - trained).total_seconds() >= every * 3600:
                return "schedule"
        mark = newest.snapshot
        if after and mark is not None and self.store.events_after(mark.events_seq) >= after:
            return "events"
        return None

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
