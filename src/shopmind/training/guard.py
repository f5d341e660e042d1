"""The retrain guard: a new bundle replaces the active one only when its validation holds up.

Erasure retrains are always activated (the active bundle holds an erased shopper), and so
is a bundle trained without validation (there is no figure to judge). The figure compared
is the served pipeline's validation NDCG@10 (``metrics["served"]``, what
training measured through the same stages the Engine runs). The new bundle is activated when
it is at least ``(1 - tolerance)`` of the active one's; otherwise it is kept on disk, not
active, and the decision, with both figures, is written beside its manifest
(``decision.json``) for the dashboard and the API to show.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shopmind.bundle.manifest import Manifest
from shopmind.files import atomic_write

#: The figure the guard compares, and the default share of it a new bundle may lose.
GUARD_METRIC = "ndcg@10"
TOLERANCE = 0.05
DECISION_FILE = "decision.json"


@dataclass(frozen=True)
class Decision:
    """Whether a retrained bundle may be activated, and why."""

    activate: bool
    why: str
    metric: str
    candidate: float | None
    active: float | None
    active_version: str | None
    tolerance: float
    #: What started the retrain: "schedule", "events", "manual", "erasure".
    trigger: str
    at: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def served_figure(manifest: Manifest) -> float | None:
    figures = manifest.metrics.get("served") or manifest.metrics.get("blend") or {}
    value = figures.get(GUARD_METRIC)
    return float(value) if value is not None else None


def judge(
    candidate: Manifest,
    active: Manifest | None,
    *,
    tolerance: float = TOLERANCE,
    trigger: str = "manual",
) -> Decision:
    """The guard's decision on ``candidate`` against the active bundle's manifest."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    new = served_figure(candidate)
    old = served_figure(active) if active is not None else None
    version = active.version if active is not None else None

    def decided(ok: bool, why: str) -> Decision:
        return Decision(ok, why, GUARD_METRIC, new, old, version, tolerance, trigger, now)

    if trigger == "erasure":
        return decided(True, "an erasure retrain is always activated: the active bundle holds "
                       "an erased shopper")  # fmt: skip
    if active is None:
        return decided(True, "no bundle was active")
    if old is None:
        return decided(True, f"the active bundle {version} has no validation {GUARD_METRIC}")
    if new is None:
        # Trained with validate_models false: the shop chose to go without a figure.
        return decided(True, "trained without validation (validate_models false): nothing "
                       "for the guard to judge by")  # fmt: skip
    floor = old * (1 - tolerance)
    if new >= floor:
        return decided(
            True,
            f"validation {GUARD_METRIC} {new:.4f} ≥ {floor:.4f} (the active {version}'s "
            f"{old:.4f} less {100 * tolerance:g}%)",
        )
    return decided(
        False,
        f"validation {GUARD_METRIC} {new:.4f} < {floor:.4f} (the active {version}'s {old:.4f} "
        f"less {100 * tolerance:g}%): kept inactive",
    )


def record(folder: Path, decision: Decision) -> None:
    atomic_write(folder / DECISION_FILE, json.dumps(decision.to_json(), indent=2) + "\n")


def recorded(folder: Path) -> dict[str, Any] | None:
    """The guard's decision written beside a bundle's manifest, if any."""
    path = folder / DECISION_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
