"""Health and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shopmind.serve.routes import ServiceDep
from shopmind.serve.schemas import Health

router = APIRouter(tags=["system"])


@router.get("/health")
def health(service: ServiceDep) -> Health:
    """Liveness, and the version of the bundle being served (null before the first one)."""
    engine = service.engine
    return Health(bundle=None if engine is None else engine.version)


@router.get("/metrics", include_in_schema=False)
def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics in the text exposition format."""
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
