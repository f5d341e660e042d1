"""Attribution and the online metrics: what the shoppers did with what they were shown.

An impression event is one served list as the shopper saw it (its request id, placement,
bundle, experiment arm and items in order). Each item of it is one *impression* here: CTR,
add-to-cart rate, conversion rate and revenue are per item shown.

Attribution, last touch:

- a **click** counts for the impression whose ``request_id`` it carries (a click is on a list);
  so does a **view** that carries one (the product page opened from the list: what the
  storefront sends);
- an **add to cart** or a **purchase** counts for the impression whose ``request_id`` it
  carries, else for the newest impression of the same shopper that showed that item within
  the attribution window before it (the shopper came back later to buy it).

Each shown item counts once per outcome (clicked or not, carted or not, bought or not);
revenue is the purchases' ``value`` (the amount paid) or, without one, the item's price.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from shopmind.catalog.schema import IMPRESSION
from shopmind.online.stats import RatioEstimate, ratio

if TYPE_CHECKING:
    from shopmind.catalog.store import Store

#: The outcomes attributed to impressions, and the rate each gives.
OUTCOMES = ("click", "add_to_cart", "purchase")
#: The events read for them: a view carrying a request id is a click-through too.
READ = (*OUTCOMES, "view")
RATES = {"ctr": "click", "atc_rate": "add_to_cart", "cvr": "purchase"}
Metric = Literal["ctr", "atc_rate", "cvr", "revenue_per_impression"]
METRICS: tuple[Metric, ...] = ("ctr", "atc_rate", "cvr", "revenue_per_impression")
#: How impressions are grouped.
GroupBy = Literal["placement", "bundle", "arm", "segment", "hour", "day", "none"]
#: The default attribution window: a purchase up to a day after the impression counts.
WINDOW_HOURS = 24.0


@dataclass
class Attribution:
    """Every item shown in a time range and what came of it (one row per item shown)."""

    #: Per impression event: shopper, time, placement, bundle, experiment, arm, items.
    user: list[str] = field(default_factory=list)
    time_ms: list[int] = field(default_factory=list)
    placement: list[str] = field(default_factory=list)
    bundle: list[str | None] = field(default_factory=list)
    experiment: list[str | None] = field(default_factory=list)
    arm: list[str | None] = field(default_factory=list)
    #: Per item shown: its impression event (index above), item id, position (1 first).
    slot_of: list[int] = field(default_factory=list)
    item: list[str] = field(default_factory=list)
    position: list[int] = field(default_factory=list)
    #: Per item shown: whether it was clicked, carted, bought, and the revenue.
    clicked: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    carted: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    bought: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    revenue: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: Outcomes by how they were attributed ("request" or "window"), and not at all.
    attributed: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def n_impressions(self) -> int:
        return len(self.item)

    def outcome(self, kind: str) -> np.ndarray:
        return {"click": self.clicked, "add_to_cart": self.carted, "purchase": self.bought}[kind]


class OnlineLog:
    """Reads impressions and outcomes from the Store and attributes them."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def attribute(
        self,
        since_ms: int,
        until_ms: int,
        *,
        window_hours: float = WINDOW_HOURS,
        price: Callable[[str], float | None] = lambda _: None,
    ) -> Attribution:
        """The impressions shown from ``since_ms`` to ``until_ms`` and what came of each:
        outcomes up to the window after ``until_ms`` are read, so a late purchase counts."""
        window_ms = int(window_hours * 3_600_000)
        shown = self.store.online_events([IMPRESSION], since_ms, until_ms)
        after = self.store.online_events(READ, since_ms, until_ms + window_ms)
        return attribute(shown, after, window_ms=window_ms, price=price)


def attribute(
    impressions: Iterable[tuple[str, str | None, str, float | None, int, dict[str, Any] | None]],
    outcomes: Iterable[tuple[str, str | None, str, float | None, int, dict[str, Any] | None]],
    *,
    window_ms: int,
    price: Callable[[str], float | None] = lambda _: None,
) -> Attribution:
    """Attribute outcome events to impression events (rows as :meth:`Store.online_events`)."""
    out = Attribution()
    by_request: dict[tuple[str, str, str], int] = {}  # (shopper, request, item) -> slot
    by_item: dict[tuple[str, str], tuple[list[int], list[int]]] = {}  # -> (times, slots)
    for user, _, _, _, ts, context in impressions:
        ctx = context or {}
        items = ctx.get("items")
        request = ctx.get("request_id")
        if not isinstance(items, list) or not isinstance(request, str):
            continue  # written before impressions were checked: nothing to attribute to
        row = len(out.user)
        out.user.append(user)
        out.time_ms.append(ts)
        out.placement.append(str(ctx.get("placement") or "unknown"))
        out.bundle.append(_text(ctx.get("bundle")))
        out.experiment.append(_text(ctx.get("experiment")))
        out.arm.append(_text(ctx.get("arm")))
        for position, item in enumerate(items, start=1):
            if not isinstance(item, str) or (user, request, item) in by_request:
                continue  # an item listed twice is one impression, at its first place
            shown = len(out.item)
            out.slot_of.append(row)
            out.item.append(item)
            out.position.append(position)
            by_request[(user, request, item)] = shown
            times, slots = by_item.setdefault((user, item), ([], []))
            times.append(ts)  # impressions arrive by time: the lists stay sorted
            slots.append(shown)
    n = len(out.item)
    flags = {kind: np.zeros(n, bool) for kind in OUTCOMES}
    revenue = np.zeros(n)
    for user, item, kind, value, ts, context in outcomes:
        if item is None:
            continue
        request = (context or {}).get("request_id")
        slot: int | None = None
        if isinstance(request, str):
            slot = by_request.get((user, request, item))
        if kind == "view":
            if slot is None:
                continue  # a view not from a list is no outcome of one
            kind = "click"
        how = "request"
        if slot is None and kind != "click":
            times, slots = by_item.get((user, item), ([], []))
            at = bisect.bisect_right(times, ts) - 1  # the newest impression not after it
            if at >= 0 and ts - times[at] <= window_ms:
                slot, how = slots[at], "window"
        if slot is None:
            out.attributed[f"{kind}.unattributed"] += 1
            continue
        out.attributed[f"{kind}.{how}"] += 1
        if kind == "purchase":
            paid = value if value is not None and np.isfinite(value) and value > 0 else price(item)
            revenue[slot] += float(paid or 0.0)
        flags[kind][slot] = True
    out.clicked, out.carted, out.bought = flags["click"], flags["add_to_cart"], flags["purchase"]
    out.revenue = revenue
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Totals:
    """One group's counts and rates (rates per item shown)."""

    key: str
    lists: int
    impressions: int
    shoppers: int
    clicks: int
    carts: int
    purchases: int
    revenue: float
    ctr: float | None
    atc_rate: float | None
    cvr: float | None
    revenue_per_impression: float | None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def group_keys(
    log: Attribution, by: GroupBy, segment_of: Mapping[str, str] | None = None
) -> list[str]:
    """Each impression event's group under ``by``."""
    if by == "none":
        return ["all"] * len(log.user)
    if by == "placement":
        return list(log.placement)
    if by == "bundle":
        return [b or "unknown" for b in log.bundle]
    if by == "arm":
        return [
            f"{e}/{a}" if e and a else "not in an experiment"
            for e, a in zip(log.experiment, log.arm, strict=True)
        ]
    if by == "segment":
        segments = segment_of or {}
        return [segments.get(u, "unsegmented") for u in log.user]
    fmt = "%Y-%m-%dT%H:00Z" if by == "hour" else "%Y-%m-%d"
    return [datetime.fromtimestamp(t / 1000, tz=UTC).strftime(fmt) for t in log.time_ms]


def totals(
    log: Attribution, by: GroupBy = "none", segment_of: Mapping[str, str] | None = None
) -> list[Totals]:
    """The counts and rates of each group, in key order (time groups: oldest first)."""
    keys = group_keys(log, by, segment_of)
    slot_rows = np.asarray(log.slot_of, dtype=np.int64)
    per_list = np.asarray(keys, dtype=object)
    slot_keys = per_list[slot_rows] if len(slot_rows) else np.zeros(0, object)
    users = np.asarray(log.user, dtype=object)
    out = []
    for key in sorted(set(keys)):
        rows = per_list == key
        mask = slot_keys == key
        shown = int(mask.sum())
        clicks, carts, bought = (int(f[mask].sum()) for f in (log.clicked, log.carted, log.bought))
        revenue = float(log.revenue[mask].sum())
        out.append(
            Totals(
                key=str(key),
                lists=int(rows.sum()),
                impressions=shown,
                shoppers=len(set(users[rows].tolist())),
                clicks=clicks,
                carts=carts,
                purchases=bought,
                revenue=round(revenue, 2),
                ctr=_rate(clicks, shown),
                atc_rate=_rate(carts, shown),
                cvr=_rate(bought, shown),
                revenue_per_impression=_rate(revenue, shown),
            )
        )
    return out


def _rate(count: float, of: int) -> float | None:
    return round(count / of, 6) if of else None


def per_shopper(
    log: Attribution, metric: Metric, mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For the items shown under ``mask``: each shopper's numerator (clicks, carts,
    purchases or revenue) and denominator (impressions), one entry per shopper."""
    slot_users = np.asarray(log.user, dtype=object)[np.asarray(log.slot_of, dtype=np.int64)]
    chosen = slot_users[mask]
    if not len(chosen):
        return np.zeros(0), np.zeros(0)
    names, inverse = np.unique(chosen.astype(str), return_inverse=True)
    if metric == "revenue_per_impression":
        values = log.revenue[mask]
    else:
        values = log.outcome(RATES[metric])[mask].astype(np.float64)
    numerator = np.bincount(inverse, weights=values, minlength=len(names))
    denominator = np.bincount(inverse, minlength=len(names)).astype(np.float64)
    return numerator, denominator


def estimate(log: Attribution, metric: Metric, mask: np.ndarray) -> RatioEstimate:
    """The metric over the items shown under ``mask``, with its delta-method error."""
    numerator, denominator = per_shopper(log, metric, mask)
    return ratio(numerator, denominator)
