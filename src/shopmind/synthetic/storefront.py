"""A simulated storefront: the synthetic shop's shoppers browse a live shopmind API.

Each visit asks the API for a list (recommendations, by default), records the impression
the way the web storefront does, and lets the shopper act on it by a position-based click
model: the item at position p is examined with probability 1 / log2(p + 1), and an examined
item is clicked with a probability that grows with how well it fits the shopper's planted
preferences (their own department, their segment's departments, their price band) and the
item's planted quality. A click may lead to a cart, a cart to a purchase; a purchase comes
back later without the request id (the attribution window links it).

It is a test instrument: the relevance it clicks by is the planted truth the recommenders
never see. Nothing at serving time uses it.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from shopmind.synthetic.shop import SyntheticShop
from shopmind.synthetic.vocabulary import PRICE_BANDS


class Client(Protocol):
    """What the simulator calls: an httpx.Client or FastAPI's TestClient."""

    def get(self, url: str, **kwargs: Any) -> Any: ...

    def post(self, url: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class ClickModel:
    """How a simulated shopper acts on a list."""

    #: P(click | examined) = scale × fit, fit in (0, 1].
    click_scale: float = 0.5
    cart_given_click: float = 0.3
    purchase_given_cart: float = 0.5
    #: How much a department outside the shopper's own and their segment's appeals.
    off_department: float = 0.05
    segment_department: float = 0.35
    #: The appeal of an item outside the shopper's price band.
    off_band: float = 0.5


@dataclass
class Tally:
    """What the simulated shoppers were shown and did, by the arm the answers named."""

    visits: Counter[str] = field(default_factory=Counter)
    impressions: Counter[str] = field(default_factory=Counter)
    clicks: Counter[str] = field(default_factory=Counter)
    carts: Counter[str] = field(default_factory=Counter)
    purchases: Counter[str] = field(default_factory=Counter)
    #: Sums over the items shown: their planted fit, and whether in the shopper's own
    #: department (what the arms' lists offered, whatever was clicked).
    fit: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    own_department: Counter[str] = field(default_factory=Counter)
    #: Seconds each API call took, by kind ("read": a list, "write": an events batch).
    latency: dict[str, list[float]] = field(default_factory=lambda: {"read": [], "write": []})

    def ctr(self, arm: str) -> float:
        return self.clicks[arm] / self.impressions[arm] if self.impressions[arm] else math.nan

    def mean_fit(self, arm: str) -> float:
        return self.fit[arm] / self.impressions[arm] if self.impressions[arm] else math.nan

    def own_share(self, arm: str) -> float:
        shown = self.impressions[arm]
        return self.own_department[arm] / shown if shown else math.nan


class StorefrontSimulator:
    """Simulated shoppers of a synthetic shop, browsing a live API."""

    def __init__(
        self,
        shop: SyntheticShop,
        client: Client,
        *,
        seed: int = 0,
        k: int = 10,
        model: ClickModel | None = None,
        headers: dict[str, str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        prefix: str = "",
    ) -> None:
        self.shop = shop
        self.client = client
        self.k = k
        self.model = model or ClickModel()
        self.headers = headers or {}
        self.rng = np.random.default_rng(seed)
        self.clock = clock
        #: Put before every event id it writes (a benchmark deletes its events by it).
        self.prefix = prefix
        truth = shop.truth
        self._department = {
            i.id: (i.category_path[0] if i.category_path else "") for i in shop.items
        }
        self._band = _price_bands(shop)
        self._quality = truth.item_quality
        self._price = {i.id: i.price for i in shop.items}
        self.tally = Tally()

    # --- the planted truth the shoppers act by --------------------------------------------

    def fit(self, user: str, item: str) -> float:
        """How much the item appeals to the shopper, in (0, 1]: the planted department and
        price-band preferences and the item's planted quality."""
        truth, m = self.shop.truth, self.model
        department = self._department.get(item, "")
        if department == truth.user_department.get(user):
            appeal = 1.0
        elif department in truth.segment_departments[truth.user_segment.get(user, 0)]:
            appeal = m.segment_department
        else:
            appeal = m.off_department
        if self._band.get(item) != truth.user_price_band.get(user):
            appeal *= m.off_band
        quality = float(self._quality.get(item, 0.5))
        return appeal * (0.5 + 0.5 * min(max(quality, 0.0), 1.0))

    # --- one visit ---------------------------------------------------------------------------

    def visit(self, user: str, placement: str = "for_you") -> dict[str, Any]:
        """One list shown to ``user`` and what they did with it; returns the answer."""
        answer = self._read(user, placement)
        items = [i["item_id"] for i in answer.get("items", [])]
        arm = answer.get("arm") or "none"
        self.tally.visits[arm] += 1
        if not items:
            return answer
        request = answer["request_id"]
        context = {
            "request_id": request,
            "placement": answer["placement"],
            "items": items,
            "bundle": answer["bundle"],
        }
        if answer.get("experiment"):
            context |= {"experiment": answer["experiment"], "arm": answer["arm"]}
        shown = {
            "event_id": f"{self.prefix}impression-{request}",
            "user_id": user,
            "type": "impression",
            "context": context,
        }
        events: list[dict[str, Any]] = [shown]
        later: list[dict[str, Any]] = []
        m = self.model
        mine = self.shop.truth.user_department.get(user)
        for item in items:
            self.tally.fit[arm] += self.fit(user, item)
            self.tally.own_department[arm] += self._department.get(item) == mine
        for position, item in enumerate(items, start=1):
            examined = self.rng.random() < 1.0 / math.log2(position + 1)
            if not (examined and self.rng.random() < m.click_scale * self.fit(user, item)):
                continue
            clicked = {
                "request_id": request,
                "placement": answer["placement"],
                "position": position,
            }
            events.append(self._event(user, item, "click", context=clicked))
            self.tally.clicks[arm] += 1
            if self.rng.random() < m.cart_given_click:
                events.append(self._event(user, item, "add_to_cart", context=clicked))
                self.tally.carts[arm] += 1
                if self.rng.random() < m.purchase_given_cart:
                    # Bought later, from the cart: no request id (the window attributes it).
                    price = self._price.get(item)
                    later.append(self._event(user, item, "purchase", value=price))
                    self.tally.purchases[arm] += 1
        self.tally.impressions[arm] += len(items)
        self._write(events)
        if later:
            self._write(later)
        return answer

    def run(self, visits: int, users: Sequence[str] | None = None) -> Tally:
        """``visits`` visits by shoppers drawn at random (from ``users``, else everyone)."""
        pool = list(users) if users is not None else [u.id for u in self.shop.users]
        for user in self.rng.choice(pool, size=visits).tolist():
            self.visit(str(user))
        return self.tally

    # --- the API ------------------------------------------------------------------------------

    def _read(self, user: str, placement: str) -> dict[str, Any]:
        path = {
            "for_you": f"/v1/users/{user}/recommendations",
            "cross_category": f"/v1/users/{user}/cross-category",
        }[placement]
        started = self.clock()
        response = self.client.get(path, params={"k": self.k}, headers=self.headers)
        self.tally.latency["read"].append(self.clock() - started)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
        answer: dict[str, Any] = response.json()
        return answer

    def _write(self, events: list[dict[str, Any]]) -> None:
        started = self.clock()
        response = self.client.post("/v1/events", json={"events": events}, headers=self.headers)
        self.tally.latency["write"].append(self.clock() - started)
        if response.status_code != 200:
            raise RuntimeError(f"POST /v1/events: {response.status_code} {response.text[:300]}")

    def _event(
        self,
        user: str,
        item: str,
        kind: str,
        *,
        value: float | None = None,
        context: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return _event(f"{self.prefix}{uuid.uuid4().hex}", user, item, kind, value, context)


def _event(
    event_id: str,
    user: str,
    item: str,
    kind: str,
    value: float | None,
    context: dict[str, Any] | None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id,
        "user_id": user,
        "item_id": item,
        "type": kind,
    }
    if value is not None:
        event["value"] = value
    if context:
        event["context"] = context
    return event


def _price_bands(shop: SyntheticShop) -> dict[str, str]:
    """Each item's price band within its leaf: the cheapest third budget, the dearest premium."""
    by_leaf: dict[tuple[str, ...], list[tuple[float, str]]] = {}
    for item in shop.items:
        if item.price is not None:
            by_leaf.setdefault(item.category_path, []).append((item.price, item.id))
    bands: dict[str, str] = {}
    for priced in by_leaf.values():
        priced.sort()
        for rank, (_, item_id) in enumerate(priced):
            bands[item_id] = PRICE_BANDS[min(len(PRICE_BANDS) - 1, 3 * rank // len(priced))]
    return bands
