"""The UI's pages and static files as the real app serves them (no browser needed)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

import shopmind.serve.web as web

ASSETS = sorted(p for p in web.STATIC.rglob("*") if p.is_file())
TEMPLATES = sorted((Path(web.__file__).parent / "templates").glob("*.html"))


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("/", 'data-testid="shopper-select"'),
        ("/product/ANY-ID%20x", 'data-item-id="ANY-ID x"'),
        ("/dashboard", 'data-testid="plot-by-model"'),
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


@pytest.mark.parametrize("source", [*ASSETS, *TEMPLATES], ids=lambda p: p.name)
def test_the_ui_loads_nothing_from_the_network(source: Path) -> None:
    text = source.read_text()
    # SVG namespaces are names, not downloads; anything else absolute would be a CDN.
    urls = set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", text)) - {
        "http://www.w3.org/2000/svg"
    }
    assert not urls, f"{source.name} refers to {urls}"
