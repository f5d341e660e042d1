"""The API docs in headless Chromium: Swagger UI from the package, authorized with an API key."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from .conftest import READ_KEY

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
RECOMMEND = "/v1/users/{user_id}/recommendations"


def _off_loopback(urls: list[str]) -> list[str]:
    """The URLs that would leave the machine (data: and blob: URLs never do)."""
    return [
        url
        for url in urls
        if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).hostname not in LOOPBACK
    ]


def _execute(page: Any, operation: Any) -> tuple[str, str]:
    """Click Execute on an expanded operation; its live response's status and body text."""
    with page.expect_response(lambda r: urlsplit(r.url).path == "/v1/stats"):
        operation.locator("button.execute").click()
    response = operation.locator(".live-responses-table .response").first
    response.locator(".response-col_status").wait_for()
    # The status cell reads "401" and, for a status the schema does not list, "Undocumented".
    status = response.locator(".response-col_status").inner_text().split()[0]
    body = response.locator(".response-col_description pre").first.inner_text()
    return status, body


def test_the_docs_run_offline_and_send_the_key_they_are_given(page: Any, keyed_url: str) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(keyed_url + "/docs")

    # Swagger UI rendered the schema: the recommendation endpoint is there.
    recommend = page.locator(f'.opblock-summary-path[data-path="{RECOMMEND}"]')
    recommend.wait_for(state="visible")
    stats = page.locator(".opblock").filter(
        has=page.locator('.opblock-summary-path[data-path="/v1/stats"]')
    )
    stats.locator(".opblock-summary").click()
    stats.locator("button.try-out__btn").click()

    # Without a key the live API refuses ...
    status, body = _execute(page, stats)
    assert status == "401", body
    assert "X-API-Key" in json.loads(body)["detail"]

    # ... and with the key typed into the Authorize dialog it answers.
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".modal-ux")
    dialog.locator("input").fill(READ_KEY)
    dialog.locator('button[type="submit"]').click()
    dialog.locator("button.btn-done").click()
    with page.expect_request(lambda r: urlsplit(r.url).path == "/v1/stats") as sent:
        status, body = _execute(page, stats)
    assert sent.value.headers.get("x-api-key") == READ_KEY
    assert status == "200", body
    answer = json.loads(body)
    expected = httpx.get(f"{keyed_url}/v1/stats", headers={"X-API-Key": READ_KEY}).json()
    assert {k: answer[k] for k in ("items", "users", "events")} == {
        k: expected[k] for k in ("items", "users", "events")
    }

    # Everything the page loaded came from the app itself.
    paths = {urlsplit(url).path for url in requested}
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in paths
    assert "/openapi.json" in paths
    assert not _off_loopback(requested), _off_loopback(requested)
