"""Attribution and the online metrics, on hand-written impressions and outcomes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from shopmind.online.metrics import attribute, estimate, totals

HOUR = 3_600_000
Row = tuple[str, str | None, str, float | None, int, dict[str, Any] | None]


def _shown(user: str, at: int, request: str, items: list[str], **extra: Any) -> Row:
    context = {"request_id": request, "placement": "for_you", "items": items, **extra}
    return (user, None, "impression", None, at, context)


def _did(
    user: str, item: str, kind: str, at: int, request: str | None = None, value: float | None = None
) -> Row:
    return (user, item, kind, value, at, {"request_id": request} if request else None)


def test_clicks_count_for_the_list_they_carry_and_purchases_through_the_window() -> None:
    shown = [
        _shown("u1", 0, "r1", ["a", "b", "c"], bundle="B1"),
        _shown("u1", 2 * HOUR, "r2", ["b", "d"], bundle="B1", placement="similar"),
        _shown("u2", HOUR, "r3", ["a", "b"], bundle="B2"),
    ]
    did = [
        _did("u1", "a", "click", 10, "r1"),
        _did("u1", "a", "click", 11, "r1"),  # twice: the item was clicked, once
        _did("u1", "b", "view", 3 * HOUR, "r2"),  # a view from the list: a click-through
        _did("u1", "d", "view", 3 * HOUR),  # a view from elsewhere: nothing
        _did("u1", "b", "purchase", 4 * HOUR, value=30.0),  # newest showing of b: r2
        _did("u2", "a", "click", HOUR + 5, "r1"),  # someone else's request id: not theirs
        _did("u2", "b", "purchase", 30 * HOUR),  # past the 24 h window
        _did("u2", "c", "add_to_cart", HOUR + 9),  # never shown to u2
    ]
    log = attribute(shown, did, window_ms=24 * HOUR, price=lambda item: 10.0)
    assert log.n_impressions == 7
    assert log.clicked.tolist() == [True, False, False, True, False, False, False]
    assert log.bought.tolist() == [False, False, False, True, False, False, False]
    assert log.revenue.tolist() == [0, 0, 0, 30.0, 0, 0, 0]
    assert dict(log.attributed) == {
        "click.request": 3,
        "click.unattributed": 1,
        "purchase.window": 1,
        "purchase.unattributed": 1,
        "add_to_cart.unattributed": 1,
    }
    by_bundle = {t.key: t for t in totals(log, "bundle")}
    assert by_bundle["B1"].impressions == 5 and by_bundle["B1"].clicks == 2
    assert by_bundle["B1"].ctr == pytest.approx(0.4) and by_bundle["B1"].cvr == pytest.approx(0.2)
    assert by_bundle["B1"].revenue_per_impression == pytest.approx(6.0)
    assert by_bundle["B2"].clicks == 0 and by_bundle["B2"].ctr == 0.0
    placements = {t.key: t.lists for t in totals(log, "placement")}
    assert placements == {"for_you": 2, "similar": 1}
    days = totals(log, "hour")
    assert [t.key for t in days] == ["1970-01-01T00:00Z", "1970-01-01T01:00Z", "1970-01-01T02:00Z"]


def test_a_purchase_without_a_value_earns_the_price_and_counts_for_the_newest_showing() -> None:
    shown = [_shown("u", 0, "r1", ["a"]), _shown("u", HOUR, "r2", ["a"])]
    log = attribute(
        shown, [_did("u", "a", "purchase", 2 * HOUR)], window_ms=HOUR * 24, price=lambda _: 12.5
    )
    assert log.bought.tolist() == [False, True]
    assert log.revenue.tolist() == [0.0, 12.5]


def test_segments_group_by_the_shoppers_segment() -> None:
    shown = [
        _shown("u1", 0, "r1", ["a"]),
        _shown("u2", 0, "r2", ["a"]),
        _shown("u3", 0, "r3", ["a"]),
    ]
    log = attribute(shown, [], window_ms=HOUR)
    groups = {t.key: t.shoppers for t in totals(log, "segment", {"u1": "Bargain", "u2": "Bargain"})}
    assert groups == {"Bargain": 2, "unsegmented": 1}


def test_the_rate_of_a_shopper_heavy_arm_has_a_wider_interval_than_independent_impressions() -> (
    None
):
    # 40 shoppers, 50 impressions each; half click everything, half nothing: per impression
    # the CTR is 0.5, but only 40 independent units stand behind it.
    shown, did = [], []
    for u in range(40):
        items = [f"i{j}" for j in range(50)]
        shown.append(_shown(f"u{u}", u, f"r{u}", items))
        if u % 2:
            did += [_did(f"u{u}", i, "click", u + 1, f"r{u}") for i in items]
    log = attribute(shown, did, window_ms=HOUR)
    est = estimate(log, "ctr", np.ones(log.n_impressions, bool))
    assert est.value == pytest.approx(0.5) and est.shoppers == 40
    naive = (0.5 * 0.5 / 2000) ** 0.5
    clustered = (0.25 / 40) ** 0.5 * (40 / 39) ** 0.5
    assert est.se == pytest.approx(clustered, rel=1e-6) and est.se > 5 * naive
