"""The API docs at ``/docs``: Swagger UI served from the package, never from a CDN.

FastAPI's own ``/docs`` and ``/redoc`` load their scripts from a CDN and are blank pages offline,
so ``create_app`` turns them off and includes this router instead. The Swagger UI files are
vendored, unmodified, under ``static/vendor/swagger-ui/`` (its VERSION.txt names the version and
the licence) and reach the browser through the web UI's ``/static`` route. ReDoc is not served:
``/redoc`` redirects here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, RedirectResponse

DOCS = "/docs"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
ASSETS = "/static/vendor/swagger-ui"

router = APIRouter(include_in_schema=False)


@router.get(DOCS, response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over the app's OpenAPI schema; "Authorize" takes an ``X-API-Key``."""
    root = request.scope.get("root_path", "")
    app = request.app
    return get_swagger_ui_html(
        openapi_url=f"{root}{app.openapi_url}",
        title=f"{app.title} · API docs",
        swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}/static/favicon.svg",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
        swagger_ui_parameters={
            **(app.swagger_ui_parameters or {}),
            # Swagger UI would otherwise ask validator.swagger.io about the schema.
            "validatorUrl": None,
        },
    )


@router.get(OAUTH2_REDIRECT, response_class=HTMLResponse)
def swagger_ui_oauth2_redirect() -> HTMLResponse:
    """The page an OAuth2 flow returns to (FastAPI's own, self-contained)."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> RedirectResponse:
    """ReDoc is not served (it would need a second vendored bundle): the docs are at /docs."""
    return RedirectResponse(f"{request.scope.get('root_path', '')}{DOCS}")
