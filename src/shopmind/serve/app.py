"""The FastAPI app factory: settings in, an app whose lifespan loads the active bundle once."""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from threadpoolctl import threadpool_limits

from shopmind import __version__
from shopmind.catalog import erasures
from shopmind.catalog.bounds import time_window
from shopmind.serve.auth import ScopeRefused, document_scopes
from shopmind.serve.logs import redact_access_log
from shopmind.serve.service import NoBundle, Service
from shopmind.serve.settings import ServeSettings

log = logging.getLogger(__name__)

OPEN_WARNING = (
    "running open: no API keys are set, so every endpoint (writes and admin included) is "
    "public; set SHOPMIND_READ_KEYS, SHOPMIND_INGEST_KEYS and SHOPMIND_ADMIN_KEYS before "
    "binding beyond loopback"
)


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """The shopmind API (and the web UI when ``shopmind.serve.web`` is installed)."""
    settings = settings or ServeSettings()
    time_window()  # a wrong SHOPMIND_EARLIEST_TIME / _MAX_FUTURE_SECONDS fails here, not later
    if settings.is_open:
        log.warning(OPEN_WARNING)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Requests run in parallel threads, so BLAS must not also fan each one out over the
        # cores: one BLAS thread per request (restored at shutdown).
        blas = threadpool_limits(limits=1, user_api="blas")
        try:
            # app.state.engine mirrors the engine being served (the web UI reads it there).
            service = Service(
                settings, on_switch=lambda engine: setattr(app.state, "engine", engine)
            )
            try:
                # Shopper ids in request paths reach the access log hashed (serve.logs).
                redact_access_log(erasures.log_key(service.store))
                service.load_active()
                if settings.follow_seconds > 0:
                    service.start_following(settings.follow_seconds)
                app.state.service = service
                yield
            finally:
                service.close()
        finally:
            blas.restore_original_limits()

    app = FastAPI(
        title="shopmind",
        version=__version__,
        description="Recommendations for an online shop, driven by a language model.",
        lifespan=lifespan,
        # FastAPI's own docs pages load Swagger UI and ReDoc from a CDN: shopmind.serve.docs
        # serves Swagger UI from the package instead.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.service = None
    app.state.engine = None

    from shopmind.serve.routes import (
        bundles,
        catalogue,
        events,
        explain,
        online,
        profiles,
        recommend,
        relations,
        rules,
        search,
        system,
    )

    modules = (
        system,
        catalogue,
        events,
        recommend,
        search,
        explain,
        profiles,
        relations,
        rules,
        bundles,
        online,
    )
    for module in modules:
        document_scopes(module.router)
        app.include_router(module.router)
    try:
        from shopmind.serve.web import router as web_router
    except ModuleNotFoundError as exc:
        if exc.name != "shopmind.serve.web":
            raise
    else:
        from shopmind.serve.docs import router as docs_router

        app.include_router(web_router)
        app.include_router(docs_router)  # its assets are static files of the web UI

    @app.exception_handler(ScopeRefused)
    async def _refused(request: Request, exc: ScopeRefused) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _unprocessable(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer echoes the input, which fails to render when it holds a NaN
        # or an infinity (JSON has none): the bad request became a 500.
        return JSONResponse({"detail": _json_safe(jsonable_encoder(exc.errors()))}, 422)

    @app.exception_handler(NoBundle)
    async def _no_bundle(request: Request, exc: NoBundle) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    app.add_middleware(_Observe, max_body_bytes=settings.max_body_bytes)
    return app


class _Observe:
    """Pure ASGI middleware: refuse bodies past the limit (413) and record Prometheus metrics."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        limit = self.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            self._observe(scope, 413, start)
            return
        if declared is None:
            # A body without a length (Transfer-Encoding: chunked) is read whole first: one
            # past the limit is a 413 before the app reads it (an error raised while FastAPI
            # reads a body would become its 400). A declared length is the server's to hold.
            messages = await _read_body(receive, limit)
            if messages is None:
                await _too_large(send, limit)
                self._observe(scope, 413, start)
                return
            receive = _replay(messages, receive)
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if status == 405:
                    message = _with_allow(message, scope)
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            self._observe(scope, status, start)

    def _observe(self, scope: Scope, status: int, start: float) -> None:
        app = scope.get("app")
        service = getattr(getattr(app, "state", None), "service", None)
        if service is None:
            return
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        service.metrics.observe(scope["method"], path, status, time.perf_counter() - start)


def _with_allow(message: Message, scope: Scope) -> Message:
    """A 405 whose ``Allow`` names every method of the path (Starlette names those of the
    first route that matched it only: ``Allow: POST`` where GET is served too)."""
    app = scope.get("app")
    if not isinstance(app, FastAPI):
        return message
    methods = _methods_by_path(app)
    allowed = sorted({m for pattern, ms in methods if pattern.fullmatch(scope["path"]) for m in ms})
    if not allowed:
        return message
    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
    headers.append((b"allow", ", ".join(allowed).encode()))
    return {**message, "headers": headers}


def _methods_by_path(app: FastAPI) -> list[tuple[re.Pattern[str], set[str]]]:
    """The documented methods of each path template (as a pattern), built once per app."""
    cached: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "methods", None)
    if cached is None:
        cached = [
            (
                re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path))),
                {method.upper() for method in operations},
            )
            for path, operations in app.openapi().get("paths", {}).items()
        ]
        app.state.methods = cached
    return cached


def _json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinity as text: JSON holds no such number."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _json_safe(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(inner) for inner in value]
    return value


async def _read_body(receive: Receive, limit: int) -> list[Message] | None:
    """The request's messages up to the end of its body; None once it passes ``limit``."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages  # the client went away: the app hears it
        size += len(message.get("body", b""))
        if size > limit:
            return None
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` giving the messages read already, then the server's."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _too_large(send: Send, limit: int) -> None:
    body: dict[str, Any] = {
        "detail": f"request body larger than {limit} bytes; send smaller batches"
    }
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
