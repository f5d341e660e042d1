"""The online loop: CTR, add-to-cart and conversion rates of what was shown, and experiments
between bundles or rule sets (read: the figures; admin: start, stop, promote)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, status

from shopmind.catalog.schema import bounded_time, to_millis
from shopmind.online.experiments import ExperimentError
from shopmind.online.metrics import GroupBy
from shopmind.serve.auth import AdminAccess, ReadAccess
from shopmind.serve.routes import BODY, KEYED, PathId, ServiceDep, problem
from shopmind.serve.schemas import (
    ExperimentIn,
    ExperimentOut,
    ExperimentResults,
    Experiments,
    OnlineMetrics,
    OnlineTotals,
)
from shopmind.serve.service import HoldsErasedData, NoBundle

router = APIRouter(prefix="/v1", tags=["online"], responses=KEYED)
_NO_EXPERIMENT: dict[int | str, dict[str, Any]] = {404: problem("No such experiment")}
_REFUSED: dict[int | str, dict[str, Any]] = {
    404: problem("No such experiment or arm"),
    409: problem(
        "The experiment has ended, the change would leave it without an arm, or the arm's "
        "bundle holds a shopper erased since"
    ),
}
#: The figures cover the last week unless told otherwise.
DEFAULT_DAYS = 7
Moment = Annotated[
    str | None,
    Query(
        max_length=40,
        description="ISO-8601 time or epoch seconds/milliseconds (default: a week ago / now)",
    ),
]


def _moment(value: str | None, name: str, default: datetime) -> int:
    if value is None:
        return to_millis(default)
    try:
        return to_millis(bounded_time(value))
    except ValueError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"type": "value_error", "loc": ["query", name], "msg": str(exc)}],
        ) from None


@router.get("/metrics/online", dependencies=[ReadAccess])
def online_metrics(
    service: ServiceDep,
    since: Moment = None,
    until: Moment = None,
    by: Annotated[
        GroupBy,
        Query(description="Group by placement, bundle, experiment arm, segment, hour or day"),
    ] = "placement",
    window_hours: Annotated[
        float | None,
        Query(
            gt=0, le=24 * 90, description="Attribution window (default SHOPMIND_ATTRIBUTION_HOURS)"
        ),
    ] = None,
) -> OnlineMetrics:
    """Per group: impressions (items shown), clicks, carts, purchases and revenue attributed
    to them, and CTR, add-to-cart rate, conversion rate and revenue per impression. A click
    counts for the answer whose request id it carries; a cart or purchase too, or else for
    the newest impression of the item to that shopper within the attribution window."""
    now = datetime.now(UTC)
    until_ms = _moment(until, "until", now)
    since_ms = _moment(since, "since", now - timedelta(days=DEFAULT_DAYS))
    if since_ms > until_ms:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"type": "value_error", "loc": ["query", "since"], "msg": "since is after until"}],
        )
    groups, attributed = service.online_metrics(since_ms, until_ms, by, window_hours)
    window = service.settings.attribution_hours if window_hours is None else window_hours
    return OnlineMetrics(
        since=_iso(since_ms),
        until=_iso(until_ms),
        by=by,
        window_hours=window,
        groups=[OnlineTotals(**g.to_json()) for g in groups],
        attributed=attributed,
    )


def _iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, tz=UTC).isoformat(timespec="seconds")


@router.get("/experiments", dependencies=[ReadAccess])
def list_experiments(service: ServiceDep) -> Experiments:
    """Every experiment, newest first, and the one running (at most one runs at a time)."""
    found = service.experiments.all()
    running = next((e.id for e in found if e.status == "running"), None)
    return Experiments(
        running=running, experiments=[ExperimentOut(**e.model_dump(mode="json")) for e in found]
    )


@router.get("/experiments/{experiment_id}", dependencies=[ReadAccess], responses=_NO_EXPERIMENT)
def experiment_results(experiment_id: PathId, service: ServiceDep) -> ExperimentResults:
    """Each arm's figures with 95% intervals, and each arm against the control (the first)
    on the experiment's metric: the difference, a z-test (shoppers are the unit: the delta
    method), whether it is significant, and how many more impressions a decision needs."""
    try:
        return ExperimentResults.model_validate(service.experiment_results(experiment_id))
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment {experiment_id!r}") from None


@router.post(
    "/admin/experiments",
    status_code=status.HTTP_201_CREATED,
    dependencies=[AdminAccess],
    responses={**BODY, 409: problem("An experiment is running already"), 503: problem("No bundle")},
)
def start_experiment(body: Annotated[ExperimentIn, Body()], service: ServiceDep) -> ExperimentOut:
    """Start an experiment: two or more arms (a bundle and/or a rules version each; none
    means the active one) and their traffic shares. A shopper's arm is drawn from a hash of
    the experiment and their id, so it is the same on every request and server process.
    Every arm is loaded before the first shopper is assigned."""
    if service.experiments.running() is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "an experiment is running: end it first")
    try:
        started = service.start_experiment(body.model_dump())
    except ExperimentError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"type": "value_error", "loc": ["body"], "msg": str(exc)}],
        ) from None
    except NoBundle as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    return ExperimentOut(**started.model_dump(mode="json"))


@router.post(
    "/admin/experiments/{experiment_id}/arms/{arm}/stop",
    dependencies=[AdminAccess],
    responses=_REFUSED,
)
def stop_arm(experiment_id: PathId, arm: PathId, service: ServiceDep) -> ExperimentOut:
    """Stop an arm: its shoppers are served the active bundle and rules from now on, outside
    the experiment; the other arms keep theirs."""
    return _change(lambda: service.stop_arm(experiment_id, arm))


@router.post(
    "/admin/experiments/{experiment_id}/arms/{arm}/promote",
    dependencies=[AdminAccess],
    responses=_REFUSED,
)
def promote_arm(experiment_id: PathId, arm: PathId, service: ServiceDep) -> ExperimentOut:
    """Promote an arm: its bundle and rules become the active ones for everyone, and the
    experiment ends."""
    return _change(lambda: service.end_experiment(experiment_id, promote=arm))


@router.post(
    "/admin/experiments/{experiment_id}/end", dependencies=[AdminAccess], responses=_REFUSED
)
def end_experiment(experiment_id: PathId, service: ServiceDep) -> ExperimentOut:
    """End the experiment without promoting an arm: everyone is served the active bundle."""
    return _change(lambda: service.end_experiment(experiment_id))


def _change(change: Any) -> ExperimentOut:
    try:
        changed = change()
    except KeyError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc).strip("'\"")) from None
    except (ExperimentError, HoldsErasedData) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return ExperimentOut(**changed.model_dump(mode="json"))
