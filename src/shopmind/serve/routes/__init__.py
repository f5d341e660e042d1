"""Thin routes: parse, call the Store or the Engine, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from pydantic import ValidationError

from shopmind.engine import Engine
from shopmind.serve.service import Service


def get_service(request: Request) -> Service:
    service: Service | None = request.app.state.service
    if service is None:  # only outside the lifespan
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the service is starting")
    return service


def get_engine(service: Annotated[Service, Depends(get_service)]) -> Engine:
    """The engine current when the request started; it serves the whole request."""
    return service.require_engine()


ServiceDep = Annotated[Service, Depends(get_service)]
EngineDep = Annotated[Engine, Depends(get_engine)]


def too_large(rows: int, limit: int, what: str) -> None:
    if rows > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{rows} {what} in one request; send at most {limit} per batch",
        )


def row_errors(
    exc: ValidationError, collection: str, row: int, fields: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """A domain validation error as FastAPI's 422 entries, naming the row and the field."""
    rename = fields or {}
    out = []
    for error in exc.errors(include_url=False):
        loc: list[str | int] = [rename.get(str(part), part) for part in error["loc"]]
        if not loc:  # a rule across fields: name the field the message is about
            named = [f for f in ("item_id", "query", "user_id") if f in str(error["msg"])]
            loc = list(named[:1])
        out.append(
            {
                "type": error["type"],
                "loc": ["body", collection, row, *loc],
                "msg": str(error["msg"]).removeprefix("Value error, "),
            }
        )
    return out


def unprocessable(errors: list[dict[str, Any]]) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, errors)
