"""The dashboard in headless Chromium: its numbers are the API's, its plots draw every model."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import TrainedShop


def test_dashboard_shows_the_stats_of_the_api(page: Any, base_url: str, api: httpx.Client) -> None:
    stats = api.get("/v1/stats").json()
    page.goto(base_url + "/dashboard")
    page.wait_for_selector('[data-testid="stats"][data-state="ready"]')
    for key in ("items", "users", "events"):
        shown = page.get_attribute(f'[data-testid="stat-{key}"]', "data-value")
        assert shown == str(stats[key]), key
        text = page.text_content(f'[data-testid="stat-{key}"]')
        assert text.replace(",", "") == str(stats[key])
    bars = page.eval_on_selector_all(
        '[data-testid="chart-events-by-type"] svg rect.bar',
        "bars => bars.map(b => [b.dataset.label, Number(b.dataset.value)])",
    )
    assert dict(bars) == stats["events_by_type"]
    heights = page.eval_on_selector_all(
        '[data-testid="chart-events-by-type"] svg rect.bar',
        "bars => bars.map(b => Number(b.getAttribute('height')))",
    )
    # Taller bars for more events: the plot is drawn to scale.
    order = sorted(range(len(bars)), key=lambda i: bars[i][1])
    assert [heights[i] for i in order] == sorted(heights)
    assert (
        page.eval_on_selector_all(
            '[data-testid="chart-events-by-day"] svg path', "paths => paths.length"
        )
        == 1
    )
    categories = page.eval_on_selector_all(
        '[data-testid="chart-top-categories"] svg rect.bar', "bars => bars.length"
    )
    assert categories == len(stats["top_categories"]) > 0


def test_dashboard_shows_the_active_bundle_its_metrics_and_history(
    page: Any, base_url: str, api: httpx.Client, trained_shop: TrainedShop
) -> None:
    manifest = api.get("/v1/bundles/active").json()
    assert manifest["version"] == trained_shop.bundle
    scored = [m for m, values in manifest["metrics"].items() if "ndcg@10" in values]
    assert len(scored) >= 2, manifest["metrics"]

    page.goto(base_url + "/dashboard")
    page.wait_for_selector('[data-testid="active-bundle"][data-state="ready"]')
    assert page.text_content('[data-testid="active-bundle-version"]') == trained_shop.bundle

    # The metrics table: one row per model, the manifest's values.
    rows = page.eval_on_selector_all(
        '[data-testid="metrics-table"] tbody tr',
        """rows => rows.map(r => [
            r.dataset.model, [...r.querySelectorAll('td')].map(c => c.textContent)
        ])""",
    )
    headers = page.eval_on_selector_all(
        '[data-testid="metrics-table"] thead th', "ths => ths.slice(1).map(h => h.textContent)"
    )
    assert [model for model, _ in rows] == scored
    for model, cells in rows:
        for header, cell in zip(headers, cells, strict=True):
            assert cell == f"{manifest['metrics'][model][header]:.4f}"

    # Metric by model: one bar per model, for the chosen metric (NDCG@10 first).
    assert page.get_attribute('[data-testid="plot-by-model"]', "data-metric") == "ndcg@10"
    bars = page.eval_on_selector_all(
        '[data-testid="plot-by-model"] svg rect.bar',
        "bars => bars.map(b => [b.dataset.label, Number(b.dataset.value)])",
    )
    assert bars == [[m, manifest["metrics"][m]["ndcg@10"]] for m in scored]
    page.select_option('[data-testid="metric-select"]', "recall@10")
    bars = page.eval_on_selector_all(
        '[data-testid="plot-by-model"] svg rect.bar', "bars => bars.map(b => b.dataset.label)"
    )
    assert bars == scored
    assert page.get_attribute('[data-testid="plot-by-model"]', "data-metric") == "recall@10"

    # Metric by K: one line per model through every K the bundle measured.
    ks = sorted({int(name.split("@")[1]) for name in headers})
    series = page.eval_on_selector_all(
        '[data-testid="plot-by-k"] svg g.series',
        """gs => gs.map(g => [
            g.dataset.series, [...g.querySelectorAll('circle')].map(c => Number(c.dataset.x))
        ])""",
    )
    assert series == [[m, ks] for m in scored]

    # Bundle history: the active bundle is listed and marked.
    listed = api.get("/v1/bundles").json()
    history = page.eval_on_selector_all(
        '[data-testid="bundle-row"]', "rows => rows.map(r => [r.dataset.version, r.dataset.active])"
    )
    assert [v for v, _ in history] == [b["version"] for b in listed["bundles"]]
    assert [trained_shop.bundle, "true"] in history
    assert sum(active == "true" for _, active in history) == 1


def test_dashboard_shows_the_rankers_feature_importances(
    page: Any, base_url: str, api: httpx.Client
) -> None:
    ranking = api.get("/v1/bundles/active").json()["ranking"]
    assert ranking["scorer"] == "lightgbm"
    expected = sorted(ranking["importances"].items(), key=lambda kv: -kv[1])[:15]
    page.goto(base_url + "/dashboard")
    page.wait_for_selector('[data-testid="plot-importances"][data-state="ready"]')
    assert "scorer: lightgbm" in page.text_content('[data-testid="ranker-info"]')
    bars = page.eval_on_selector_all(
        '[data-testid="plot-importances"] svg rect.bar',
        "bars => bars.map(b => [b.dataset.label, Number(b.dataset.value)])",
    )
    assert [label for label, _ in bars] == [name for name, _ in expected]
    assert [value for _, value in bars] == pytest.approx([v for _, v in expected])


def test_the_dashboard_draws_the_category_graphs_strongest_links(
    page: Any, base_url: str, api: httpx.Client
) -> None:
    graph = api.get("/v1/categories/graph", params={"limit": 14}).json()
    assert graph["edges"], "the web shop's bundle has a category graph"
    page.goto(base_url + "/dashboard")
    page.wait_for_selector('[data-testid="category-graph"][data-state="ready"]')
    drawn = page.eval_on_selector_all(
        '[data-testid="chart-category-graph"] [data-testid="graph-edge"]',
        "lines => lines.map(l => [l.dataset.source, l.dataset.target, "
        "Number(l.getAttribute('stroke-width'))])",
    )
    assert [(s, t) for s, t, _ in drawn] == [(e["source"], e["target"]) for e in graph["edges"]]
    # Thicker for a higher lift: drawn to scale.
    lifts = [e["lift"] for e in graph["edges"]]
    widths = [w for *_, w in drawn]
    order = sorted(range(len(lifts)), key=lifts.__getitem__)
    assert [widths[i] for i in order] == sorted(widths)
    nodes = page.eval_on_selector_all(
        '[data-testid="graph-node"]', "nodes => nodes.map(n => n.dataset.category)"
    )
    assert set(nodes) == {e["source"] for e in graph["edges"]} | {
        e["target"] for e in graph["edges"]
    }
    labels = page.eval_on_selector_all(
        '[data-testid="graph-node"]',
        "nodes => nodes.map(n => { const r = n.getBoundingClientRect(); "
        "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })",
    )
    for a in range(len(labels)):  # readable: no two labels on top of each other
        for b in range(a + 1, len(labels)):
            x, y = labels[a], labels[b]
            overlap = (
                x["left"] < y["right"] and y["left"] < x["right"]
                and x["top"] < y["bottom"] and y["top"] < x["bottom"]
            )  # fmt: skip
            assert not overlap, (nodes[a], nodes[b])
