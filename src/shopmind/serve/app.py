"""The FastAPI app factory: settings in, an app whose lifespan loads the active bundle once."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from threadpoolctl import threadpool_limits

from shopmind import __version__
from shopmind.serve.service import NoBundle, Service
from shopmind.serve.settings import ServeSettings

log = logging.getLogger(__name__)

OPEN_WARNING = (
    "running open: no API keys are set, so every endpoint (writes and admin included) is "
    "public; set SHOPMIND_READ_KEYS and SHOPMIND_ADMIN_KEYS before binding beyond loopback"
)


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """The shopmind API (and the web UI when ``shopmind.serve.web`` is installed)."""
    settings = settings or ServeSettings()
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

    from shopmind.serve.routes import bundles, catalogue, events, recommend, system

    for module in (system, catalogue, events, recommend, bundles):
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

    @app.exception_handler(NoBundle)
    async def _no_bundle(request: Request, exc: NoBundle) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    app.add_middleware(_Observe, max_body_bytes=settings.max_body_bytes)
    return app


class _TooLarge(Exception):
    pass


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
        received = 0
        status = 500
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def observed(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = int(message["status"]), True
            await send(message)

        try:
            await self.app(scope, counted, observed)
        except _TooLarge:
            if started:
                raise
            status = 413
            await _too_large(send, limit)
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
