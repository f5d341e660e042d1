"""Bundles: list and inspect them; retrain, activate and roll back (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from shopmind.serve.auth import AdminAccess, ReadAccess
from shopmind.serve.routes import KEYED, PathId, ServiceDep, problem
from shopmind.serve.schemas import Activated, Bundles, BundleSummary, Job, JobStarted
from shopmind.serve.service import HoldsErasedData
from shopmind.training import guard

router = APIRouter(prefix="/v1", tags=["bundles"], responses=KEYED)


@router.get("/bundles", dependencies=[ReadAccess])
def list_bundles(service: ServiceDep) -> Bundles:
    """Every bundle kept on disk, oldest first, with its validation metrics."""
    engine = service.engine
    active = engine.version if engine is not None else service.bundles.active_version()
    return Bundles(
        active=active,
        bundles=[
            BundleSummary(
                **b.summary(),
                blend=b.blend,
                active=b.version == active,
                decision=guard.recorded(b.path),
            )
            for b in service.bundles.bundles()
        ],
    )


@router.get(
    "/bundles/active", dependencies=[ReadAccess], responses={404: problem("No bundle is active")}
)
def active_bundle(service: ServiceDep) -> dict[str, Any]:
    """The manifest of the bundle being served (validation metrics by model and cutoff)."""
    engine = service.engine
    if engine is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no bundle is active")
    return engine.bundle.manifest.to_json()


@router.post("/admin/retrain", status_code=status.HTTP_202_ACCEPTED, dependencies=[AdminAccess])
def retrain(service: ServiceDep) -> JobStarted:
    """Train a new bundle from the Store in the background; it is activated when it succeeds
    and its validation NDCG@10 is within SHOPMIND_RETRAIN_TOLERANCE of the active one's
    (unless the active one was trained on a newer snapshot); otherwise it is kept inactive
    and the job and the bundle list say why. One runs at a time: while one runs, this
    answers with its job id."""
    return JobStarted(job=service.start_retrain())


@router.get(
    "/admin/retrain/{job}", dependencies=[AdminAccess], responses={404: problem("No such job")}
)
def retrain_status(job: PathId, service: ServiceDep) -> Job:
    try:
        return Job(**service.job(job))
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no retrain job {job!r}") from None


@router.post(
    "/admin/bundles/{version}/activate",
    dependencies=[AdminAccess],
    responses={
        404: problem("No such bundle"),
        409: problem("The bundle holds data of a shopper erased since"),
    },
)
def activate(version: PathId, service: ServiceDep) -> Activated:
    """Load this bundle fully, then switch to it; requests in flight finish on the old one."""
    try:
        active, previous = service.activate(version)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no bundle {version!r}") from None
    except HoldsErasedData as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return Activated(active=active, previous=previous)


@router.post(
    "/admin/rollback",
    dependencies=[AdminAccess],
    responses={409: problem("There is no bundle to roll back to")},
)
def rollback(service: ServiceDep) -> Activated:
    """Activate the bundle before the active one."""
    try:
        active, previous = service.rollback()
    except LookupError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return Activated(active=active, previous=previous)
