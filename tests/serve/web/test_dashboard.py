"""The dashboard in headless Chromium: its numbers are the API's, its plots draw every model."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shopmind.catalog.store import Store

from .conftest import ADMIN_KEY, READ_KEY, STOREFRONT_KEY, TrainedShop, serving


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


# --- the online loop: its figures, the experiments, the retrain guard's decisions ------------


@dataclass(frozen=True)
class OwnShop:
    """A private copy of the web shop served with keys: a second, inactive bundle beside the
    active one, so that experiments, events and guard decisions leave the shared shop alone."""

    url: str
    home: Path
    active: str
    second: str


def _copy_shop(source: Path, target: Path) -> None:
    """The bundles and a consistent copy of the store (SQLite's backup: the shared shop's
    server may hold the file open, in WAL mode)."""
    shutil.copytree(source / "bundles", target / "bundles")
    with (
        closing(sqlite3.connect(source / "shop.sqlite")) as src,
        closing(sqlite3.connect(target / "shop.sqlite")) as dst,
    ):
        src.backup(dst)


@pytest.fixture(scope="module")
def two_bundles(
    trained_shop: TrainedShop, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """A copy of the web shop with a second bundle (popularity only), not activated."""
    from shopmind.training.config import TrainConfig
    from shopmind.training.train import train

    home = tmp_path_factory.mktemp("dashboard-two-bundles")
    _copy_shop(trained_shop.home, home)
    with Store(f"sqlite:///{home / 'shop.sqlite'}") as store:
        second = train(
            store,
            TrainConfig(models={"pop": {}}, max_validation_rows=100, search=None),
            home=home,
            activate=False,
        )
    return home, second.version


@pytest.fixture
def own_shop(
    two_bundles: tuple[Path, str], trained_shop: TrainedShop, tmp_path: Path
) -> Iterator[OwnShop]:
    """A fresh copy of ``two_bundles`` per test, served with a read, a storefront and an admin
    key (as ``keyed_url``)."""
    template, second = two_bundles
    home = tmp_path / "shop"
    home.mkdir()
    _copy_shop(template, home)
    shop = TrainedShop(home, f"sqlite:///{home / 'shop.sqlite'}", trained_shop.bundle)
    with serving(
        shop,
        read_keys=[READ_KEY, STOREFRONT_KEY],
        ingest_keys=[STOREFRONT_KEY],
        admin_keys=[ADMIN_KEY],
    ) as url:
        yield OwnShop(url, home, trained_shop.bundle, second)


@pytest.fixture
def admin(own_shop: OwnShop) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=own_shop.url, timeout=30, headers={"X-API-Key": ADMIN_KEY}) as c:
        yield c


def _open_dashboard(page: Any, url: str, key: str) -> None:
    """The dashboard with ``key`` kept in the browser (as the key panel keeps it)."""
    page.goto(url + "/dashboard")
    page.evaluate(f"localStorage.setItem('shopmind.apiKey', '{key}')")
    page.reload()
    page.wait_for_selector('[data-testid="online"][data-state="ready"]')
    page.wait_for_selector('[data-testid="experiments"][data-state="ready"]')


def _show_and_click(
    client: httpx.Client, user: str, path: str, clicks: int, **params: Any
) -> dict[str, Any]:
    """Ask for a list for ``user``, record its impression, then ``clicks`` clicks on its first
    items (carrying the answer's request id); the answer."""
    answer: dict[str, Any] = client.get(path, params={"k": 5, **params}).json()
    items = [i["item_id"] for i in answer["items"]]
    assert len(items) >= clicks, answer
    context = {
        "request_id": answer["request_id"],
        "placement": answer["placement"],
        "items": items,
        "bundle": answer["bundle"],
    }
    if answer.get("experiment"):
        context |= {"experiment": answer["experiment"], "arm": answer["arm"]}
    events: list[dict[str, Any]] = [
        {
            "event_id": f"impression-{answer['request_id']}",
            "user_id": user,
            "type": "impression",
            "context": context,
        }
    ]
    events += [
        {
            "event_id": f"click-{answer['request_id']}-{item}",
            "user_id": user,
            "item_id": item,
            "type": "click",
            "context": {"request_id": answer["request_id"]},
        }
        for item in items[:clicks]
    ]
    posted = client.post("/v1/events", json={"events": events})
    assert posted.status_code < 300, posted.text
    return answer


def _rows(page: Any, selector: str, key: str) -> dict[str, dict[str, Any]]:
    """Each row's cells by column: {row's data-<key>: {col: {text, value, low, high}}}."""
    rows: list[list[Any]] = page.eval_on_selector_all(
        selector,
        f"""rows => rows.map(r => [r.dataset.{key}, Object.fromEntries(
            [...r.querySelectorAll('td[data-col]')].map(c => [c.dataset.col, {{
                text: c.textContent, value: c.dataset.value ?? null,
                low: c.dataset.low ?? null, high: c.dataset.high ?? null,
            }}])
        )])""",
    )
    return {name: cells for name, cells in rows}


def _number(text: str | None) -> float | None:
    return None if text is None else float(text)


def _bars(page: Any, chart: str) -> list[list[Any]]:
    bars: list[list[Any]] = page.eval_on_selector_all(
        f'[data-testid="{chart}"] svg rect.bar',
        "bars => bars.map(b => [b.dataset.label, Number(b.dataset.value)])",
    )
    return bars


def test_the_online_panel_shows_the_apis_figures_of_what_was_shown(
    page: Any, own_shop: OwnShop, admin: httpx.Client
) -> None:
    # Nothing shown yet: the panel says how it fills up.
    assert admin.get("/v1/metrics/online").json()["groups"] == []
    _open_dashboard(page, own_shop.url, READ_KEY)
    assert page.is_visible('[data-testid="online-empty"]')
    assert page.inner_text('[data-testid="online-empty"]').startswith(
        "No impressions recorded yet: the storefront records what it shows"
    )
    assert not page.is_visible('[data-testid="online-table"]')

    # Lists shown to three shoppers in two placements, some of their items clicked.
    with httpx.Client(
        base_url=own_shop.url, timeout=30, headers={"X-API-Key": STOREFRONT_KEY}
    ) as storefront:
        _show_and_click(storefront, "u00003", "/v1/users/u00003/recommendations", 2)
        _show_and_click(storefront, "u00007", "/v1/users/u00007/recommendations", 1)
        first = storefront.get("/v1/users/u00011/recommendations", params={"k": 5}).json()
        anchor = first["items"][0]["item_id"]
        _show_and_click(storefront, "u00011", f"/v1/items/{anchor}/similar", 3, user_id="u00011")
    online = admin.get("/v1/metrics/online").json()
    by_key = {g["key"]: g for g in online["groups"]}
    assert set(by_key) == {"for_you", "similar"}, online
    assert by_key["for_you"]["impressions"] == 10 and by_key["for_you"]["clicks"] == 3
    assert by_key["similar"]["clicks"] == 3

    page.reload()
    page.wait_for_selector('[data-testid="online"][data-state="ready"]')
    assert not page.is_visible('[data-testid="online-empty"]')
    assert page.get_attribute('[data-testid="online"]', "data-by") == "placement"
    assert page.input_value('[data-testid="online-by"]') == "placement"
    rows = _rows(page, '[data-testid="online-table"] tbody tr', "key")
    assert list(rows) == [g["key"] for g in online["groups"]]
    for key, cells in rows.items():
        group = by_key[key]
        for col in ("impressions", "clicks", "ctr", "atc_rate", "cvr", "revenue_per_impression"):
            assert _number(cells[col]["value"]) == group[col], (key, col)
        assert cells["impressions"]["text"] == str(group["impressions"])
        assert cells["ctr"]["text"] == f"{100 * group['ctr']:.2f}".rstrip("0").rstrip(".") + "%"
    # The CTR chart: one bar per group, the API's CTR.
    assert _bars(page, "chart-online-ctr") == [[g["key"], g["ctr"]] for g in online["groups"]]
    # How the clicks were attributed: all six carried their list's request id.
    attributed = page.eval_on_selector_all(
        '[data-testid="online-attributed"] [data-testid="attributed"]',
        "spans => spans.map(s => [s.dataset.key, Number(s.dataset.value)])",
    )
    assert dict(attributed) == {k: v for k, v in online["attributed"].items() if v}
    assert dict(attributed)["click.request"] == 6

    # Over time: today's impressions, then today's CTR.
    daily = admin.get("/v1/metrics/online", params={"by": "day"}).json()["groups"]
    assert len(daily) == 1
    chart = '[data-testid="chart-online-daily"]'
    points = page.eval_on_selector_all(
        f"{chart} circle.point", "ps => ps.map(p => [p.dataset.x, Number(p.dataset.y)])"
    )
    assert points == [[daily[0]["key"], daily[0]["impressions"]]]
    page.select_option('[data-testid="online-daily-metric"]', "ctr")
    page.wait_for_selector(f'{chart}[data-metric="ctr"]')
    points = page.eval_on_selector_all(
        f"{chart} circle.point", "ps => ps.map(p => [p.dataset.x, Number(p.dataset.y)])"
    )
    assert points == [[daily[0]["key"], daily[0]["ctr"]]]

    # Grouped by bundle: all of it was the active bundle's.
    page.select_option('[data-testid="online-by"]', "bundle")
    page.wait_for_selector('[data-testid="online"][data-state="ready"][data-by="bundle"]')
    by_bundle = admin.get("/v1/metrics/online", params={"by": "bundle"}).json()["groups"]
    assert [g["key"] for g in by_bundle] == [own_shop.active]
    rows = _rows(page, '[data-testid="online-table"] tbody tr', "key")
    assert list(rows) == [own_shop.active]
    assert _number(rows[own_shop.active]["ctr"]["value"]) == by_bundle[0]["ctr"]
    assert _bars(page, "chart-online-ctr") == [[own_shop.active, by_bundle[0]["ctr"]]]


def _start(admin: httpx.Client, own_shop: OwnShop, name: str = "t") -> str:
    started = admin.post(
        "/v1/admin/experiments",
        json={
            "name": name,
            "arms": [
                {"name": "control", "share": 0.5},
                {"name": "other", "bundle": own_shop.second, "share": 0.5},
            ],
        },
    )
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def _experiment_traffic(admin: httpx.Client) -> dict[str, int]:
    """Lists shown to twenty shoppers under the experiment, clicks on some; shoppers per arm."""
    arms: dict[str, int] = {}
    for n in range(20):
        user = f"u{n + 1:05d}"
        answer = _show_and_click(admin, user, f"/v1/users/{user}/recommendations", n % 3)
        arms[answer["arm"]] = arms.get(answer["arm"], 0) + 1
    return arms


def _check_arms(page: Any, results: dict[str, Any]) -> None:
    rows = _rows(page, '[data-testid="arm-row"]', "arm")
    assert list(rows) == [arm["name"] for arm in results["arms"]]
    for arm in results["arms"]:
        cells = rows[arm["name"]]
        assert _number(cells["share"]["value"]) == arm["share"]
        assert cells["share"]["text"] == f"{100 * arm['share']:g}%"
        assert _number(cells["impressions"]["value"]) == arm["impressions"]
        ctr = arm["metrics"]["ctr"]
        assert [_number(cells["ctr"][k]) for k in ("value", "low", "high")] == [
            ctr["value"],
            ctr["low"],
            ctr["high"],
        ]
        versus = arm["versus_control"]
        if versus is None:  # the control
            assert cells["difference"]["text"] == "control"
            continue
        assert _number(cells["difference"]["value"]) == versus["difference"]
        assert _number(cells["p_value"]["value"]) == versus["p_value"]
        assert cells["verdict"]["text"] == ("significant" if versus["significant"] else "not yet")
        more = versus["more_impressions"]
        assert _number(cells["more"]["value"]) == more
        if more:
            assert cells["more"]["text"] == f"{more:,} more impressions needed"
    drawn = page.eval_on_selector_all(
        '[data-testid="chart-arms"] svg line.interval',
        "ls => ls.map(l => [l.dataset.label, Number(l.dataset.low), Number(l.dataset.high)])",
    )
    with_ctr = [a for a in results["arms"] if a["metrics"]["ctr"]["value"] is not None]
    assert _bars(page, "chart-arms") == [
        [a["name"], a["metrics"]["ctr"]["value"]] for a in with_ctr
    ]
    assert drawn == [
        [a["name"], a["metrics"]["ctr"]["low"], a["metrics"]["ctr"]["high"]] for a in with_ctr
    ]


def test_the_experiments_panel_shows_each_arm_and_stops_and_promotes_them(
    page: Any, own_shop: OwnShop, admin: httpx.Client
) -> None:
    _open_dashboard(page, own_shop.url, ADMIN_KEY)
    assert page.get_attribute('[data-testid="experiments"]', "data-status") == "none"
    assert page.text_content('[data-testid="experiment-info"]').startswith(
        "No experiment is running"
    )

    experiment = _start(admin, own_shop)
    arms = _experiment_traffic(admin)
    assert set(arms) == {"control", "other"}, arms  # both arms got shoppers
    results = admin.get(f"/v1/experiments/{experiment}").json()
    assert all(arm["impressions"] > 0 for arm in results["arms"])

    page.reload()
    page.wait_for_selector(
        f'[data-testid="experiments"][data-state="ready"][data-experiment="{experiment}"]'
    )
    assert page.get_attribute('[data-testid="experiments"]', "data-status") == "running"
    _check_arms(page, results)
    # Stop on the treatment arm only; Promote on both.
    control = '[data-testid="arm-row"][data-arm="control"]'
    other = '[data-testid="arm-row"][data-arm="other"]'
    assert page.locator(f'{control} [data-testid="arm-stop"]').count() == 0
    assert page.locator(f'{other} [data-testid="arm-stop"]').count() == 1
    assert page.locator('[data-testid="arm-promote"]').count() == 2
    # The online table by arm shows the experiment's arms too.
    page.select_option('[data-testid="online-by"]', "arm")
    page.wait_for_selector('[data-testid="online"][data-state="ready"][data-by="arm"]')
    by_arm = admin.get("/v1/metrics/online", params={"by": "arm"}).json()["groups"]
    rows = _rows(page, '[data-testid="online-table"] tbody tr', "key")
    assert list(rows) == [g["key"] for g in by_arm]
    assert {f"{experiment}/control", f"{experiment}/other"} <= set(rows)

    # Stop the treatment arm: the API says it is stopped, and so does its row.
    page.click(f'{other} [data-testid="arm-stop"]')
    page.wait_for_selector(f'{other}[data-stopped="true"]')
    page.wait_for_selector('[data-testid="experiments"][data-state="ready"]')
    stopped = admin.get(f"/v1/experiments/{experiment}").json()
    assert stopped["experiment"]["status"] == "running"
    assert [a["stopped"] is not None for a in stopped["arms"]] == [False, True]
    assert page.is_visible(f'{other} [data-testid="arm-stopped"]')
    assert page.locator(f"{other} button").count() == 0
    _check_arms(page, stopped)

    # Promote the control: the experiment ends, the active bundle stays.
    page.click(f'{control} [data-testid="arm-promote"]')
    page.wait_for_selector('[data-testid="experiments"][data-state="ready"][data-status="ended"]')
    ended = admin.get("/v1/experiments").json()
    assert ended["running"] is None
    assert ended["experiments"][0]["promoted"] == "control"
    assert admin.get("/v1/bundles/active").json()["version"] == own_shop.active
    assert page.text_content('[data-testid="experiment-info"]') == "No experiment is running."
    decision = page.text_content('[data-testid="experiment-decision"]')
    assert ended["experiments"][0]["decision"] in decision
    assert page.locator('[data-testid="experiments"] button').count() == 0


def test_promoting_an_arm_activates_its_bundle_and_end_ends_without_one(
    page: Any, own_shop: OwnShop, admin: httpx.Client
) -> None:
    experiment = _start(admin, own_shop)
    _open_dashboard(page, own_shop.url, ADMIN_KEY)
    page.wait_for_selector(f'[data-testid="experiments"][data-experiment="{experiment}"]')
    page.click('[data-testid="arm-row"][data-arm="other"] [data-testid="arm-promote"]')
    page.wait_for_selector('[data-testid="experiments"][data-state="ready"][data-status="ended"]')
    promoted = admin.get(f"/v1/experiments/{experiment}").json()["experiment"]
    assert (promoted["status"], promoted["promoted"]) == ("ended", "other")
    assert admin.get("/v1/bundles/active").json()["version"] == own_shop.second
    # The panels of the bundles follow: the second bundle is the active one now.
    page.wait_for_selector(
        f'[data-testid="bundle-row"][data-version="{own_shop.second}"][data-active="true"]'
    )
    page.wait_for_function(
        f"document.querySelector('[data-testid=\"active-bundle-version\"]')"
        f".textContent === '{own_shop.second}'"
    )

    # A second experiment, ended without promoting an arm.
    again = _start(admin, own_shop, name="again")
    page.reload()
    page.wait_for_selector(
        f'[data-testid="experiments"][data-state="ready"][data-experiment="{again}"]'
    )
    page.click('[data-testid="experiment-end"]')
    page.wait_for_selector('[data-testid="experiments"][data-state="ready"][data-status="ended"]')
    ended = admin.get(f"/v1/experiments/{again}").json()["experiment"]
    assert (ended["status"], ended["promoted"]) == ("ended", None)
    assert page.get_attribute('[data-testid="experiments"]', "data-experiment") == again
    assert ended["decision"] in page.text_content('[data-testid="experiment-decision"]')
    assert admin.get("/v1/bundles/active").json()["version"] == own_shop.second


def test_a_read_key_cannot_stop_an_arm_and_is_asked_for_another_key(
    page: Any, own_shop: OwnShop, admin: httpx.Client
) -> None:
    experiment = _start(admin, own_shop)
    _open_dashboard(page, own_shop.url, READ_KEY)
    other = '[data-testid="arm-row"][data-arm="other"]'
    page.wait_for_selector(f'[data-testid="experiments"][data-experiment="{experiment}"]')
    page.click(f'{other} [data-testid="arm-stop"]')
    page.wait_for_selector('[data-testid="key-panel"]:not([hidden])')
    page.wait_for_selector('[data-testid="experiments"][data-state="ready"]')
    results = admin.get(f"/v1/experiments/{experiment}").json()
    assert [a["stopped"] for a in results["arms"]] == [None, None]
    assert page.get_attribute(other, "data-stopped") == "false"
    admin.post(f"/v1/admin/experiments/{experiment}/end").raise_for_status()


def test_the_bundle_history_shows_the_retrain_guards_decisions(
    page: Any, own_shop: OwnShop, admin: httpx.Client
) -> None:
    from shopmind.bundle.store import BundleStore
    from shopmind.training import guard

    bundles = BundleStore(own_shop.home)
    active, second = bundles.get(own_shop.active), bundles.get(own_shop.second)
    kept = guard.judge(second.manifest, active.manifest, trigger="schedule")
    assert not kept.activate, kept  # popularity alone falls short of the active bundle
    guard.record(second.path, kept)
    guard.record(active.path, guard.judge(active.manifest, None))

    listed = {b["version"]: b for b in admin.get("/v1/bundles").json()["bundles"]}
    assert listed[own_shop.second]["decision"]["activate"] is False
    assert listed[own_shop.active]["decision"]["activate"] is True
    _open_dashboard(page, own_shop.url, READ_KEY)
    page.wait_for_selector('[data-testid="bundles-table"][data-state="ready"]')
    shown = page.eval_on_selector_all(
        '[data-testid="bundle-row"]',
        """rows => rows.map(r => {
            const d = r.querySelector('[data-testid="bundle-decision"]');
            return [r.dataset.version, d && d.dataset.activate, d && d.title,
                    d && d.querySelector('span').textContent];
        })""",
    )
    assert {version: rest for version, *rest in shown} == {
        version: [
            str(b["decision"]["activate"]).lower(),
            b["decision"]["why"],
            "activated" if b["decision"]["activate"] else "kept inactive",
        ]
        if b["decision"]
        else [None, None, None]
        for version, b in listed.items()
    }
    row = f'[data-testid="bundle-row"][data-version="{own_shop.second}"]'
    assert page.text_content(f'{row} [data-testid="bundle-decision-why"]') == kept.why
