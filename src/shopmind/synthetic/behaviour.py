"""Synthetic shoppers and what they do: sessions, funnels, searches, rebuys, complements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from shopmind.catalog.schema import (
    DAY_MS,
    User,
    event_type_code,
    event_types,
    from_millis,
    to_millis,
)
from shopmind.synthetic import vocabulary as vocab
from shopmind.synthetic.catalogue import Catalogue, row_cdf, sample_rows
from shopmind.synthetic.config import SyntheticConfig

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]

#: Appended to id tables so that index -1 reads as "no item" / "no query".
_NONE = np.array([None], dtype=object)
_LEAF_DEPT = np.array([vocab.DEPARTMENTS.index(leaf.department) for leaf in vocab.LEAVES])
_REPEAT_DAYS = np.array([leaf.repeat_days or 0 for leaf in vocab.LEAVES])
_VIEW, _CLICK, _CART, _BUY, _RATE, _SEARCH = (
    event_type_code(name)
    for name in ("view", "click", "add_to_cart", "purchase", "rating", "search")
)
#: Shoppers browse at lunch and in the evening more than at night.
_HOURS = np.concatenate(
    [
        [1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2, 2.2, 2.3, 2.5],
        [3, 2.8, 2.4, 2.3, 2.5, 3, 3.5, 4.2, 4.5, 4, 3, 1.8],
    ]
)


def _weights(persona: vocab.Persona, primary_share: float | None) -> dict[str, float]:
    """The persona's department weights; with ``primary_share``, its first one gets that share."""
    weights = persona.departments
    if primary_share is None:
        return weights
    first, *others = weights
    rest = sum(weights[d] for d in others)
    return {first: primary_share} | {d: (1 - primary_share) * weights[d] / rest for d in others}


def _favoured(n_rows: int, options: tuple[str, ...], favoured: list[tuple[str, ...]]) -> FloatArray:
    weights = np.ones((n_rows, len(options)))
    for row, names in enumerate(favoured):
        weights[row, [options.index(name) for name in names]] += 4.0
    return weights


@dataclass(frozen=True)
class Shoppers:
    """Planted shoppers: segment, price band, per-leaf interest and activity level."""

    ids: ObjectArray
    segment: IntArray
    band: IntArray
    leaf_share: FloatArray
    leaf_cdf: FloatArray
    activity: FloatArray
    country: IntArray
    age: IntArray

    @classmethod
    def sample(cls, config: SyntheticConfig, rng: np.random.Generator) -> Shoppers:
        """Draw shoppers whose departments and price band follow their segment's persona."""
        personas = vocab.PERSONAS[: config.n_segments]
        n_users, n_segments = config.n_users, len(personas)
        size = 0.7 + 0.6 * rng.random(n_segments)
        segment = rng.choice(n_segments, n_users, p=size / size.sum())
        segment[:n_segments] = np.arange(n_segments)  # every segment has shoppers
        rng.shuffle(segment)
        persona_band = np.array([vocab.PRICE_BANDS.index(p.price_band) for p in personas])
        loyal = rng.random(n_users) < config.band_loyalty
        band = np.where(loyal, persona_band[segment], rng.integers(0, 3, n_users))

        alpha = np.full((n_segments, len(vocab.DEPARTMENTS)), 0.05)
        for row, persona in enumerate(personas):
            for dept, weight in _weights(persona, config.primary_share).items():
                alpha[row, vocab.DEPARTMENTS.index(dept)] += config.segment_concentration * weight
        dept_pref = rng.gamma(alpha[segment])
        dept_pref /= dept_pref.sum(axis=1, keepdims=True)
        interest = rng.gamma(0.8, size=(n_users, len(vocab.LEAVES)))
        interest *= rng.lognormal(0.0, 0.4, len(vocab.LEAVES))
        dept_total = interest @ np.eye(len(vocab.DEPARTMENTS))[_LEAF_DEPT]
        share = dept_pref[:, _LEAF_DEPT] * interest / dept_total[:, _LEAF_DEPT]

        countries = _favoured(n_segments, vocab.COUNTRIES, [p.countries for p in personas])
        ages = _favoured(n_segments, vocab.AGE_BANDS, [p.age_bands for p in personas])
        width = max(5, len(str(n_users - 1)))
        return cls(
            ids=np.array([f"u{k:0{width}d}" for k in range(n_users)], dtype=object),
            segment=segment.astype(np.int64),
            band=band.astype(np.int64),
            leaf_share=share,
            leaf_cdf=row_cdf(share),
            activity=rng.lognormal(0.0, 0.9, n_users),
            country=sample_rows(row_cdf(countries), len(vocab.COUNTRIES), segment, rng),
            age=sample_rows(row_cdf(ages), len(vocab.AGE_BANDS), segment, rng),
        )

    def users(self, first_ms: IntArray, rng: np.random.Generator) -> list[User]:
        """Users with attributes; each signed up before their first event (a fifth just before)."""
        newcomer = rng.random(len(self.ids)) < 0.2
        lead_ms = np.where(
            newcomer,
            rng.uniform(60e3, 3_600e3, len(self.ids)),
            rng.uniform(1, 700, len(self.ids)) * DAY_MS,
        )
        created = (first_ms - lead_ms).astype(np.int64)
        return [
            User(
                id=self.ids[i],
                attributes={
                    "country": vocab.COUNTRIES[self.country[i]],
                    "age_band": vocab.AGE_BANDS[self.age[i]],
                },
                created_at=from_millis(int(created[i])),
            )
            for i in range(len(self.ids))
        ]


@dataclass
class _Log:
    """Events gathered block by block, then sorted into columns."""

    blocks: list[tuple[IntArray, IntArray, int | IntArray, FloatArray, IntArray, FloatArray]] = (
        field(default_factory=list)
    )

    def add(
        self,
        user: IntArray,
        item: IntArray,
        kind: int | IntArray,
        ts: FloatArray,
        value: FloatArray | None = None,
        query: IntArray | None = None,
    ) -> None:
        n = len(user)
        self.blocks.append(
            (
                user,
                item,
                np.broadcast_to(kind, n).astype(np.int64),
                np.full(n, np.nan) if value is None else value,
                np.full(n, -1, dtype=np.int64) if query is None else query,
                ts,
            )
        )

    def columns(
        self, config: SyntheticConfig, catalogue: Catalogue, shoppers: Shoppers
    ) -> tuple[dict[str, npt.NDArray[Any]], IntArray]:
        user, item, kind, value, query, ts = (
            np.concatenate(col) for col in zip(*self.blocks, strict=True)
        )
        start_ms = to_millis(config.start)
        keep = ts <= config.n_days * DAY_MS
        order = np.flatnonzero(keep)[np.argsort(ts[keep], kind="stable")]
        user, item, kind, value, query = (
            user[order],
            item[order],
            kind[order],
            value[order],
            query[order],
        )
        first = np.full(len(shoppers.ids), -1, dtype=np.int64)
        seen, index = np.unique(user, return_index=True)
        stamp = (start_ms + ts[order]).astype(np.int64)
        first[seen] = stamp[index]
        columns = {
            "id": np.array([f"e{config.seed}-{i:08d}" for i in range(len(order))], dtype=object),
            "user_id": shoppers.ids[user],
            "item_id": np.concatenate([catalogue.ids, _NONE])[item],
            "type": np.array(event_types(), dtype=object)[kind],
            "value": value,
            "query": np.concatenate([catalogue.queries, _NONE])[query],
            "timestamp_ms": stamp,
        }
        return columns, first


class Behaviour:
    """Simulates sessions over ``config.n_days`` and the purchases that follow them."""

    def __init__(
        self,
        config: SyntheticConfig,
        catalogue: Catalogue,
        shoppers: Shoppers,
        rng: np.random.Generator,
    ) -> None:
        self.config, self.catalogue, self.shoppers, self.rng = config, catalogue, shoppers, rng
        self.log = _Log()
        # Exploration follows the same overall mix, so this is also where views land on average.
        self.leaf_mix = np.average(shoppers.leaf_share, axis=0, weights=shoppers.activity)
        self.global_cdf = np.cumsum(self.leaf_mix) / self.leaf_mix.sum()

    def run(self) -> tuple[dict[str, npt.NDArray[Any]], IntArray]:
        """All events as columns in time order, and each shopper's first event time."""
        buyers, bought, at = self._sessions(self._n_sessions())
        more_buyers, more_bought, more_at = self._complements(buyers, bought, at)
        buyers = np.concatenate([buyers, more_buyers])
        bought = np.concatenate([bought, more_bought])
        at = np.concatenate([at, more_at])
        self._ratings(buyers, bought, at)
        self._repeats(buyers, bought, at)
        return self.log.columns(self.config, self.catalogue, self.shoppers)

    def _n_sessions(self) -> int:
        """How many sessions make about ``config.n_events`` events, in expectation."""
        c = self.config
        is_source = np.zeros(len(vocab.LEAVES))
        is_source[[vocab.LEAF_INDEX[a] for a, _ in vocab.COMPLEMENTARY_LEAVES]] = 1
        source = self.leaf_mix @ is_source
        cycles = np.arange(1, 9)[:, None] * np.maximum(_REPEAT_DAYS, 1) / c.n_days
        repeats = (c.repeat_rate ** np.arange(1, 9)[:, None] * np.clip(1 - cycles, 0, 1)).sum(0)
        repeats = self.leaf_mix @ np.where(_REPEAT_DAYS > 0, repeats, 0)
        follow = source * c.complement_rate * (1 - 3.75 / c.n_days)
        per_purchase = (1 + follow * c.complement_purchase_rate) * (
            c.rating_rate * (1 - 5.5 / c.n_days) + 3 * repeats
        ) + follow * (1 + 2 * c.complement_purchase_rate)
        views = c.mean_views_per_session
        per_session = (
            c.search_rate
            + views * (1 + c.click_rate + c.cart_rate)
            + views * c.cart_rate * c.purchase_rate * (1 + per_purchase)
        )
        return max(c.n_users, round(c.n_events / float(per_session)))

    def _sessions(self, n_sessions: int) -> tuple[IntArray, IntArray, FloatArray]:
        c, rng, shoppers = self.config, self.rng, self.shoppers
        n_leaves = len(vocab.LEAVES)
        extra = rng.multinomial(n_sessions - c.n_users, shoppers.activity / shoppers.activity.sum())
        user = np.repeat(np.arange(c.n_users), 1 + extra)
        n = len(user)
        focus = sample_rows(shoppers.leaf_cdf, n_leaves, user, rng)
        n_views = rng.geometric(1 / c.mean_views_per_session, n)
        sess = np.repeat(np.arange(n), n_views)
        pos = np.arange(len(sess)) - np.repeat(np.cumsum(n_views) - n_views, n_views)
        leaf = focus[sess]
        wander = rng.random(len(sess)) >= c.session_focus
        leaf[wander] = sample_rows(shoppers.leaf_cdf, n_leaves, user[sess[wander]], rng)
        explore = np.flatnonzero(rng.random(len(sess)) < c.exploration)
        leaf[explore] = np.searchsorted(
            self.global_cdf, rng.random(len(explore)), side="right"
        ).clip(0, n_leaves - 1)
        item = self.catalogue.sample(leaf, shoppers.band[user[sess]], rng)
        stock_up = np.where(_REPEAT_DAYS[leaf] > 0, 0.4, 0.05)
        quantity = 1.0 + (rng.random(len(sess)) < stock_up) + (rng.random(len(sess)) < stock_up / 3)
        clicked = rng.random(len(sess)) < c.click_rate
        carted = rng.random(len(sess)) < c.cart_rate
        bought = carted & (rng.random(len(sess)) < c.purchase_rate)
        searched = np.flatnonzero(rng.random(n) < c.search_rate)

        checkout = n_views[sess] + 1 + pos / (n_views[sess] + 1)
        e_sess = np.concatenate([sess, sess[clicked], sess[carted], sess[bought], searched])
        key = np.concatenate(
            [
                pos,
                pos[clicked] - 0.5,
                pos[carted] + 0.25,
                checkout[bought],
                np.full(len(searched), -1.0),
            ]
        )
        e_item = np.concatenate(
            [item, item[clicked], item[carted], item[bought], np.full(len(searched), -1)]
        )
        kind = np.concatenate(
            [
                np.full(len(sess), _VIEW),
                np.full(clicked.sum(), _CLICK),
                np.full(carted.sum(), _CART),
                np.full(bought.sum(), _BUY),
                np.full(len(searched), _SEARCH),
            ]
        )
        value = np.concatenate(
            [
                np.full(len(sess) + clicked.sum(), np.nan),
                quantity[carted],
                quantity[bought],
                np.full(len(searched), np.nan),
            ]
        )
        query = np.full(len(e_sess), -1, dtype=np.int64)
        query[len(e_sess) - len(searched) :] = self.catalogue.query_index(
            focus[searched], shoppers.band[user[searched]], rng
        )

        order = np.lexsort((key, e_sess))
        e_sess, e_item, kind, value, query = (
            e_sess[order],
            e_item[order],
            kind[order],
            value[order],
            query[order],
        )
        first = np.r_[True, e_sess[1:] != e_sess[:-1]]
        gap = np.where(first, 0.0, 4_000 + rng.exponential(40_000, len(e_sess)))
        elapsed = np.cumsum(gap)
        offset = elapsed - elapsed[np.flatnonzero(first)][e_sess]
        duration = offset[np.r_[np.flatnonzero(first)[1:] - 1, len(offset) - 1]]
        ts = (self._session_starts(duration)[e_sess] + offset).round()
        self.log.add(user[e_sess], e_item, kind, ts, value, query)
        is_buy = kind == _BUY
        return user[e_sess[is_buy]], e_item[is_buy], ts[is_buy]

    def _session_starts(self, duration: FloatArray) -> FloatArray:
        """Session start offsets: busier at weekends, in the evening, and as the shop grows."""
        c, rng, n = self.config, self.rng, len(duration)
        weekday = (c.start.weekday() + np.arange(c.n_days)) % 7
        days = (1 + 0.3 * (weekday >= 5)) * (1 + 0.3 * np.arange(c.n_days) / c.n_days)
        day = rng.choice(c.n_days, n, p=days / days.sum())
        hour = rng.choice(24, n, p=_HOURS / _HOURS.sum())
        start = day * DAY_MS + hour * 3_600_000 + rng.uniform(0, 3_600_000, n)
        return np.minimum(start, c.n_days * DAY_MS - duration - 1)

    def _funnel(
        self,
        user: IntArray,
        item: IntArray,
        at: FloatArray,
        buys: npt.NDArray[np.bool_],
        quantity: FloatArray | None = None,
    ) -> tuple[IntArray, IntArray, FloatArray]:
        """A view at ``at`` and, where ``buys``, a cart and a purchase; returns the purchases."""
        rng, n = self.rng, len(user)
        quantity = np.ones(n) if quantity is None else quantity
        cart_at = at + rng.uniform(20_000, 120_000, n)
        buy_at = cart_at + rng.uniform(30_000, 300_000, n)
        self.log.add(user, item, _VIEW, at.round())
        self.log.add(user[buys], item[buys], _CART, cart_at[buys].round(), quantity[buys])
        self.log.add(user[buys], item[buys], _BUY, buy_at[buys].round(), quantity[buys])
        return user[buys], item[buys], buy_at[buys].round()

    def _complements(
        self, user: IntArray, item: IntArray, at: FloatArray
    ) -> tuple[IntArray, IntArray, FloatArray]:
        c, rng = self.config, self.rng
        partner = self.catalogue.partner[item]
        follow = (partner >= 0) & (rng.random(len(item)) < c.complement_rate)
        n = int(follow.sum())
        soon = rng.random(n) < 0.4
        delay = np.where(soon, rng.uniform(60_000, 900_000, n), rng.uniform(0.5, 7, n) * DAY_MS)
        buys = rng.random(n) < c.complement_purchase_rate
        return self._funnel(user[follow], partner[follow], at[follow] + delay, buys)

    def _ratings(self, user: IntArray, item: IntArray, at: FloatArray) -> None:
        rng = self.rng
        rated = rng.random(len(item)) < self.config.rating_rate
        n = int(rated.sum())
        score = 3.9 + 0.7 * self.catalogue.quality[item[rated]] + 0.8 * rng.standard_normal(n)
        self.log.add(
            user[rated],
            item[rated],
            _RATE,
            (at[rated] + rng.uniform(1, 10, n) * DAY_MS).round(),
            np.clip(np.rint(score), 1, 5),
        )

    def _repeats(self, user: IntArray, item: IntArray, at: FloatArray) -> None:
        """Consumables are bought again about every cycle while the shopper stays loyal."""
        c, rng = self.config, self.rng
        cycle = _REPEAT_DAYS[self.catalogue.leaf[item]] * DAY_MS
        left = np.maximum(c.n_days * DAY_MS - at, 0)
        fits = np.where(cycle > 0, left // np.maximum(cycle, 1), 0)
        count = np.minimum(
            rng.geometric(1 - c.repeat_rate, len(item)) - 1, np.minimum(fits, 8)
        ).astype(np.int64)
        source = np.repeat(np.arange(len(item)), count)
        nth = np.arange(len(source)) - np.repeat(np.cumsum(count) - count, count) + 1
        when = at[source] + nth * cycle[source] * (1 + 0.1 * rng.standard_normal(len(source)))
        self._funnel(user[source], item[source], when, np.ones(len(source), dtype=bool))
