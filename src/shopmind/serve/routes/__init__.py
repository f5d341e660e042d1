"""Thin routes: parse, call the Store or the Engine, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request, status
from pydantic import ValidationError

from shopmind.catalog.bounds import MAX_ID_LENGTH
from shopmind.engine import Engine
from shopmind.serve.schemas import Problem
from shopmind.serve.service import Service

#: Paging past this offset is refused (422): nobody pages a billion rows one page at a time.
MAX_OFFSET = 1_000_000_000
Limit = Annotated[int, Query(ge=1, le=1000, description="Rows per page, at most 1000")]
Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description=f"Rows skipped, at most {MAX_OFFSET:,}")
]
#: An id in a path: at most MAX_ID_LENGTH characters, no NUL, and no "/" (a path segment).
PathId = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH, pattern="^[^\\x00/]+$")]


def problem(description: str) -> dict[str, Any]:
    """An error answer (``{"detail": "..."}``) for a route's documented ``responses``."""
    return {"model": Problem, "description": description}


#: The answers of every endpoint behind a key (see :mod:`shopmind.serve.auth`).
KEYED: dict[int | str, dict[str, Any]] = {
    401: problem("No API key was sent"),
    403: problem("The key does not have the scope this endpoint needs (the answer names it)"),
}
#: The answers of every endpoint that takes a JSON body.
BODY: dict[int | str, dict[str, Any]] = {
    400: problem("The body is not JSON text"),
    413: problem("The body, or the batch in it, is larger than the limit (the answer says it)"),
}


async def get_service(request: Request) -> Service:
    service: Service | None = request.app.state.service
    if service is None:  # only outside the lifespan
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the service is starting")
    return service


async def get_engine(service: Annotated[Service, Depends(get_service)]) -> Engine:
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
            named = [
                f for f in ("item_id", "query", "user_id", "context") if f in str(error["msg"])
            ]
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
