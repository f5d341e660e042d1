"""A deterministic, realistic synthetic shop with planted structure that tests can check is found.

Shoppers belong to segments with preferred departments and a price band; they browse in sessions
(popularity-biased, long-tailed), buy through view → cart → purchase funnels, search with words of
the leaves they like, rate, rebuy consumables and follow planted cross-department complements.
Everything is vectorised numpy: a million events take seconds. ``shop.truth`` says what was planted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from shopmind.catalog.schema import Event, Item, User, from_millis
from shopmind.synthetic import vocabulary as vocab
from shopmind.synthetic.behaviour import Behaviour, Shoppers
from shopmind.synthetic.catalogue import Catalogue, build_catalogue
from shopmind.synthetic.config import SyntheticConfig

logger = logging.getLogger(__name__)

#: Events as columns (the format of ``Store.append_event_columns``): ``id``, ``user_id``,
#: ``item_id`` (None for searches), ``type``, ``value`` (NaN when absent), ``query`` (None unless a
#: search) as object or float arrays, and ``timestamp_ms`` as int64 epoch milliseconds.
EventColumns = dict[str, npt.NDArray[Any]]


class PlantedTruth(BaseModel):
    """What the generator planted, for tests that check models and profiles find it."""

    model_config = ConfigDict(frozen=True)

    segment_names: list[str]
    #: Preferred departments of each segment, strongest first.
    segment_departments: list[list[str]]
    segment_price_band: list[str]
    user_segment: dict[str, int]
    user_price_band: dict[str, str]
    #: Each shopper's own strongest department (the largest planted share of their views).
    user_department: dict[str, str]
    #: Leaf path pairs (a, b) in different departments: buying in a makes b likely next.
    complementary_leaves: list[tuple[tuple[str, ...], tuple[str, ...]]]
    #: Item pairs (a, b): after buying a, a shopper views b with ``complement_rate``.
    complementary_pairs: list[tuple[str, str]]
    repeat_leaves: list[tuple[str, ...]]
    repeat_cycle_days: list[int]
    #: 0 is the item with the largest planted (expected) share of views.
    item_popularity_rank: dict[str, int]
    item_quality: dict[str, float]
    #: New arrivals that have no events at all.
    cold_items: list[str]


@dataclass(frozen=True)
class SyntheticShop:
    """A generated shop: catalogue, shoppers, their events as columns, and the planted truth."""

    config: SyntheticConfig
    items: list[Item]
    users: list[User]
    events: EventColumns
    truth: PlantedTruth

    @property
    def n_events(self) -> int:
        return len(self.events["timestamp_ms"])

    def iter_events(self) -> Iterator[Event]:
        """The events as validated :class:`Event` objects, in time order (for small shops)."""
        cols = self.events
        for i in range(self.n_events):
            value = float(cols["value"][i])
            yield Event(
                id=cols["id"][i],
                user_id=cols["user_id"][i],
                item_id=cols["item_id"][i],
                type=cols["type"][i],
                value=None if np.isnan(value) else value,
                query=cols["query"][i],
                timestamp=from_millis(int(cols["timestamp_ms"][i])),
            )


class EventSink(Protocol):
    """The part of ``Store`` that :func:`write_to_store` needs."""

    def upsert_items(self, items: list[Item], /) -> object: ...
    def upsert_users(self, users: list[User], /) -> object: ...
    def append_event_columns(self, columns: EventColumns, /) -> object: ...


def write_to_store(shop: SyntheticShop, store: EventSink) -> None:
    """Load a generated shop into a Store: items, then users, then events."""
    store.upsert_items(shop.items)
    store.upsert_users(shop.users)
    store.append_event_columns(shop.events)


def generate(config: SyntheticConfig | None = None) -> SyntheticShop:
    """Generate the shop that ``config`` (default: :class:`SyntheticConfig`) describes."""
    config = config or SyntheticConfig()
    rng = np.random.default_rng(config.seed)
    catalogue = build_catalogue(config, rng)
    shoppers = Shoppers.sample(config, rng)
    behaviour = Behaviour(config, catalogue, shoppers, rng)
    events, first_ms = behaviour.run()
    users = shoppers.users(first_ms, rng)
    logger.debug(
        "synthetic shop: %d items, %d users, %d events",
        len(catalogue.ids),
        len(users),
        len(events["id"]),
    )
    truth = _truth(config, catalogue, shoppers)
    return SyntheticShop(config, catalogue.items(), users, events, truth)


def _expected_item_share(
    catalogue: Catalogue, shoppers: Shoppers, config: SyntheticConfig
) -> npt.NDArray[np.float64]:
    """Each item's planted share of views: leaf mix of each price band times its in-leaf pick."""
    leaf, start = catalogue.leaf, catalogue.start
    overall = np.average(shoppers.leaf_share, axis=0, weights=shoppers.activity)
    share = np.zeros(len(leaf))
    for band in range(len(vocab.PRICE_BANDS)):
        members = shoppers.band == band
        if not members.any():
            continue
        mass = shoppers.activity[members].sum() / shoppers.activity.sum()
        mix = np.average(shoppers.leaf_share[members], axis=0, weights=shoppers.activity[members])
        mix = (1 - config.exploration) * mix + config.exploration * overall
        reached = catalogue.band_cdf[band] - leaf
        previous = np.r_[0.0, reached[:-1]]
        previous[start[:-1]] = 0.0
        share += mass * mix[leaf] * (reached - previous)
    return share


def _top_departments(shoppers: Shoppers) -> list[str]:
    leaf_department = np.array([vocab.DEPARTMENTS.index(leaf.department) for leaf in vocab.LEAVES])
    by_department = shoppers.leaf_share @ np.eye(len(vocab.DEPARTMENTS))[leaf_department]
    return [vocab.DEPARTMENTS[d] for d in np.argmax(by_department, axis=1).tolist()]


def _truth(config: SyntheticConfig, catalogue: Catalogue, shoppers: Shoppers) -> PlantedTruth:
    personas = vocab.PERSONAS[: config.n_segments]
    ids = catalogue.ids.tolist()
    user_ids = shoppers.ids.tolist()
    share = _expected_item_share(catalogue, shoppers, config)
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(-share, kind="stable")] = np.arange(len(ids))
    sources = np.flatnonzero((catalogue.partner >= 0) & ~catalogue.cold)
    repeat = [leaf for leaf in vocab.LEAVES if leaf.repeat_days]
    return PlantedTruth(
        segment_names=[p.name for p in personas],
        segment_departments=[
            sorted(p.departments, key=lambda d: -p.departments[d]) for p in personas
        ],
        segment_price_band=[p.price_band for p in personas],
        user_segment=dict(zip(user_ids, shoppers.segment.tolist(), strict=True)),
        user_price_band={
            u: vocab.PRICE_BANDS[b] for u, b in zip(user_ids, shoppers.band.tolist(), strict=True)
        },
        user_department=dict(zip(user_ids, _top_departments(shoppers), strict=True)),
        complementary_leaves=[
            (vocab.LEAVES[vocab.LEAF_INDEX[a]].path, vocab.LEAVES[vocab.LEAF_INDEX[b]].path)
            for a, b in vocab.COMPLEMENTARY_LEAVES
        ],
        complementary_pairs=sorted((ids[a], ids[catalogue.partner[a]]) for a in sources),
        repeat_leaves=[leaf.path for leaf in repeat],
        repeat_cycle_days=[leaf.repeat_days or 0 for leaf in repeat],
        item_popularity_rank=dict(zip(ids, rank.tolist(), strict=True)),
        item_quality=dict(zip(ids, np.round(catalogue.quality, 4).tolist(), strict=True)),
        cold_items=sorted(catalogue.ids[catalogue.cold].tolist()),
    )
