"""The API's JSON records of items, and its catalogue summaries (a shopper's records are
:mod:`shopmind.catalog.records`, shared with the command line)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shopmind.catalog.schema import Item


def top_categories(categories: list[tuple[str, ...]], n: int = 10) -> list[tuple[str, int]]:
    """The most stocked top-level categories."""
    counts = Counter(path[0] for path in categories if path)
    return counts.most_common(n)


def item_record(item: Item) -> dict[str, Any]:
    return {
        "item_id": item.id,
        "title": item.title,
        "description": item.description,
        "category": list(item.category_path),
        "brand": item.brand,
        "price": item.price,
        "currency": item.currency,
        "attributes": dict(item.attributes),
        "available": item.available,
        "created_at": None if item.created_at is None else item.created_at.isoformat(),
        "image": next(
            (str(item.attributes[k]) for k in ("image", "image_url") if item.attributes.get(k)),
            None,
        ),
    }
