"""The item table a bundle carries: the item IdMap and the side data filters and answers need."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shopmind.catalog.schema import DAY_MS
from shopmind.data.dataset import Dataset, ItemSide
from shopmind.data.idmap import IdMap
from shopmind.ranking.context import ItemArrays

#: The image of an item is read from the first of these attributes it has.
IMAGE_ATTRIBUTES = ("image", "image_url")
#: "Trending" counts the distinct shoppers of each item in this many last days of the snapshot.
TRENDING_DAYS = 7


@dataclass(frozen=True)
class ItemTable:
    """The item IdMap and side data a bundle carries (aligned by index)."""

    ids: IdMap
    side: ItemSide
    image: list[str | None]
    popularity: np.ndarray  # distinct shoppers per item, float32
    trending: np.ndarray  # distinct shoppers per item over the last TRENDING_DAYS, float32
    #: Creation time per item, epoch ms (NaN unknown); None in bundles written before it.
    created: np.ndarray | None = None
    #: The snapshot's newest event, epoch ms (what ages are measured from); None: unknown.
    now_ms: float | None = None

    @classmethod
    def from_dataset(cls, data: Dataset) -> ItemTable:
        key = data.user * max(data.n_items, 1) + data.item
        first = np.unique(key, return_index=True)[1]
        popularity = np.bincount(data.item[first], minlength=data.n_items).astype(np.float32)
        recent = np.zeros(data.n_items, dtype=np.float32)
        if data.n_events:
            cutoff = int(data.timestamp.max()) - TRENDING_DAYS * DAY_MS
            late = first[data.timestamp[first] >= cutoff]
            recent = np.bincount(data.item[late], minlength=data.n_items).astype(np.float32)
        now = float(data.timestamp.max()) if data.n_events else None
        side = data.item_side
        return cls(data.items, side, image_of(side), popularity, recent, side.created_ms(), now)

    def arrays(self) -> ItemArrays:
        """The table as the ranking stages read it (nothing removed yet)."""
        n = len(self.ids)
        created = self.created if self.created is not None else np.full(n, np.nan)
        finite = created[np.isfinite(created)]
        now = (
            self.now_ms
            if self.now_ms is not None
            else (float(finite.max()) if len(finite) else 0.0)
        )
        return ItemArrays(
            side=self.side,
            popularity=np.asarray(self.popularity, np.float32),
            trending=np.asarray(self.trending, np.float32),
            created=np.asarray(created, np.float64),
            removed=np.zeros(n, dtype=bool),
            now_ms=float(now),
        )

    def save(self, folder: Path) -> None:
        side = self.side
        columns = {
            "ids": self.ids.to_list(),
            "title": side.title,
            "description": side.description,
            "brand": side.brand,
            "category": [list(path) for path in side.category],
            "image": self.image,
            "attributes": side.attributes,
        }
        (folder / "items.json").write_text(json.dumps(columns, ensure_ascii=False))
        np.savez(
            folder / "items.npz",
            price=side.price,
            available=side.available,
            popularity=self.popularity,
            trending=self.trending,
            created=self.created if self.created is not None else np.full(len(self.ids), np.nan),
            now_ms=np.array(np.nan if self.now_ms is None else self.now_ms),
        )

    @classmethod
    def load(cls, folder: Path) -> ItemTable:
        columns = json.loads((folder / "items.json").read_text())
        with np.load(folder / "items.npz", allow_pickle=False) as arrays:
            a = {k: arrays[k] for k in arrays.files}
        n = len(columns["ids"])
        side = ItemSide(
            title=columns["title"],
            description=columns["description"],
            brand=columns["brand"],
            category=[tuple(path) for path in columns["category"]],
            price=a["price"].astype(np.float64),
            available=a["available"].astype(bool),
            attributes=columns.get("attributes") or [{} for _ in range(n)],
            created=a.get("created"),
        )
        now = float(a["now_ms"]) if "now_ms" in a and np.isfinite(a["now_ms"]) else None
        return cls(
            IdMap.from_list(columns["ids"]),
            side,
            columns["image"],
            a["popularity"],
            a["trending"],
            a.get("created"),
            now,
        )


def image_of(side: ItemSide) -> list[str | None]:
    out: list[str | None] = []
    for attributes in side.attributes:
        found = next((attributes[k] for k in IMAGE_ATTRIBUTES if attributes.get(k)), None)
        out.append(None if found is None else str(found))
    return out
