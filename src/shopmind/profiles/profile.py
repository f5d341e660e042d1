"""A shopper's portrait (用户画像), read off their events and the catalogue.

Every number in a profile is explainable from the events behind it:

- **affinities** to each category (at every level of the path) and brand: the sum over the
  shopper's events with items there of the event type's weight (a purchase says more than a
  view) times a time decay (half the weight every ``half_life_days``), as a share of the
  level's total, with the evidence (events by type, the last one's time);
- **price**: where the shopper's items sit among their leaf's prices (percentile 0-100),
  overall and per category, the band that makes (budget / mid / premium), and a sensitivity
  (how far below what they browse they buy);
- **activity**: recency, frequency and monetary value (RFM), sessions, the view → cart →
  purchase funnel, and a lifecycle stage by rules a shop configures;
- **interests**: one or several unit vectors in the language model's space (a shopper with
  several distinct interests gets several, by spherical k-means over the texts of what they
  engaged with), each with readable tags (its distinctive title words, its leading category).

A profile is computed from the Store's events when asked, so it is current after every event
without a retrain (``profiles.md`` measures the cost).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shopmind.catalog.schema import DAY_MS
from shopmind.data.histories import DEFAULT_EVENT_WEIGHTS, event_weight
from shopmind.models.content import spherical_kmeans
from shopmind.profiles.items import ProfileItems

#: The profile's schema version (a field renamed or its meaning changed: a new version).
PROFILE_VERSION = 1
Lifecycle = Literal["new", "active", "at_risk", "lapsed", "none"]
PriceBandName = Literal["budget", "mid", "premium"]


class LifecycleRules(BaseModel):
    """When a shopper is new, active, at risk or lapsed (days since their events)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: New: the first event is at most this many days old.
    new_days: float = Field(14.0, ge=0)
    #: Active: the last event is at most this many days old.
    active_days: float = Field(30.0, gt=0)
    #: Lapsed: the last event is more than this many days old (between the two: at risk).
    lapsed_days: float = Field(90.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleRules:
        if self.lapsed_days < self.active_days:
            raise ValueError(
                f"lapsed_days ({self.lapsed_days}) must be at least active_days "
                f"({self.active_days}): a shopper cannot lapse before they stop being active"
            )
        return self

    def stage(self, first_days: float, last_days: float) -> Lifecycle:
        if first_days <= self.new_days:
            return "new"
        if last_days <= self.active_days:
            return "active"
        if last_days <= self.lapsed_days:
            return "at_risk"
        return "lapsed"


class ProfileConfig(BaseModel):
    """How profiles are computed (a shop may change any of it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Weight of each event type (a rating weighs its value); types not named weigh 1.
    event_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    #: An event's weight halves every this many days before the profile's time (0: no decay).
    half_life_days: float = Field(90.0, ge=0)
    #: Entries listed per affinity level and per price list.
    top: int = Field(10, ge=1, le=1000)
    #: Events read per shopper, newest first (older ones have decayed anyway).
    max_events: int = Field(2000, ge=1)
    #: Events more than this many minutes apart start a new session.
    session_gap_minutes: float = Field(30.0, gt=0)
    lifecycle: LifecycleRules = LifecycleRules()
    #: At most this many interest vectors, and at least this many items behind each.
    interests: int = Field(3, ge=1, le=10)
    items_per_interest: int = Field(4, ge=1)
    #: Interests whose vectors are at least this close (cosine) are one interest.
    merge_cosine: float = Field(0.75, ge=-1.0, le=1.0)
    #: Tags (title words) named per interest.
    tags: int = Field(4, ge=1, le=20)
    #: Price percentiles below the first bound are "budget", above the second "premium".
    band_bounds: tuple[float, float] = (100 / 3, 200 / 3)


# --- what a profile holds ---------------------------------------------------------------------


class Evidence(BaseModel):
    """The events behind an affinity: how many of each type, and when the last one was."""

    counts: dict[str, int]
    last_at: datetime


class Affinity(BaseModel):
    """How much the shopper leans to one category (or brand)."""

    #: The category's path from the root ("Office > Tapes & Adhesives"), or the brand.
    key: str
    #: Its own name (the path's last level).
    name: str
    #: 1 is the top of the path.
    level: int
    #: Decayed, weighted events (the sum the shares are made of).
    score: float
    #: The score's share of its level's total (0-1).
    share: float
    evidence: Evidence
    #: A sentence that is true of it: "Tapes & Adhesives: 5 purchases, 2 views, last on 3 May".
    because: str


class Level(BaseModel):
    """The shopper's strongest categories at one level of the path, best first."""

    #: 1 is the top of the path.
    level: int
    affinities: list[Affinity]


class CategoryPrice(BaseModel):
    category: str
    #: The shopper's items' mean price percentile in this category (0-100).
    percentile: float
    events: int


class PriceBand(BaseModel):
    """Where the shopper's items sit among their categories' prices."""

    #: Weighted mean price percentile (0-100) over the items they engaged with; None: none priced.
    percentile: float | None
    band: PriceBandName | None
    #: Mean percentile of what they viewed minus what they bought, /100 (-1..1): above 0
    #: they buy cheaper than they browse; None without both.
    sensitivity: float | None
    by_category: list[CategoryPrice]


class Funnel(BaseModel):
    """Distinct items at each step, and the rates between them (None: no items before)."""

    viewed: int
    carted: int
    purchased: int
    view_to_cart: float | None
    cart_to_purchase: float | None
    view_to_purchase: float | None


class Activity(BaseModel):
    first_at: datetime | None
    last_at: datetime | None
    #: Days from the last event to the profile's time (the R of RFM).
    recency_days: float | None
    #: Events by type (F), and purchases among them.
    events: dict[str, int]
    purchases: int
    #: The summed prices of the purchased items (M); None when none had a price.
    monetary: float | None
    sessions: int
    funnel: Funnel
    lifecycle: Lifecycle


class Interest(BaseModel):
    """One interest: a unit vector in the language model's space and what it is about."""

    #: Its share of the weight of the items with text.
    share: float
    tags: list[str]
    #: The category most of its weight is in.
    category: str | None
    #: Its heaviest items (ids).
    items: list[str]
    #: The unit vector (left out of JSON answers: 384 numbers say little to a reader).
    vector: list[float] = Field(default_factory=list, exclude=True, repr=False)


class SegmentOf(BaseModel):
    """The segment a profile falls in."""

    id: str
    name: str


class Profile(BaseModel):
    """One shopper's portrait at ``as_of``."""

    version: int = PROFILE_VERSION
    user_id: str
    #: The time the profile describes (decay and recency are measured to it).
    as_of: datetime
    #: The bundle whose catalogue it was read against.
    bundle: str | None = None
    #: Per level of the category path (the top first), the strongest categories there.
    categories: list[Level]
    brands: list[Affinity]
    price: PriceBand
    activity: Activity
    interests: list[Interest]
    #: The shopper's recent searches, newest first, each once (what they typed).
    searches: list[str] = Field(default_factory=list)
    #: The segment whose centroid the profile is nearest now (None: the bundle has none, or
    #: the shopper no events).
    segment: SegmentOf | None = None

    def top_category(self, level: int = 1) -> str | None:
        """The name of the strongest category at ``level`` (None without one)."""
        found = [lv.affinities for lv in self.categories if lv.level == level]
        return found[0][0].name if found and found[0] else None


# --- the events it is read from -------------------------------------------------------------


@dataclass(frozen=True)
class ShopperEvents:
    """A shopper's events, oldest first: item index (-1: none or unknown), type, value
    (NaN: none), epoch ms."""

    item: np.ndarray
    kind: tuple[str, ...]
    value: np.ndarray
    timestamp: np.ndarray
    #: What each search event's shopper typed ("" for other events; empty: not read).
    query: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.kind)

    @classmethod
    def of(
        cls,
        rows: Sequence[
            tuple[int, str, float | None, int] | tuple[int, str, float | None, int, str]
        ],
    ) -> ShopperEvents:
        """From (item index, type, value, epoch ms[, query]) rows."""
        return cls(
            item=np.array([r[0] for r in rows], np.int64),
            kind=tuple(r[1] for r in rows),
            value=np.array([np.nan if r[2] is None else r[2] for r in rows], np.float64),
            timestamp=np.array([r[3] for r in rows], np.int64),
            query=tuple(str(r[4]) if len(r) > 4 else "" for r in rows),  # type: ignore[misc]
        )

    def searches(self, limit: int = 10) -> list[str]:
        """The recent distinct queries, newest first."""
        seen = dict.fromkeys(q.strip() for q in reversed(self.query) if q and q.strip())
        return list(seen)[:limit]


# --- building one ---------------------------------------------------------------------------


def build_profile(
    user_id: str,
    events: ShopperEvents,
    items: ProfileItems,
    *,
    as_of_ms: float,
    item_id: Callable[[int], str] | None = None,
    text: np.ndarray | None = None,
    has_text: np.ndarray | None = None,
    config: ProfileConfig | None = None,
    bundle: str | None = None,
) -> Profile:
    """The profile of a shopper with these events (oldest first) at ``as_of_ms``.

    ``text`` holds a unit text vector per item, for interests (``has_text`` says which rows
    are real; None: those that are not zero); ``item_id`` names items in the interests.
    """
    cfg = config or ProfileConfig()
    known = (events.item >= 0) & (events.item < items.n)
    weight = np.array(
        [event_weight(k, None if np.isnan(v) else v, cfg.event_weights)
         for k, v in zip(events.kind, events.value, strict=True)],
        np.float64,
    )  # fmt: skip
    age_days = np.maximum(as_of_ms - events.timestamp, 0) / DAY_MS
    decay = 0.5 ** (age_days / cfg.half_life_days) if cfg.half_life_days > 0 else 1.0
    strength = np.where(known, np.maximum(weight, 0.0) * decay, 0.0)
    at = np.flatnonzero(known)
    paths = [items.category[i] for i in events.item[at]]
    categories = []
    depth = max((len(p) for p in paths), default=0)
    for level in range(1, depth + 1):
        keys = [" > ".join(p[:level]) if len(p) >= level else None for p in paths]
        categories.append(
            Level(level=level, affinities=_affinities(keys, level, at, events, strength, cfg.top))
        )
    brands = [items.brand[i] or None for i in events.item[at]]
    return Profile(
        user_id=user_id,
        as_of=_when(as_of_ms),
        bundle=bundle,
        categories=categories,
        brands=_affinities(brands, 0, at, events, strength, cfg.top),
        price=_price(events, items, strength, known, cfg),
        activity=_activity(events, items, known, as_of_ms, cfg),
        interests=_interests(events, strength, known, items, text, has_text, item_id, cfg),
        searches=events.searches(),
    )


def _affinities(
    keys: Sequence[str | None],
    level: int,
    at: np.ndarray,
    events: ShopperEvents,
    strength: np.ndarray,
    top: int,
) -> list[Affinity]:
    score: dict[str, float] = defaultdict(float)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    last: dict[str, int] = {}
    for key, e in zip(keys, at.tolist(), strict=True):
        if key is None:
            continue
        score[key] += float(strength[e])
        counts[key][events.kind[e]] += 1
        last[key] = max(last.get(key, 0), int(events.timestamp[e]))
    total = sum(score.values())
    ranked = sorted(score, key=lambda k: (-score[k], -last[k], k))[:top]
    out = []
    for key in ranked:
        name = key.rsplit(" > ", 1)[-1]
        evidence = Evidence(counts=dict(counts[key]), last_at=_when(last[key]))
        out.append(
            Affinity(
                key=key,
                name=name,
                level=level,
                score=round(score[key], 6),
                share=round(score[key] / total, 6) if total > 0 else 0.0,
                evidence=evidence,
                because=_because(name, evidence),
            )
        )
    return out


def _because(name: str, evidence: Evidence) -> str:
    parts = [
        f"{n} {_plural(kind, n)}"
        for kind, n in sorted(evidence.counts.items(), key=lambda kv: (-_RANK.get(kv[0], 0), kv[0]))
    ]
    day = f"{evidence.last_at.day} {evidence.last_at.strftime('%b %Y')}"
    return f"{name}: {', '.join(parts)}, last on {day}"


#: Event types in the order a reason names them (the strongest evidence first).
_RANK = {"purchase": 5, "add_to_cart": 4, "wishlist": 3, "rating": 2, "click": 1, "view": 0}
_NOUN = {"add_to_cart": ("cart add", "cart adds"), "wishlist": ("wish", "wishes")}


def _plural(kind: str, n: int) -> str:
    one, many = _NOUN.get(kind, (kind.replace("_", " "), kind.replace("_", " ") + "s"))
    return one if n == 1 else many


def _price(
    events: ShopperEvents,
    items: ProfileItems,
    strength: np.ndarray,
    known: np.ndarray,
    cfg: ProfileConfig,
) -> PriceBand:
    idx = np.where(known, events.item, 0)
    pct = np.where(known, items.price_percentile[idx], np.nan)
    priced = ~np.isnan(pct) & (strength > 0)
    if not priced.any():
        return PriceBand(percentile=None, band=None, sensitivity=None, by_category=[])
    overall = float(np.average(pct[priced], weights=strength[priced]))
    low, high = cfg.band_bounds
    band: PriceBandName = "budget" if overall < low else "premium" if overall > high else "mid"
    kinds = np.array(events.kind, dtype=object)
    viewed = priced & np.isin(kinds, ["view", "click"])
    bought = priced & (kinds == "purchase")
    sensitivity = None
    if viewed.any() and bought.any():
        sensitivity = round((float(pct[viewed].mean()) - float(pct[bought].mean())) / 100.0, 4)
    per: dict[str, list[int]] = defaultdict(list)
    for e in np.flatnonzero(priced).tolist():
        path = items.category[int(events.item[e])]
        if path:
            per[" > ".join(path)].append(e)
    by_category = [
        CategoryPrice(
            category=key,
            percentile=round(float(np.average(pct[rows], weights=strength[rows])), 2),
            events=len(rows),
        )
        for key, rows in sorted(per.items(), key=lambda kv: (-float(strength[kv[1]].sum()), kv[0]))[
            : cfg.top
        ]
    ]
    return PriceBand(
        percentile=round(overall, 2), band=band, sensitivity=sensitivity, by_category=by_category
    )


def _activity(
    events: ShopperEvents,
    items: ProfileItems,
    known: np.ndarray,
    as_of_ms: float,
    cfg: ProfileConfig,
) -> Activity:
    counts: dict[str, int] = defaultdict(int)
    for kind in events.kind:
        counts[kind] += 1
    distinct: dict[str, set[int]] = defaultdict(set)
    for e in np.flatnonzero(known).tolist():
        distinct[events.kind[e]].add(int(events.item[e]))
    viewed = distinct["view"] | distinct["click"]
    carted = distinct["add_to_cart"]
    purchased = distinct["purchase"]
    funnel = Funnel(
        viewed=len(viewed),
        carted=len(carted),
        purchased=len(purchased),
        view_to_cart=_rate(len(carted & viewed), len(viewed)),
        cart_to_purchase=_rate(len(purchased & carted), len(carted)),
        view_to_purchase=_rate(len(purchased & viewed), len(viewed)),
    )
    bought = [
        int(i)
        for i, k, ok in zip(events.item.tolist(), events.kind, known.tolist(), strict=True)
        if ok and k == "purchase"
    ]
    prices = items.price[bought] if bought else np.zeros(0)
    prices = prices[~np.isnan(prices)]
    if not len(events):
        return Activity(
            first_at=None, last_at=None, recency_days=None, events={}, purchases=0,
            monetary=None, sessions=0, funnel=funnel, lifecycle="none",
        )  # fmt: skip
    ts = np.sort(events.timestamp)
    gap_ms = cfg.session_gap_minutes * 60_000
    first_days = max(as_of_ms - float(ts[0]), 0.0) / DAY_MS
    last_days = max(as_of_ms - float(ts[-1]), 0.0) / DAY_MS
    return Activity(
        first_at=_when(float(ts[0])),
        last_at=_when(float(ts[-1])),
        recency_days=round(last_days, 3),
        events=dict(counts),
        purchases=counts.get("purchase", 0),
        monetary=round(float(prices.sum()), 2) if len(prices) else None,
        sessions=1 + int((np.diff(ts) > gap_ms).sum()),
        funnel=funnel,
        lifecycle=cfg.lifecycle.stage(first_days, last_days),
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _interests(
    events: ShopperEvents,
    strength: np.ndarray,
    known: np.ndarray,
    items: ProfileItems,
    text: np.ndarray | None,
    has_text: np.ndarray | None,
    item_id: Callable[[int], str] | None,
    cfg: ProfileConfig,
) -> list[Interest]:
    if text is None:
        return []
    per_item: dict[int, float] = defaultdict(float)
    for e in np.flatnonzero(known & (strength > 0)).tolist():
        per_item[int(events.item[e])] += float(strength[e])
    chosen = np.array(sorted(per_item), np.int64)
    chosen = chosen[(chosen < len(text))]
    if has_text is not None:
        chosen = chosen[has_text[chosen]]
    elif len(chosen):
        chosen = chosen[np.abs(text[chosen]).sum(axis=1) > 0]
    if not len(chosen):
        return []
    vectors = np.asarray(text[chosen], np.float32)
    weights = np.array([per_item[int(i)] for i in chosen], np.float32)
    k = max(1, min(cfg.interests, len(chosen) // cfg.items_per_interest))
    centroids = _mean_direction(vectors, weights)
    if k > 1:
        found = spherical_kmeans(vectors, weights, k)
        centroids = _merged(vectors, weights, found, cfg.merge_cosine)
    assign = np.argmax(vectors @ centroids.T, axis=1)
    total = float(weights.sum())
    out = []
    for c in range(len(centroids)):
        members = np.flatnonzero(assign == c)
        if not len(members):
            continue
        share = float(weights[members].sum()) / total
        order = members[np.lexsort((chosen[members], -weights[members]))]
        out.append(
            Interest(
                share=round(share, 4),
                tags=_tags(chosen[order], weights[order], items, cfg.tags),
                category=_leading_category(chosen[order], weights[order], items),
                items=[item_id(int(i)) for i in chosen[order[:3]]] if item_id else [],
                vector=[round(float(x), 6) for x in centroids[c]],
            )
        )
    out.sort(key=lambda i: -i.share)
    return out


def _merged(
    vectors: np.ndarray, weights: np.ndarray, centroids: np.ndarray, cosine: float
) -> np.ndarray:
    """k-means always finds k clusters: join the two closest while they are at least
    ``cosine`` alike, so a shopper with one interest keeps one vector."""
    while len(centroids) > 1:
        alike = centroids @ centroids.T
        np.fill_diagonal(alike, -np.inf)
        a, b = np.unravel_index(int(np.argmax(alike)), alike.shape)
        if alike[a, b] < cosine:
            break
        assign = np.argmax(vectors @ centroids.T, axis=1)
        members = (assign == a) | (assign == b)
        keep = [c for c in range(len(centroids)) if c not in (a, b)]
        joined = _mean_direction(vectors[members], weights[members])
        centroids = np.vstack([centroids[keep], joined]).astype(np.float32)
    return centroids


def _mean_direction(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    mean = (weights[:, None] * vectors).sum(axis=0, keepdims=True)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else vectors[:1]


def _tags(members: np.ndarray, weights: np.ndarray, items: ProfileItems, n: int) -> list[str]:
    """The words that most distinguish these items' titles (weight × rarity)."""
    score: dict[str, float] = defaultdict(float)
    for i, w in zip(members.tolist(), weights.tolist(), strict=True):
        for word in items.words_of(i):
            score[word] += w * items.rarity_of(word)
    # A word in (nearly) every title of the catalogue says nothing; rarity already damps it.
    return [w for w, _ in sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def _leading_category(members: np.ndarray, weights: np.ndarray, items: ProfileItems) -> str | None:
    score: dict[str, float] = defaultdict(float)
    for i, w in zip(members.tolist(), weights.tolist(), strict=True):
        path = items.category[i]
        if path:
            score[path[-1]] += w
    return min(score, key=lambda k: (-score[k], k)) if score else None


def _when(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC)


#: A shop whose newest trained-on event is at most this many days old is live: its profiles
#: are measured at the wall clock's now; an older (imported) history at its own last day.
LIVE_DAYS = 30.0


def shop_time(
    snapshot_ms: float, shopper_ms: float | None, now_ms: float, live_days: float = LIVE_DAYS
) -> float:
    """The time a profile is measured at: now, for a shop whose events are recent (its
    newest snapshot event at most ``live_days`` old); else the shop's own last day (an
    imported history from years ago would make everyone "lapsed"), or the shopper's newest
    event when that is later."""
    if now_ms - snapshot_ms <= live_days * DAY_MS:
        return now_ms
    return max(snapshot_ms, shopper_ms or 0.0)


def build_profiles(
    user: np.ndarray,
    item: np.ndarray,
    kind: np.ndarray,
    value: np.ndarray,
    timestamp: np.ndarray,
    items: ProfileItems,
    *,
    as_of_ms: float,
    **options: object,
) -> dict[str, Profile]:
    """Every shopper's profile from a whole event log as columns (user id, item index with -1
    for none, type, value with NaN for none, epoch ms), in any order: the batch a shop's
    segments are built from. ``options`` as :func:`build_profile` takes them."""
    order = np.lexsort((np.arange(len(user)), timestamp, user))
    user, item, kind = user[order], item[order], kind[order]
    value, timestamp = value[order], timestamp[order]
    starts = np.flatnonzero(np.r_[True, user[1:] != user[:-1]]) if len(user) else np.zeros(0, int)
    ends = np.r_[starts[1:], len(user)]
    out = {}
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        events = ShopperEvents(
            item=item[a:b].astype(np.int64),
            kind=tuple(kind[a:b].tolist()),
            value=value[a:b].astype(np.float64),
            timestamp=timestamp[a:b].astype(np.int64),
        )
        out[str(user[a])] = build_profile(str(user[a]), events, items, as_of_ms=as_of_ms, **options)  # type: ignore[arg-type]
    return out
