"""Who went on to what: the "A, then B" pairs of the shoppers' histories, one per shopper.

An anchor is an event on item A (a purchase where the shop has purchases, else any item
event); a follower is any later item event of the same shopper at most ``window_events``
events and ``window_days`` days after it. Each shopper counts once per pair (1 when they went
on to B in the same visit, "bought with"; less when only later, "bought after"), so a heavy
shopper does not outvote the rest, and what the pairs measure is "of the shoppers who chose A,
how many went on to B" — asymmetric: P(B | A) is not P(A | B).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopmind.catalog.schema import DAY_MS
from shopmind.data.dataset import Dataset


@dataclass(frozen=True)
class FollowPairs:
    """Distinct (shopper, A, B) follow pairs and the counts their strengths are made of."""

    a: np.ndarray  # int64 anchor item per pair
    b: np.ndarray  # int64 follower item per pair
    #: Distinct shoppers per (a, b), weighted by how soon they followed: the pair's support.
    support: np.ndarray
    #: Distinct shoppers with an anchor on each item (length n_items).
    anchored: np.ndarray
    #: Distinct shoppers with any event on each item (length n_items).
    engaged: np.ndarray
    n_users: int


def anchor_mask(data: Dataset) -> np.ndarray:
    """Which events anchor a pair: purchases where the shop records them, else every event."""
    names = list(data.type_names)
    if "purchase" in names:
        code = names.index("purchase")
        is_purchase = data.type == code
        if is_purchase.any():
            return np.asarray(is_purchase)
    return np.ones(len(data.item), bool)


def ordered(data: Dataset) -> np.ndarray:
    """The events' order by shopper, then time, then as stored."""
    return np.lexsort((np.arange(len(data.user)), data.timestamp, data.user))


def follow_pairs(
    user: np.ndarray,
    item: np.ndarray,
    timestamp: np.ndarray,
    anchor: np.ndarray,
    n_items: int,
    window_events: int,
    window_days: float,
    session_minutes: float = 60.0,
    later_weight: float = 0.25,
) -> FollowPairs:
    """The pairs of events already ordered by shopper then time (see :func:`ordered`).

    A shopper who went on to B within ``session_minutes`` of the anchor (bought with it)
    counts 1; one who came to B only later (bought after) counts ``later_weight``.
    """
    user = np.asarray(user, np.int64)
    item = np.asarray(item, np.int64)
    timestamp = np.asarray(timestamp, np.int64)
    window_ms = window_days * DAY_MS if window_days > 0 else np.inf
    session_ms = session_minutes * 60_000
    keys: list[np.ndarray] = []
    us: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    n = len(item)
    for d in range(1, window_events + 1):
        if d >= n:
            break
        i = np.flatnonzero(anchor[: n - d])
        j = i + d
        gap = timestamp[j] - timestamp[i]
        keep = (
            (user[i] == user[j])
            & (item[i] != item[j])
            & (item[i] >= 0)
            & (item[j] >= 0)
            & (gap <= window_ms)
        )
        i, j = i[keep], j[keep]
        keys.append(item[i] * n_items + item[j])
        us.append(user[i])
        ws.append(np.where(gap[keep] <= session_ms, 1.0, later_weight))
    key = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    who = np.concatenate(us) if us else np.zeros(0, np.int64)
    weight = np.concatenate(ws) if ws else np.zeros(0)
    # One per shopper and pair (their strongest follow), then the weighted shoppers per pair.
    order = np.lexsort((-weight, who, key))
    key, who, weight = key[order], who[order], weight[order]
    first = np.r_[True, (np.diff(key) != 0) | (np.diff(who) != 0)] if len(key) else key > 0
    pair, at = np.unique(key[first], return_inverse=True)
    support = np.bincount(at, weights=weight[first], minlength=len(pair))
    valid = item >= 0
    anchored = _distinct_users(user[anchor & valid], item[anchor & valid], n_items)
    engaged = _distinct_users(user[valid], item[valid], n_items)
    n_users = len(np.unique(user)) if len(user) else 0
    return FollowPairs(pair // n_items, pair % n_items, support, anchored, engaged, n_users)


def _distinct_users(user: np.ndarray, item: np.ndarray, n: int) -> np.ndarray:
    if not len(item):
        return np.zeros(n, np.int64)
    both = np.unique(np.stack([item, user], axis=1), axis=0)
    return np.bincount(both[:, 0], minlength=n).astype(np.int64)
