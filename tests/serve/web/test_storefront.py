"""The storefront in headless Chromium: a click is a stored view event that changes the rows."""

from __future__ import annotations

import re
from typing import Any

import httpx

from shopmind.catalog.store import Store
from shopmind.synthetic import generate

from .conftest import SHOP, TrainedShop


def _cards(page: Any, row: str) -> list[dict[str, str]]:
    """The product cards of a row, in order: item id, title and reason."""
    cards: list[dict[str, str]] = page.eval_on_selector_all(
        f'[data-testid="{row}-items"] [data-testid="product-card"]',
        """cards => cards.map(c => ({
            item_id: c.dataset.itemId,
            title: c.querySelector('[data-testid="card-title"]').textContent,
            reason: (c.querySelector('[data-testid="card-reason"]') || {}).textContent || "",
        }))""",
    )
    return cards


def _open_storefront(page: Any, base_url: str, user_id: str) -> None:
    page.goto(base_url + "/")
    page.wait_for_selector('[data-testid="shopper-select"][data-state="ready"]')
    page.select_option('[data-testid="shopper-select"]', user_id)
    page.wait_for_selector('body[data-render="ready"]')


def _shopper_with_history(api: httpx.Client) -> str:
    """The first listed shopper who has item events (so their rows are personal)."""
    for user in api.get("/v1/users", params={"limit": 50}).json()["users"]:
        events = api.get(f"/v1/users/{user['user_id']}/events", params={"limit": 5}).json()
        if any(e.get("item_id") for e in events["events"]):
            return str(user["user_id"])
    raise AssertionError("no shopper with item events among the first 50")


def test_shopper_picker_lists_the_shoppers_of_the_api(
    page: Any, base_url: str, api: httpx.Client
) -> None:
    page.goto(base_url + "/")
    page.wait_for_selector('[data-testid="shopper-select"][data-state="ready"]')
    options = page.eval_on_selector_all(
        '[data-testid="shopper-select"] option', "os => os.map(o => o.value).filter(Boolean)"
    )
    listed = api.get("/v1/users", params={"limit": 200}).json()
    assert options == [u["user_id"] for u in listed["users"]]
    assert page.is_visible('[data-testid="storefront-hint"]')
    assert not page.is_visible('[data-testid="row-recommended"]')


def test_clicking_a_product_stores_a_view_and_changes_the_rows(
    page: Any, base_url: str, api: httpx.Client, trained_shop: TrainedShop
) -> None:
    user = _shopper_with_history(api)
    _open_storefront(page, base_url, user)

    before = _cards(page, "row-recommended")
    expected = api.get(f"/v1/users/{user}/recommendations", params={"k": 12}).json()
    assert [c["item_id"] for c in before] == [i["item_id"] for i in expected["items"]]
    assert all(c["reason"] for c in before), "every recommended item shows its reason"
    because_before = page.get_attribute('[data-testid="row-because"]', "data-item-id")
    events = api.get(f"/v1/users/{user}/events", params={"limit": 50}).json()["events"]
    assert because_before == next(e["item_id"] for e in events if e.get("item_id"))

    # Click a recommended product the shopper's rows are not already about.
    clicked = next(c for c in before if c["item_id"] != because_before)
    page.click(f'[data-testid="row-recommended-items"] [data-item-id="{clicked["item_id"]}"]')

    # The product page: its details and similar items (never the product itself).
    page.wait_for_url(re.compile(r"/product/"))
    page.wait_for_selector('[data-testid="product"][data-state="ready"]')
    page.wait_for_selector('[data-testid="row-similar"][data-state="ready"]')
    assert page.text_content('[data-testid="product-title"]') == clicked["title"]
    similar = _cards(page, "row-similar")
    assert similar, "the product page shows similar items"
    assert clicked["item_id"] not in {c["item_id"] for c in similar}
    api_similar = api.get(f"/v1/items/{clicked['item_id']}/similar", params={"k": 12}).json()
    assert [c["item_id"] for c in similar] == [i["item_id"] for i in api_similar["items"]]

    # The click was stored as a view event: through the API and in the store itself.
    newest = api.get(f"/v1/users/{user}/events", params={"limit": 1}).json()["events"][0]
    assert (newest["item_id"], newest["type"]) == (clicked["item_id"], "view")
    with Store(trained_shop.store_url) as store:
        stored = store.user_events(user)
    assert any(e.id == newest["event_id"] and e.item_id == clicked["item_id"] for e in stored)

    # Back on the storefront the rows are about the product just viewed.
    page.go_back()
    page.wait_for_selector(
        f'[data-testid="row-because"][data-item-id="{clicked["item_id"]}"][data-state="ready"]'
    )
    page.wait_for_selector('body[data-render="ready"]')
    title = page.text_content('[data-testid="row-because-title"]')
    assert title == f"Because you viewed {clicked['title']}"
    because = _cards(page, "row-because")
    assert [c["item_id"] for c in because] == [c["item_id"] for c in similar]
    after = _cards(page, "row-recommended")
    assert after, "the shopper still gets recommendations"
    reasons_mention = any(clicked["title"] in c["reason"] for c in after)
    assert [c["item_id"] for c in after] != [c["item_id"] for c in before] or reasons_mention
    history = page.eval_on_selector_all(
        '[data-testid="history-event"]', "li => li.map(e => [e.dataset.itemId, e.dataset.type])"
    )
    assert history[0] == [clicked["item_id"], "view"]


def test_a_second_click_on_the_product_page_moves_the_rows_on(
    page: Any, base_url: str, api: httpx.Client
) -> None:
    user = _shopper_with_history(api)
    _open_storefront(page, base_url, user)
    first = _cards(page, "row-recommended")[0]
    page.click(f'[data-testid="row-recommended-items"] [data-item-id="{first["item_id"]}"]')
    page.wait_for_selector('[data-testid="row-similar"][data-state="ready"]')
    second = _cards(page, "row-similar")[0]
    page.click(f'[data-testid="row-similar-items"] [data-item-id="{second["item_id"]}"]')
    page.wait_for_url(re.compile(re.escape(f"/product/{second['item_id']}")))
    page.wait_for_selector('[data-testid="product"][data-state="ready"]')

    page.click('[data-testid="back-to-storefront"]')
    page.wait_for_selector(
        f'[data-testid="row-because"][data-item-id="{second["item_id"]}"][data-state="ready"]'
    )
    assert page.input_value('[data-testid="shopper-select"]') == user
    events = api.get(f"/v1/users/{user}/events", params={"limit": 2}).json()["events"]
    assert [e["item_id"] for e in events] == [second["item_id"], first["item_id"]]


def test_event_ids_are_uuids_with_or_without_crypto_random_uuid(page: Any, base_url: str) -> None:
    page.goto(base_url + "/")
    ids = page.evaluate(
        """async () => {
            const { newEventId } = await import("/static/api.js");
            const secure = [newEventId(), newEventId()];
            crypto.randomUUID = undefined;  // as in an insecure (non-loopback http) context
            const fallback = [newEventId(), newEventId()];
            return { secure, fallback };
        }"""
    )
    uuid4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    for pair in (ids["secure"], ids["fallback"]):
        assert all(uuid4.match(i) for i in pair), pair
        assert pair[0] != pair[1]


def test_the_page_asks_for_a_key_when_the_api_answers_401_and_uses_it(
    page: Any, keyed_url: str
) -> None:
    from .conftest import ADMIN_KEY

    page.goto(keyed_url + "/")
    page.wait_for_selector('[data-testid="key-panel"]', state="visible")
    message = page.text_content('[data-testid="key-message"]')
    assert "401" in message
    assert "SHOPMIND_READ_KEYS" in message and "SHOPMIND_INGEST_KEYS" in message  # which key
    assert (
        page.eval_on_selector_all('[data-testid="shopper-select"] option', "os => os.length") == 1
    )

    page.fill('[data-testid="key-input"]', ADMIN_KEY)  # an admin key may list the shoppers
    with page.expect_navigation():
        page.click('[data-testid="key-save"]')
    page.wait_for_selector('[data-testid="shopper-select"][data-state="ready"]')
    assert page.eval_on_selector_all('[data-testid="shopper-select"] option', "os => os.length") > 1
    assert not page.is_visible('[data-testid="key-panel"]')
    assert page.evaluate("localStorage.getItem('shopmind.apiKey')") == ADMIN_KEY

    # A key the API does not accept is reported as such.
    page.evaluate("localStorage.setItem('shopmind.apiKey', 'not-a-key')")
    page.reload()
    page.wait_for_selector('[data-testid="key-panel"]', state="visible")
    assert "403" in page.text_content('[data-testid="key-message"]')


def test_the_storefront_works_with_a_read_and_ingest_key(page: Any, keyed_url: str) -> None:
    """The key a storefront may hold: no shopper list, no reading events back, and yet a
    typed-in shopper's rows, a click stored as a view, and the rows moving on after it."""
    from .conftest import ADMIN_KEY, STOREFRONT_KEY

    with httpx.Client(base_url=keyed_url, headers={"X-API-Key": ADMIN_KEY}) as admin:
        user = _shopper_with_history(admin)
        stored_before = len(
            admin.get(f"/v1/users/{user}/events", params={"limit": 1000}).json()["events"]
        )
    page.goto(keyed_url + "/")
    page.evaluate(f"localStorage.setItem('shopmind.apiKey', '{STOREFRONT_KEY}')")
    page.reload()
    page.wait_for_selector('[data-testid="shopper-select"][data-state="ready"]')
    assert not page.is_visible('[data-testid="key-panel"]')  # the refused list is no error
    assert "admin scope" in page.text_content('[data-testid="shopper-info"]')
    page.fill('[data-testid="shopper-input"]', user)
    page.click('[data-testid="shopper-go"]')
    page.wait_for_selector('body[data-render="ready"]')
    before = _cards(page, "row-recommended")
    assert before and all(c["reason"] for c in before)
    assert not page.is_visible('[data-testid="notice"]')

    clicked = before[0]
    page.click(f'[data-testid="row-recommended-items"] [data-item-id="{clicked["item_id"]}"]')
    page.wait_for_selector('[data-testid="product"][data-state="ready"]')
    page.wait_for_selector('[data-testid="row-similar"][data-state="ready"]')
    assert page.text_content('[data-testid="product-title"]') == clicked["title"]
    with httpx.Client(base_url=keyed_url, headers={"X-API-Key": ADMIN_KEY}) as admin:
        events = admin.get(f"/v1/users/{user}/events", params={"limit": 1000}).json()["events"]
    assert len(events) == stored_before + 1
    assert (events[0]["item_id"], events[0]["type"]) == (clicked["item_id"], "view")

    page.go_back()
    page.wait_for_selector(
        f'[data-testid="row-because"][data-item-id="{clicked["item_id"]}"][data-state="ready"]'
    )
    assert page.text_content('[data-testid="row-because-title"]') == (
        f"Because you viewed {clicked['title']}"
    )
    assert page.input_value('[data-testid="shopper-select"]') == user
    assert not page.is_visible('[data-testid="key-panel"]')


def test_a_read_key_alone_cannot_record_a_view_and_the_page_says_which_scope(
    page: Any, keyed_url: str
) -> None:
    from .conftest import ADMIN_KEY, READ_KEY

    def stored() -> int:
        with httpx.Client(base_url=keyed_url, headers={"X-API-Key": ADMIN_KEY}) as admin:
            answer = admin.get("/v1/users/u00003/events", params={"limit": 1000})
        return len(answer.json()["events"]) if answer.status_code == 200 else 0

    before = stored()
    page.goto(keyed_url + "/?user=u00003")
    page.evaluate(f"localStorage.setItem('shopmind.apiKey', '{READ_KEY}')")
    page.reload()
    page.wait_for_selector('body[data-render="ready"]')
    first = _cards(page, "row-recommended")[0]  # reading is allowed
    page.click(f'[data-testid="row-recommended-items"] [data-item-id="{first["item_id"]}"]')
    page.wait_for_selector('[data-testid="product"][data-state="ready"]')  # browsing goes on
    page.wait_for_selector('[data-testid="notice"]', state="visible")
    assert "ingest scope" in page.text_content('[data-testid="notice"]')
    assert stored() == before


def test_the_product_page_shows_what_goes_with_it_from_other_categories(
    page: Any, base_url: str, api: httpx.Client
) -> None:
    # A planted complement source: buying it makes its partner (another leaf) likely next.
    shop = generate(SHOP)
    source, _ = shop.truth.complementary_pairs[0]
    page.goto(f"{base_url}/product/{source}")
    page.wait_for_selector('[data-testid="row-complementary"][data-state="ready"]')
    title = page.text_content('[data-testid="product-title"]')
    assert page.text_content('[data-testid="row-complementary-anchor"]') == title
    shown = _cards(page, "row-complementary")
    answer = api.get(f"/v1/items/{source}/complementary", params={"k": 12}).json()
    assert shown, "the product page shows what goes with the item"
    assert [c["item_id"] for c in shown] == [i["item_id"] for i in answer["items"]]
    assert all(c["reason"].startswith("goes with") for c in shown)
    leaf = api.get(f"/v1/items/{source}").json()["category"]
    for card in shown:  # complements, not look-alikes: never the item's own leaf
        assert api.get(f"/v1/items/{card['item_id']}").json()["category"] != leaf


def test_the_storefront_row_explore_new_categories_is_the_cross_category_answer(
    page: Any, base_url: str, api: httpx.Client
) -> None:
    users = api.get("/v1/users", params={"limit": 40}).json()["users"]
    user = next(
        u["user_id"]
        for u in users
        if api.get(f"/v1/users/{u['user_id']}/cross-category", params={"k": 12}).json()["items"]
    )
    _open_storefront(page, base_url, user)
    page.wait_for_selector('[data-testid="row-explore"][data-state="ready"]')
    shown = _cards(page, "row-explore")
    answer = api.get(f"/v1/users/{user}/cross-category", params={"k": 12}).json()
    assert [c["item_id"] for c in shown] == [i["item_id"] for i in answer["items"]]
    assert all(c["reason"].startswith("new for you") for c in shown)
    recommended = {c["item_id"] for c in _cards(page, "row-recommended")}
    assert recommended, "the main row is still there"


def test_the_search_box_shows_the_results_how_the_query_was_read_and_why(
    page: Any, base_url: str, api: httpx.Client
) -> None:
    user = _shopper_with_history(api)
    _open_storefront(page, base_url, user)
    leaf = api.get("/v1/items", params={"limit": 1}).json()["items"][0]["category"][-1]
    query = f"{leaf.lower()} under 5000"
    page.fill('[data-testid="search-input"]', query)
    page.click('[data-testid="search-go"]')
    page.wait_for_selector('[data-testid="row-search"][data-state="ready"]')
    answer = api.get("/v1/search", params={"q": query, "user_id": user, "k": 12}).json()
    shown = page.eval_on_selector_all(
        '[data-testid="row-search-items"] [data-testid="search-result"]',
        """cards => cards.map(c => ({
            item_id: c.dataset.itemId,
            reason: (c.querySelector('[data-testid="card-reason"]') || {}).textContent || "",
        }))""",
    )
    assert [c["item_id"] for c in shown] == [i["item_id"] for i in answer["items"]]
    read = page.text_content('[data-testid="search-interpretation"]')
    assert read == f"Read as: {answer['interpretation']['summary']}"
    assert "up to 5000" in read and f"in {leaf}" in read
    # Each result says why, with the shares of words, meaning and the shopper's history.
    assert all(re.search(r"\((words|meaning|you) \d+%", c["reason"]) for c in shown)
    # The search is stored for the shopper (it feeds their profile).
    page.wait_for_function(
        """async ([user, query]) => {
            const r = await fetch(`/v1/users/${encodeURIComponent(user)}/events?limit=5`);
            const events = (await r.json()).events;
            return events.some(e => e.type === "search" && e.query === query);
        }""",
        arg=[user, query],
    )
    # A result clicked is a view that remembers the search it came from.
    first = shown[0]["item_id"]
    page.click(f'[data-testid="row-search-items"] [data-item-id="{first}"]')
    page.wait_for_url(re.compile(r"/product/"))
    newest = api.get(f"/v1/users/{user}/events", params={"limit": 1}).json()["events"][0]
    assert (newest["item_id"], newest["type"]) == (first, "view")
    context = newest["context"]
    assert {k: context[k] for k in ("placement", "query", "position")} == {
        "placement": "search",
        "query": query,
        "position": 1,
    }
    # ... and the answer it came from: the search's impression has its request id.
    shown_lists = api.get(
        f"/v1/users/{user}/events", params={"limit": 50, "impressions": "true"}
    ).json()["events"]
    searched = [e for e in shown_lists if e["type"] == "impression"]
    assert context["request_id"] in {e["context"]["request_id"] for e in searched}


def test_the_storefront_records_what_it_shows_and_clicks_carry_the_list(
    page: Any, base_url: str, api: httpx.Client
) -> None:
    user = _shopper_with_history(api)
    _open_storefront(page, base_url, user)
    shown = _cards(page, "row-recommended")
    request = page.get_attribute('[data-testid="row-recommended-items"]', "data-request-id")
    assert request and len(request) == 32

    def impressions() -> list[dict[str, Any]]:
        events = api.get(
            f"/v1/users/{user}/events", params={"limit": 100, "impressions": "true"}
        ).json()["events"]
        return [e for e in events if e["type"] == "impression"]

    recorded: dict[str, dict[str, Any]] = {}
    for _ in range(50):  # the impression is posted just after the row is drawn
        recorded = {e["context"]["request_id"]: e for e in impressions()}
        if request in recorded:
            break
        page.wait_for_timeout(100)
    mine = recorded[request]
    assert mine["event_id"] == f"impression-{request}"
    assert mine["context"]["placement"] == "for_you"
    assert mine["context"]["items"] == [c["item_id"] for c in shown]
    assert mine["context"]["bundle"] == api.get("/health").json()["bundle"]
    # The "because you viewed" and "explore" rows are recorded too, each with its placement.
    placements = {e["context"]["placement"] for e in impressions()}
    assert {"for_you", "similar"} <= placements
    # Impressions are not behaviour: the default listing leaves them out.
    listed = api.get(f"/v1/users/{user}/events", params={"limit": 100}).json()["events"]
    assert all(e["type"] != "impression" for e in listed)

    # A click on the third card is a view carrying the list's request id and its position.
    third = shown[2]
    page.click(f'[data-testid="row-recommended-items"] [data-item-id="{third["item_id"]}"]')
    page.wait_for_url(re.compile(r"/product/"))
    page.wait_for_selector('[data-testid="product"][data-state="ready"]')
    view = next(e for e in listed_after(api, user) if e["type"] == "view")
    assert view["item_id"] == third["item_id"]
    assert view["context"]["request_id"] == request and view["context"]["position"] == 3
    figures = api.get("/v1/metrics/online", params={"by": "placement"}).json()
    for_you = next(g for g in figures["groups"] if g["key"] == "for_you")
    assert for_you["clicks"] >= 1 and figures["attributed"]["click.request"] >= 1

    # Add to cart and buy on the product page: they carry the request id of the list the
    # page was opened from, and count for it.
    page.click('[data-testid="add-to-cart"]')
    page.wait_for_selector('[data-testid="product-actions"][data-last="add_to_cart"]')
    page.click('[data-testid="buy"]')
    page.wait_for_selector('[data-testid="product-actions"][data-last="purchase"]')
    bought, carted = listed_after(api, user)[:2]
    assert (bought["type"], carted["type"]) == ("purchase", "add_to_cart")
    assert bought["item_id"] == carted["item_id"] == third["item_id"]
    assert bought["context"] == carted["context"] == {"request_id": request}
    after = api.get("/v1/metrics/online", params={"by": "placement"}).json()
    for_you = next(g for g in after["groups"] if g["key"] == "for_you")
    assert for_you["purchases"] >= 1 and for_you["revenue"] > 0
    assert after["attributed"]["purchase.request"] >= 1


def listed_after(api: httpx.Client, user: str) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = api.get(f"/v1/users/{user}/events", params={"limit": 20}).json()[
        "events"
    ]
    return answer
