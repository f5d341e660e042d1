"""Who the shoppers are: a shopper's profile, the segments, an item's audience."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel

from shopmind.engine import Engine
from shopmind.profiles import Profile
from shopmind.profiles.rules import RuleSegment, RuleSegmentIn, ShopperFacts
from shopmind.profiles.segments import Segment, SegmentModel
from shopmind.serve.auth import AdminAccess, ReadAccess
from shopmind.serve.routes import BODY, KEYED, EngineDep, Limit, Offset, PathId, ServiceDep, problem
from shopmind.serve.routes.events import known_shopper

T = TypeVar("T")

# Each route names its own scope: the profile and the segments' summaries are read, the
# member lists and rule segments (who is in them) admin.
router = APIRouter(
    prefix="/v1",
    tags=["profiles"],
    responses={**KEYED, 503: problem("No bundle is active yet: train one first")},
)


@router.get(
    "/users/{user_id}/profile",
    dependencies=[ReadAccess],
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


class RuleSegmentOut(RuleSegment):
    #: Shoppers of the active bundle's training snapshot who meet every rule.
    size: int


class SegmentsOut(BaseModel):
    bundle: str
    #: How the number of segments was chosen, and each k's score.
    criterion: str
    scores: dict[int, float]
    segments: list[Segment]
    #: The shop's rule segments, each sized over the active bundle's shoppers.
    rules: list[RuleSegmentOut]
    #: A sample of shoppers as (x, y, index into ``segments``) on the first two principal
    #: axes of the features the segments were found on: a map, without ids.
    map: list[tuple[float, float, int]]


class SegmentOut(BaseModel):
    #: A found segment, or a rule segment.
    segment: Segment | RuleSegmentOut
    #: The members (user ids) of the training snapshot still stored, this page of them.
    members: list[str]
    total: int


def _held(value: T | None, what: str) -> T:
    """What the active bundle holds, or a 404 saying it holds none (an older bundle)."""
    if value is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"the active bundle holds no {what}: train a new one (shopmind train)",
        )
    return value


def _segments(engine: Engine) -> SegmentModel:
    return _held(engine.segments, "segments")


@router.get(
    "/segments",
    dependencies=[ReadAccess],
    responses={404: problem("The active bundle holds no segments")},
)
def segments(engine: EngineDep, service: ServiceDep) -> SegmentsOut:
    """The shop's segments, biggest first: each one's name and description made from its
    members' profiles, its size and KPIs, and how their number was chosen; then the shop's
    rule segments, each sized over the active bundle's shoppers."""
    model = _segments(engine)
    facts = _facts(engine)
    rules = [
        RuleSegmentOut(**r.model_dump(), size=len(facts.matching(r.rules)))
        for r in service.rule_segments.all()
    ]
    return SegmentsOut(
        bundle=engine.version,
        criterion=model.criterion,
        scores=model.scores,
        segments=model.segments,
        rules=rules,
        map=model.map_points,
    )


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
    found: Segment | RuleSegmentOut | None = _segments(engine).get(segment_id)
    if found is not None:
        listed = engine.segment_members.get(segment_id, [])
    else:
        rule = service.rule_segments.get(segment_id)
        if rule is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no segment {segment_id!r}")
        listed = _facts(engine).members(rule.rules)
        found = RuleSegmentOut(**rule.model_dump(), size=len(listed))
    members = engine.still_stored(listed)
    return SegmentOut(segment=found, members=members[offset : offset + limit], total=len(members))


@router.post(
    "/segments",
    status_code=status.HTTP_201_CREATED,
    dependencies=[AdminAccess],
    responses={**BODY, 404: problem("The active bundle holds no segments")},
)
def add_rule_segment(posted: RuleSegmentIn, engine: EngineDep, service: ServiceDep) -> SegmentOut:
    """Define a rule segment (every condition must hold; see the README for the kinds): it
    is stored, sized at once over the active bundle's shoppers, and answered with its first
    members. A bad condition is a 422 naming the rule (its index) and the field."""
    facts = _facts(engine)
    rule = service.rule_segments.add(posted)
    listed = facts.members(rule.rules)
    members = engine.still_stored(listed)
    out = RuleSegmentOut(**rule.model_dump(), size=len(listed))
    return SegmentOut(segment=out, members=members[:100], total=len(members))


@router.delete(
    "/segments/{segment_id}",
    dependencies=[AdminAccess],
    responses={404: problem("No such rule segment")},
)
def delete_rule_segment(segment_id: PathId, service: ServiceDep) -> dict[str, bool]:
    """Delete a rule segment (found segments go with their bundle)."""
    if not service.rule_segments.delete(segment_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no rule segment {segment_id!r}")
    return {"deleted": True}


def _facts(engine: Engine) -> ShopperFacts:
    return _held(engine.facts, "shopper facts for rule segments")


class AudienceMember(BaseModel):
    user_id: str
    score: float
    #: Each model's part of the score.
    sources: dict[str, float]
    reason: str


class AudienceOut(BaseModel):
    item_id: str
    bundle: str
    members: list[AudienceMember]


@router.get(
    "/items/{item_id}/audience",
    response_model=AudienceOut,
    dependencies=[AdminAccess],
    responses={
        200: {"content": {"text/csv": {}}, "description": "The audience (JSON, or CSV)"},
        404: problem("No such item"),
    },
)
def item_audience(
    item_id: PathId,
    engine: EngineDep,
    k: Annotated[int, Query(ge=1, le=10_000, description="Shoppers wanted")] = 100,
    format: Annotated[
        Literal["json", "csv"], Query(description="csv: a file to download")
    ] = "json",
) -> AudienceOut | Response:
    """The shoppers most likely to buy the item next (the bundle's models run in reverse),
    best first, each with why; for a campaign. A shopper deleted since is never listed."""
    try:
        ranked = engine.audience_of(item_id, k)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no item {item_id!r}") from None
    members = [
        AudienceMember(user_id=m.user_id, score=m.score, sources=m.sources, reason=m.reason)
        for m in ranked
    ]
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["user_id", "score", "reason"])
        writer.writerows([m.user_id, m.score, m.reason] for m in members)
        headers = {"Content-Disposition": f'attachment; filename="audience-{quote(item_id)}.csv"'}
        return Response(out.getvalue(), media_type="text/csv", headers=headers)
    return AudienceOut(item_id=item_id, bundle=engine.version, members=members)
