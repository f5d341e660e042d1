"""The web UI: storefront, product page, shopper page, dashboard and segments.

The pages are server-rendered shells; small vanilla JS modules under ``static/`` call the JSON API
(with the ``X-API-Key`` the shopper's browser keeps in localStorage) and draw the rows and the SVG
plots. Everything is served from the package: no CDN, no network at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

# Module scripts are refused by browsers unless served with a JavaScript MIME type, whatever the
# platform's mimetypes table says.
MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain",
}

router = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {"root": request.scope.get("root_path", ""), **context},
    )


@router.get("/", response_class=HTMLResponse)
def storefront(request: Request) -> HTMLResponse:
    """The storefront: a shopper picker and their recommendation rows."""
    return _page(request, "storefront.html", page="storefront")


@router.get("/product/{item_id:path}", response_class=HTMLResponse)
def product(request: Request, item_id: str) -> HTMLResponse:
    """A product's page: its details and similar items."""
    return _page(request, "product.html", page="product", item_id=item_id)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request) -> HTMLResponse:
    """The dashboard: catalogue and event statistics, bundles and their validation metrics."""
    return _page(request, "dashboard.html", page="dashboard")


@router.get("/shopper/{user_id:path}", response_class=HTMLResponse)
def shopper(request: Request, user_id: str) -> HTMLResponse:
    """A shopper's page: their profile (affinities, price band, activity, interests, segment)."""
    return _page(request, "shopper.html", page="shopper", user_id=user_id)


@router.get("/segments", response_class=HTMLResponse)
def segments(request: Request) -> HTMLResponse:
    """The segments page: sizes, descriptions, KPIs and a map of shoppers by segment."""
    return _page(request, "segments.html", page="segments")


@router.get("/static/{path:path}")
def static(path: str) -> FileResponse:
    """A file of the UI's own static assets (never outside the static folder)."""
    target = (STATIC / path).resolve()
    if not target.is_relative_to(STATIC) or not target.is_file():
        raise HTTPException(status_code=404, detail=f"no static file {path!r}")
    return FileResponse(
        target,
        media_type=MEDIA_TYPES.get(target.suffix, "application/octet-stream"),
        headers={"Cache-Control": "no-cache"},
    )
