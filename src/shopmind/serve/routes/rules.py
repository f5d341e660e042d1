"""The shop's business rules: read the active version, set a new one (admin)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from shopmind.ranking.rules import RulesError
from shopmind.serve.auth import AdminAccess
from shopmind.serve.routes import BODY, KEYED, ServiceDep, problem

router = APIRouter(prefix="/v1/admin", tags=["rules"], dependencies=[AdminAccess], responses=KEYED)


@router.get("/rules")
def get_rules(service: ServiceDep) -> dict[str, Any]:
    """The active rules (filters, boosts, buries, pins, hides, caps, diversity, each
    placement's exclusion) and their version (null: the defaults, never set)."""
    version, rules = service.rules.active()
    return {"version": version, "versions": service.rules.versions(), "rules": rules.model_dump()}


@router.put(
    "/rules",
    responses={**BODY, 422: problem("A rule does not validate (each problem is named)")},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def put_rules(request: Request, service: ServiceDep) -> dict[str, Any]:
    """Validate the rules document (JSON), store it as a new version and serve it from the
    next request on (every worker follows within SHOPMIND_FOLLOW_SECONDS)."""
    try:
        document = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not JSON text") from None
    if not isinstance(document, dict):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "the rules document is a JSON object"
        )
    try:
        version, rules = service.set_rules(document)
    except RulesError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    return {"version": version, "rules": rules.model_dump()}
