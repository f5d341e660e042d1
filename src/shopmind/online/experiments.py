"""Experiments: two or more arms (a bundle, a rule set, or both) sharing the traffic.

A shopper's arm is drawn from a hash of the experiment id and their id: deterministic,
sticky across requests, restarts and server processes, and independent between
experiments. One experiment runs at a time. Stopping an arm sends its shoppers back to
what everyone else is served (the active bundle and rules), outside the experiment; the
other arms keep their shoppers. Promoting an arm makes its bundle and rules the active
ones and ends the experiment.

Stored as ``$SHOPMIND_HOME/experiments/<id>.json``, so every server process follows them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shopmind.files import atomic_write
from shopmind.online.metrics import METRICS, Attribution, Metric, estimate
from shopmind.online.stats import ALPHA, compare
from shopmind.ranking.slate import Placement

log = logging.getLogger(__name__)
_ID = re.compile(r"^[0-9a-f]{12}$")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"


class ExperimentError(ValueError):
    """An experiment that cannot be made or changed as asked (the message says why)."""


class Arm(BaseModel):
    """One arm: what its shoppers are served, and its share of the traffic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME, description="Letters, digits, '_', '.', '-'")
    #: A bundle version; None: the active bundle.
    bundle: str | None = None
    #: A rules version; None: the active rules.
    rules: str | None = None
    share: float = Field(gt=0, le=1)
    #: When and why it was stopped (its shoppers are then served outside the experiment).
    stopped: str | None = None
    stopped_why: str | None = None


class Experiment(BaseModel):
    """An experiment and what became of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(min_length=1, max_length=200)
    #: The first arm is the control every other arm is compared with.
    arms: list[Arm] = Field(min_length=2, max_length=10)
    #: The placements it covers (empty: every placement).
    placements: list[Placement] = Field(default_factory=list)
    #: The metric the significance test is on.
    metric: Metric = "ctr"
    status: Literal["running", "ended"] = "running"
    created: str
    ended: str | None = None
    #: The arm promoted when it ended (None: ended without one).
    promoted: str | None = None
    #: What was decided, in a sentence.
    decision: str | None = None

    @field_validator("arms")
    @classmethod
    def _arms(cls, arms: list[Arm]) -> list[Arm]:
        names = [a.name for a in arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must differ, got {names}")
        total = sum(a.share for a in arms)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"the arms' shares must add up to 1, got {total:g}")
        return arms

    @model_validator(mode="after")
    def _differ(self) -> Experiment:
        served = [(a.bundle, a.rules) for a in self.arms]
        if len(set(served)) != len(served):
            raise ValueError("two arms serve the same bundle and rules: they cannot differ")
        return self

    def arm(self, name: str) -> Arm:
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(f"experiment {self.id} has no arm {name!r}")

    def covers(self, placement: str) -> bool:
        return self.status == "running" and (not self.placements or placement in self.placements)

    def assign(self, user_id: str) -> Arm | None:
        """The shopper's arm (sticky: the same every time); None when it was stopped."""
        digest = hashlib.sha256(f"{self.id}\x00{user_id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2.0**64
        edge = 0.0
        for arm in self.arms:
            edge += arm.share
            if point < edge:
                return None if arm.stopped else arm
        last = self.arms[-1]
        return None if last.stopped else last


class ExperimentStore:
    """The experiments of one shopmind home."""

    def __init__(self, home: Path) -> None:
        self.root = Path(home) / "experiments"

    def ids(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.stem for p in self.root.glob("*.json") if _ID.match(p.stem))

    def all(self) -> list[Experiment]:
        """Every experiment, newest first; a file that no longer reads (edited by hand, cut
        short) is skipped with a warning, never a failed request or start."""
        found = []
        for experiment_id in self.ids():
            try:
                found.append(self.get(experiment_id))
            except (OSError, ValueError, KeyError) as exc:
                log.warning("experiment file %s is skipped: %s", experiment_id, exc)
        return sorted(found, key=lambda e: e.created, reverse=True)

    def get(self, experiment_id: str) -> Experiment:
        path = self.root / f"{experiment_id}.json"
        if not _ID.match(experiment_id) or not path.exists():
            raise KeyError(f"no experiment {experiment_id!r}")
        return Experiment.model_validate(json.loads(path.read_text()))

    def running(self) -> Experiment | None:
        for experiment in self.all():
            if experiment.status == "running":
                return experiment
        return None

    def marker(self) -> tuple[tuple[str, int], ...]:
        """Changes whenever an experiment is written (what a server process polls)."""
        if not self.root.exists():
            return ()
        return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(self.root.glob("*.json")))

    def create(self, document: dict[str, Any]) -> Experiment:
        """Validate and start an experiment (ExperimentError: why not)."""
        running = self.running()
        if running is not None:
            raise ExperimentError(
                f"experiment {running.id} is running: end it first (one experiment at a time)"
            )
        if not isinstance(document, dict):
            raise ExperimentError("an experiment is a JSON object: name, arms, placements")
        now = _now()
        try:
            experiment = Experiment.model_validate(
                {**document, "id": uuid.uuid4().hex[:12], "created": now, "status": "running"}
            )
        except ValidationError as exc:
            raise ExperimentError(_describe(exc)) from None
        self._write(experiment)
        return experiment

    def stop_arm(self, experiment_id: str, arm: str, why: str = "stopped by hand") -> Experiment:
        experiment = self._running(experiment_id)
        target = experiment.arm(arm)
        if target.stopped:
            return experiment
        live = [a for a in experiment.arms if not a.stopped and a.name != arm]
        if not live:
            raise ExperimentError(f"{arm!r} is the last arm still running: end the experiment")
        arms = [
            a.model_copy(update={"stopped": _now(), "stopped_why": why}) if a.name == arm else a
            for a in experiment.arms
        ]
        updated = experiment.model_copy(update={"arms": arms})
        self._write(updated)
        return updated

    def end(self, experiment_id: str, promoted: str | None, decision: str) -> Experiment:
        experiment = self._running(experiment_id)
        if promoted is not None:
            experiment.arm(promoted)
        updated = experiment.model_copy(
            update={"status": "ended", "ended": _now(), "promoted": promoted, "decision": decision}
        )
        self._write(updated)
        return updated

    def _running(self, experiment_id: str) -> Experiment:
        experiment = self.get(experiment_id)
        if experiment.status != "running":
            raise ExperimentError(f"experiment {experiment_id} has ended ({experiment.decision})")
        return experiment

    def _write(self, experiment: Experiment) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        text = json.dumps(experiment.model_dump(mode="json"), indent=2) + "\n"
        atomic_write(self.root / f"{experiment.id}.json", text)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "experiment"
        parts.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
    return "; ".join(parts)


def results(experiment: Experiment, log: Attribution, alpha: float = ALPHA) -> dict[str, Any]:
    """Each arm's metrics with 95% intervals, and each treatment arm against the control on
    the experiment's metric (z-test, Bonferroni-corrected over the comparisons)."""
    slot_rows = np.asarray(log.slot_of, dtype=np.int64)
    experiments = np.asarray(log.experiment, dtype=object)
    arms = np.asarray(log.arm, dtype=object)
    ours = (experiments == experiment.id)[slot_rows] if len(slot_rows) else np.zeros(0, bool)
    slot_arm = arms[slot_rows] if len(slot_rows) else np.zeros(0, object)
    users = np.asarray(log.user, dtype=object)
    lists = experiments == experiment.id
    control = experiment.arms[0]
    comparisons = max(1, len(experiment.arms) - 1)
    level = alpha / comparisons
    masks = {arm.name: ours & (slot_arm == arm.name) for arm in experiment.arms}
    estimates = {
        name: {metric: estimate(log, metric, mask) for metric in METRICS}
        for name, mask in masks.items()
    }
    base = estimates[control.name][experiment.metric]
    out_arms = []
    for arm in experiment.arms:
        mask = masks[arm.name]
        figures = {}
        for metric, est in estimates[arm.name].items():
            low, high = est.interval()
            figures[metric] = {
                "value": _round(est.value),
                "low": _round(low),
                "high": _round(high),
            }
        entry: dict[str, Any] = {
            "name": arm.name,
            "bundle": arm.bundle,
            "rules": arm.rules,
            "share": arm.share,
            "stopped": arm.stopped,
            "stopped_why": arm.stopped_why,
            "impressions": int(mask.sum()),
            "lists": int((lists & (arms == arm.name)).sum()),
            "shoppers": len(set(users[lists & (arms == arm.name)].tolist())),
            "clicks": int(log.clicked[mask].sum()),
            "carts": int(log.carted[mask].sum()),
            "purchases": int(log.bought[mask].sum()),
            "revenue": round(float(log.revenue[mask].sum()), 2),
            "metrics": figures,
            "versus_control": None,
        }
        if arm is not control:
            test = compare(estimates[arm.name][experiment.metric], base, alpha=level)
            entry["versus_control"] = {
                "metric": experiment.metric,
                "difference": _round(test.difference),
                "relative": _round(test.relative),
                "low": _round(test.interval[0]),
                "high": _round(test.interval[1]),
                "z": _round(test.z),
                "p_value": _significant(test.p_value),
                "alpha": round(level, 6),
                "significant": test.significant,
                "impressions_needed": test.impressions_needed,
                "more_impressions": test.more_impressions,
            }
        out_arms.append(entry)
    return {"experiment": experiment.model_dump(mode="json"), "arms": out_arms}


def _significant(value: float) -> float | None:
    """A p-value to 4 significant digits (rounding to decimals would make 1e-30 a 0)."""
    return float(f"{value:.4g}") if np.isfinite(value) else None


def _round(value: float | None) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), 6)


__all__ = [
    "Arm",
    "Experiment",
    "ExperimentError",
    "ExperimentStore",
    "results",
]
