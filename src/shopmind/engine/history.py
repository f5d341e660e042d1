"""A shopper's history, read from the Store at request time (so the next click counts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shopmind.catalog.schema import event_types, to_millis
from shopmind.data.histories import Histories, event_weight
from shopmind.data.idmap import IdMap
from shopmind.profiles import ShopperEvents

if TYPE_CHECKING:
    from shopmind.catalog.store import Store

#: Most recent events of a shopper read per request.
HISTORY_LIMIT = 100


def read_history(
    store: Store, user_id: str, ids: IdMap, limit: int = HISTORY_LIMIT
) -> tuple[Histories, tuple[str, ...], int]:
    """The shopper's newest item events as one history row (oldest first), each event's type,
    and how many events were read (items the catalogue does not know are left out)."""
    events = store.recent_item_events(user_id, limit)
    index = ids.indices(e[0] for e in events)
    kept = [e for e, i in zip(events, index.tolist(), strict=True) if i >= 0]
    codes = {name: i for i, name in enumerate(event_types())}
    histories = Histories.from_lists(
        [index[index >= 0].tolist()],
        types=[[codes.get(e[1], 0) for e in kept]],
        timestamps=[[e[3] for e in kept]],
        weights=[[event_weight(e[1], e[2]) for e in kept]],
    )
    return histories, tuple(e[1] for e in kept), len(events)


def read_events(store: Store, user_id: str, ids: IdMap, limit: int) -> ShopperEvents:
    """The shopper's newest ``limit`` events of every type (searches too), oldest first, for
    a profile; an item the catalogue does not know is index -1."""
    events = store.user_events(user_id, limit, behaviour=True)
    index = ids.indices(e.item_id for e in events)
    return ShopperEvents.of(
        [
            (int(i), e.type, e.value, to_millis(e.timestamp), e.query or "")
            for e, i in zip(events, index.tolist(), strict=True)
        ]
    )
