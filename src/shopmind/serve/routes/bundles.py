"""Bundles: list and inspect them; retrain, activate and roll back (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from shopmind.serve.auth import AdminAccess, ReadAccess
from shopmind.serve.routes import ServiceDep
from shopmind.serve.schemas import Activated, Bundles, BundleSummary, Job, JobStarted

router = APIRouter(prefix="/v1", tags=["bundles"])


@router.get("/bundles", dependencies=[ReadAccess])
def list_bundles(service: ServiceDep) -> Bundles:
    """Every bundle kept on disk, oldest first, with its validation metrics."""
    engine = service.engine
    active = engine.version if engine is not None else service.bundles.active_version()
    return Bundles(
        active=active,
        bundles=[
            BundleSummary(**b.summary(), blend=b.blend, active=b.version == active)
            for b in service.bundles.bundles()
        ],
    )


@router.get("/bundles/active", dependencies=[ReadAccess])
def active_bundle(service: ServiceDep) -> dict[str, Any]:
    """The manifest of the bundle being served (validation metrics by model and cutoff)."""
    engine = service.engine
    if engine is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no bundle is active")
    return engine.bundle.manifest.to_json()


@router.post("/admin/retrain", status_code=status.HTTP_202_ACCEPTED, dependencies=[AdminAccess])
def retrain(service: ServiceDep) -> JobStarted:
    """Train a new bundle from the Store in the background; it is activated when it succeeds."""
    return JobStarted(job=service.start_retrain())


@router.get("/admin/retrain/{job}", dependencies=[AdminAccess])
def retrain_status(job: str, service: ServiceDep) -> Job:
    try:
        return Job(**service.job(job))
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no retrain job {job!r}") from None


@router.post("/admin/bundles/{version}/activate", dependencies=[AdminAccess])
def activate(version: str, service: ServiceDep) -> Activated:
    """Load this bundle fully, then switch to it; requests in flight finish on the old one."""
    try:
        active, previous = service.activate(version)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no bundle {version!r}") from None
    return Activated(active=active, previous=previous)


@router.post("/admin/rollback", dependencies=[AdminAccess])
def rollback(service: ServiceDep) -> Activated:
    """Activate the bundle before the active one."""
    try:
        active, previous = service.rollback()
    except LookupError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return Activated(active=active, previous=previous)
