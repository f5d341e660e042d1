"""The UI's pages and static files as the real app serves them (no browser needed)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest

import shopmind.serve.web as web

ASSETS = sorted(p for p in web.STATIC.rglob("*") if p.is_file())
TEMPLATES = sorted((Path(web.__file__).parent / "templates").glob("*.html"))
#: Swagger UI, vendored unmodified for /docs: its bundle names URLs in strings (licences, links
#: in the UI), so the network check below leaves it out and tests/serve/web/test_docs.py checks
#: in the browser that the page requests nothing off this machine.
SWAGGER_UI = web.STATIC / "vendor" / "swagger-ui"
URL = re.compile(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*")


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("/", 'data-testid="shopper-select"'),
        ("/product/ANY-ID%20x", 'data-item-id="ANY-ID x"'),
        ("/dashboard", 'data-testid="plot-by-model"'),
        ("/shopper/u%20x", 'data-user-id="u x"'),
        ("/segments", 'data-testid="plot-segment-map"'),
    ],
)
def test_pages_are_served_as_html(api: httpx.Client, path: str, marker: str) -> None:
    response = api.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert marker in response.text


def test_a_product_id_is_escaped_into_the_page(api: httpx.Client) -> None:
    response = api.get('/product/"><b onclick=alert(1)>x')
    assert response.status_code == 200
    assert "<b onclick" not in response.text
    assert 'data-item-id="&#34;&gt;&lt;b onclick=alert(1)&gt;x"' in response.text


@pytest.mark.parametrize("asset", ASSETS, ids=lambda p: p.name)
def test_static_files_are_served_with_their_type(api: httpx.Client, asset: Path) -> None:
    response = api.get(f"/static/{asset.relative_to(web.STATIC).as_posix()}")
    assert response.status_code == 200
    assert response.content == asset.read_bytes()
    expected = web.MEDIA_TYPES[asset.suffix]
    assert response.headers["content-type"].split(";")[0] == expected


@pytest.mark.parametrize("path", ["/static/../web.py", "/static/%2e%2e/web.py", "/static/nope.js"])
def test_nothing_outside_the_static_folder_is_served(api: httpx.Client, path: str) -> None:
    response = api.get(path)
    assert response.status_code == 404
    assert "def storefront" not in response.text


def _network_addresses(text: str) -> set[str]:
    # SVG namespaces are names, not downloads; anything else absolute would be a CDN.
    return set(URL.findall(text)) - {"http://www.w3.org/2000/svg"}


@pytest.mark.parametrize(
    "source",
    [*(a for a in ASSETS if not a.is_relative_to(SWAGGER_UI)), *TEMPLATES],
    ids=lambda p: p.name,
)
def test_the_ui_loads_nothing_from_the_network(source: Path) -> None:
    urls = _network_addresses(source.read_text())
    assert not urls, f"{source.name} refers to {urls}"


def test_the_vendored_swagger_ui_is_the_release_it_names() -> None:
    version = (SWAGGER_UI / "VERSION.txt").read_text()
    assert re.match(r"Swagger UI \d+\.\d+\.\d+, licensed under the Apache License 2\.0", version)
    assert "Apache License" in (SWAGGER_UI / "LICENSE.txt").read_text()
    checksums = dict(
        (name, digest)
        for digest, name in re.findall(r"^sha256 ([0-9a-f]{64})  (\S+)$", version, re.M)
    )
    assert set(checksums) == {"swagger-ui-bundle.js", "swagger-ui.css"}
    for name, digest in checksums.items():
        assert hashlib.sha256((SWAGGER_UI / name).read_bytes()).hexdigest() == digest, name


def test_the_api_docs_are_served_from_the_app(api: httpx.Client) -> None:
    page = api.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not _network_addresses(page.text), _network_addresses(page.text)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    assert {Path(a).suffix for a in assets} == set(types), assets
    for asset in assets:
        response = api.get(asset)
        assert response.status_code == 200, asset
        assert response.headers["content-type"].split(";")[0] == types[Path(asset).suffix]
    assert api.get("/openapi.json").json()["info"]["title"] == "shopmind"
    redirect = api.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and not _network_addresses(redirect.text)


def test_redoc_is_not_a_blank_page_but_the_docs(api: httpx.Client) -> None:
    response = api.get("/redoc", follow_redirects=True)
    assert response.history and response.history[0].status_code == 307
    assert response.url.path == "/docs" and "swagger-ui-bundle.js" in response.text
