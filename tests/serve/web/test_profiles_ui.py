"""The shopper and segments pages in headless Chromium, clicked through from the storefront."""

from __future__ import annotations

from typing import Any

import httpx

from .test_storefront import _open_storefront, _shopper_with_history


def test_the_storefront_leads_to_the_shoppers_profile_page(
    page: Any, base_url: str, api: httpx.Client
) -> None:
    user = _shopper_with_history(api)
    profile = api.get(f"/v1/users/{user}/profile").json()
    _open_storefront(page, base_url, user)
    page.click('[data-testid="profile-link"]')
    page.wait_for_selector('[data-testid="profile"][data-state="ready"]')
    assert page.url.endswith(f"/shopper/{user}")
    assert page.text_content('[data-testid="profile-title"]') == user
    bars = page.eval_on_selector_all(
        '[data-testid="plot-categories"] rect.bar', "bars => bars.map(b => b.dataset.label)"
    )
    top = [a["name"] for a in profile["categories"][0]["affinities"]]
    assert bars == top  # the affinity bars are the profile's level-1 categories, strongest first
    reasons = page.eval_on_selector_all(
        '[data-testid="category-reasons"] li', "items => items.map(i => i.textContent)"
    )
    assert reasons[0] == profile["categories"][0]["affinities"][0]["because"]
    segment = page.text_content('[data-testid="profile-segment"]')
    assert profile["segment"]["name"] in segment
    width = page.eval_on_selector('[data-testid="price-meter"] span', "s => s.dataset.value")
    assert float(width) == profile["price"]["percentile"]
    events = page.eval_on_selector_all(
        '[data-testid="plot-events"] rect.bar',
        "bars => bars.map(b => [b.dataset.label, +b.dataset.value])",
    )
    assert dict(events) == profile["activity"]["events"]
    page.click('[data-testid="back-to-storefront"]')
    page.wait_for_selector('[data-testid="shopper-select"][data-state="ready"]')


def test_an_unknown_shopper_page_says_so(page: Any, base_url: str) -> None:
    page.goto(base_url + "/shopper/nobody-at-all")
    page.wait_for_selector('[data-testid="profile"][data-state="error"]')
    assert page.text_content('[data-testid="profile-title"]') == "No shopper nobody-at-all"


def test_the_segments_page_lists_maps_and_measures_the_segments(
    page: Any, base_url: str, api: httpx.Client
) -> None:
    answer = api.get("/v1/segments").json()
    page.goto(base_url + "/dashboard")
    page.click('[data-testid="nav-segments"]')
    page.wait_for_selector('[data-testid="segments"][data-state="ready"]')
    rows = page.eval_on_selector_all(
        '[data-testid="segment-row"]', "rows => rows.map(r => r.dataset.segment)"
    )
    assert rows == [s["id"] for s in answer["segments"]]
    sizes = page.eval_on_selector_all(
        '[data-testid="plot-segment-sizes"] rect.bar', "bars => bars.map(b => +b.dataset.value)"
    )
    assert sizes == [s["size"] for s in answer["segments"]]
    groups = page.eval_on_selector_all(
        '[data-testid="plot-segment-map"] circle.point',
        "points => points.map(p => +p.dataset.group)",
    )
    assert len(groups) == len(answer["map"]) > 0
    assert sorted(set(groups)) == sorted({g for _, _, g in answer["map"]})
    assert len(set(groups)) >= 2  # the map shows several segments, each its own colour
    legend = page.eval_on_selector_all('[data-testid="legend"]', "ts => ts.map(t => t.textContent)")
    assert legend[0].startswith(answer["segments"][0]["id"])
    criterion = page.text_content('[data-testid="segments-criterion"]')
    assert criterion.startswith(f"{len(rows)} segments") and "silhouette" in criterion
