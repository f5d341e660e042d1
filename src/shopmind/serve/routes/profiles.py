"""Who a shopper is: their profile, read from their events as they stand now."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from shopmind.profiles import Profile
from shopmind.serve.auth import ReadAccess
from shopmind.serve.routes import KEYED, EngineDep, PathId, ServiceDep, problem
from shopmind.serve.routes.events import known_shopper

router = APIRouter(
    prefix="/v1",
    tags=["profiles"],
    dependencies=[ReadAccess],
    responses={**KEYED, 503: problem("No bundle is active yet: train one first")},
)


@router.get(
    "/users/{user_id}/profile",
    responses={404: problem("Nothing is stored about this shopper")},
)
def user_profile(user_id: PathId, engine: EngineDep, service: ServiceDep) -> Profile:
    """The shopper's portrait: category and brand affinities with their evidence, price band,
    activity (RFM, sessions, funnel, lifecycle) and interests, from every event stored now
    (a new event shows in the next answer). 404 when nothing is stored about them."""
    profile = engine.profile(user_id)
    if not profile.activity.events and not known_shopper(service, user_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"nothing is stored about {user_id!r}")
    return profile
