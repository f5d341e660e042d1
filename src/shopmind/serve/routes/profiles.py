"""Who a shopper is: their profile, read from their events as they stand now."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel

from shopmind.engine import Engine
from shopmind.profiles import Profile
from shopmind.profiles.segments import Segment, SegmentModel
from shopmind.serve.auth import AdminAccess, ReadAccess
from shopmind.serve.routes import KEYED, EngineDep, Limit, Offset, PathId, ServiceDep, problem
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


class SegmentsOut(BaseModel):
    bundle: str
    #: How the number of segments was chosen, and each k's score.
    criterion: str
    scores: dict[int, float]
    segments: list[Segment]


class SegmentOut(BaseModel):
    segment: Segment
    #: The members (user ids) of the training snapshot still stored, this page of them.
    members: list[str]
    total: int


def _segments(engine: Engine) -> SegmentModel:
    if engine.segments is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "the active bundle holds no segments: train with segments on (the default)",
        )
    return engine.segments


@router.get("/segments", responses={404: problem("The active bundle holds no segments")})
def segments(engine: EngineDep) -> SegmentsOut:
    """The shop's segments, biggest first: each one's name and description made from its
    members' profiles, its size and KPIs, and how their number was chosen."""
    model = _segments(engine)
    return SegmentsOut(
        bundle=engine.version, criterion=model.criterion, scores=model.scores,
        segments=model.segments,
    )  # fmt: skip


@router.get(
    "/segments/{segment_id}",
    dependencies=[AdminAccess],
    responses={404: problem("No such segment")},
)
def segment(
    segment_id: PathId,
    engine: EngineDep,
    service: ServiceDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> SegmentOut:
    """One segment and a page of its members (shoppers of the training snapshot; one deleted
    since is never listed)."""
    found = _segments(engine).get(segment_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no segment {segment_id!r}")
    listed = engine.segment_members.get(segment_id, [])
    stored = service.store.stored_users(listed)
    members = [u for u in listed if u in stored]
    return SegmentOut(segment=found, members=members[offset : offset + limit], total=len(members))
