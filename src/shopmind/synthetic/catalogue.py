"""The synthetic shop's catalogue: items per leaf, log-normal prices, Zipf popularity, words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from shopmind.catalog.schema import Item
from shopmind.synthetic import vocabulary as vocab
from shopmind.synthetic.config import SyntheticConfig

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]

#: How strongly a price band pulls towards cheap / middle / dear items of a leaf.
_BAND_PULL = 2.5
#: Brands a leaf carries (drawn from its department's list) and how often each is used.
_BRAND_SLOTS = np.array([0.4, 0.3, 0.2, 0.1])
_PARTNERS_PER_LEAF = 3
_QUERY_MODIFIERS = ("", "cheap ", "best ")
_UNCOLOURED = {"Books", "Grocery", "Beauty & Personal Care"}


@lru_cache(maxsize=4096)
def _cap(text: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in text.split())


def row_cdf(weights: FloatArray) -> FloatArray:
    """Flattened per-row CDFs offset by row number, for :func:`sample_rows`."""
    cdf = np.cumsum(weights, axis=1)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1.0
    return (cdf + np.arange(len(weights))[:, None]).ravel()


def sample_rows(
    flat_cdf: FloatArray, n_cols: int, rows: IntArray, rng: np.random.Generator
) -> IntArray:
    """One category per entry of ``rows``, drawn from that row's distribution (vectorised)."""
    hit = np.searchsorted(flat_cdf, rows + rng.random(len(rows)), side="right")
    picked: IntArray = np.minimum(hit - rows * n_cols, n_cols - 1).astype(np.int64)
    return picked


@dataclass(frozen=True)
class Catalogue:
    """Items in leaf order (leaf ``l`` owns ``start[l]:start[l+1]``, rank 0 = most popular)."""

    ids: ObjectArray
    leaf: IntArray
    start: IntArray
    price: FloatArray
    price_q: FloatArray
    popularity: FloatArray
    quality: FloatArray
    partner: IntArray
    cold: npt.NDArray[np.bool_]
    band_cdf: FloatArray
    queries: ObjectArray
    records: list[dict[str, Any]]

    @property
    def n_queries_per_leaf(self) -> int:
        return len(self.queries) // (len(vocab.LEAVES) * len(_QUERY_MODIFIERS))

    def sample(self, leaf: IntArray, band: IntArray, rng: np.random.Generator) -> IntArray:
        """An item of each given leaf, by popularity tilted towards the shopper's price band."""
        target = leaf + rng.random(len(leaf))
        item = np.empty(len(leaf), dtype=np.int64)
        for b in range(len(vocab.PRICE_BANDS)):
            mask = band == b
            item[mask] = np.searchsorted(self.band_cdf[b], target[mask], side="right")
        return np.minimum(item, self.start[leaf + 1] - 1)

    def query_index(self, leaf: IntArray, band: IntArray, rng: np.random.Generator) -> IntArray:
        """A search query about each leaf; budget and premium shoppers sometimes say so."""
        pick = rng.integers(0, self.n_queries_per_leaf, len(leaf))
        says = rng.random(len(leaf)) < 0.3  # "cheap ..." from budget, "best ..." from premium
        modifier = np.select([says & (band == 0), says & (band == 2)], [1, 2], 0)
        index: IntArray = (leaf * self.n_queries_per_leaf + pick) * len(_QUERY_MODIFIERS) + modifier
        return index

    def items(self) -> list[Item]:
        """The catalogue as validated items, in id order."""
        order = np.argsort(self.ids)
        return [Item(**self.records[i]) for i in order]


def _leaf_sizes(n_items: int, rng: np.random.Generator) -> IntArray:
    n_leaves = len(vocab.LEAVES)
    weights = rng.lognormal(0.0, 0.5, n_leaves)
    spare = n_items - 2 * n_leaves
    raw = weights / weights.sum() * spare
    sizes = np.floor(raw).astype(np.int64)
    sizes[np.argsort(sizes - raw)[: spare - sizes.sum()]] += 1
    result: IntArray = sizes + 2
    return result


def _within_leaf_quantile(values: FloatArray, leaf: IntArray, start: IntArray) -> FloatArray:
    order = np.lexsort((values, leaf))
    position = np.empty(len(values))
    position[order] = np.arange(len(values)) - start[leaf[order]]
    size = (start[1:] - start[:-1])[leaf]
    quantile: FloatArray = np.where(size > 1, position / np.maximum(size - 1, 1), 0.5)
    return quantile


def _band_cdf(
    popularity: FloatArray, price_q: FloatArray, leaf: IntArray, start: IntArray
) -> FloatArray:
    """Per price band, the leaf-offset CDF of items within their leaf (see Catalogue.sample)."""
    tilt = np.stack(
        [
            np.exp(-_BAND_PULL * price_q),
            np.exp(-6.0 * (price_q - 0.5) ** 2),
            np.exp(_BAND_PULL * price_q),
        ]
    )
    cum = np.cumsum(popularity * tilt, axis=1)
    before = np.concatenate([np.zeros((3, 1)), cum], axis=1)[:, start]
    total = (before[:, 1:] - before[:, :-1])[:, leaf]
    cdf: FloatArray = leaf + (cum - before[:, :-1][:, leaf]) / total
    return cdf


def _partners(leaf: IntArray, start: IntArray, price: FloatArray, price_q: FloatArray) -> IntArray:
    """Each item of a source leaf goes with one top seller of the target leaf, at its price tier."""
    index = vocab.LEAF_INDEX
    partner = np.full(len(leaf), -1, dtype=np.int64)
    for source, target in vocab.COMPLEMENTARY_LEAVES:
        a, b = index[source], index[target]
        top = np.arange(start[b], min(start[b] + _PARTNERS_PER_LEAF, start[b + 1]))
        top = top[np.argsort(price[top])]
        members = np.arange(start[a], start[a + 1])
        tier = np.minimum((price_q[members] * len(top)).astype(np.int64), len(top) - 1)
        partner[members] = top[tier]
    return partner


def _query_table(leaf_brands: list[list[str]]) -> ObjectArray:
    queries: list[str] = []
    for leaf, brands in zip(vocab.LEAVES, leaf_brands, strict=True):
        n, a, f, u = leaf.nouns, leaf.adjectives, leaf.features, leaf.uses
        base = [
            n[0],
            n[-1],
            f"{a[0]} {n[0]}",
            f"{a[1]} {n[-1]}",
            f"{n[0]} with {f[0]}",
            f"{n[0]} for {u[0]}",
            f"{brands[0]} {n[0]}",
            f"{a[-1]} {n[0]} {f[-1]}",
        ]
        queries += [(mod + q).lower() for q in base for mod in _QUERY_MODIFIERS]
    return np.array(queries, dtype=object)


def _texts(
    leaf: IntArray,
    brand: list[str],
    price_q: FloatArray,
    rng: np.random.Generator,
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """Titles, descriptions and attributes from each leaf's vocabulary."""
    n = len(leaf)
    pick = rng.integers(0, 1 << 30, size=(6, n))
    tier = np.minimum((price_q * 3).astype(np.int64), 2)
    model = rng.integers(1, 10, n) * 10 ** rng.integers(0, 3, n)
    letters = rng.integers(0, 26, n)
    titles, descriptions, attributes = [], [], []
    for i in range(n):
        spec = vocab.LEAVES[leaf[i]]
        noun = spec.nouns[pick[0, i] % len(spec.nouns)]
        adj = spec.adjectives[pick[1, i] % len(spec.adjectives)]
        f1 = pick[2, i] % len(spec.features)
        f2 = (f1 + 1 + pick[3, i] % (len(spec.features) - 1)) % len(spec.features)
        use = spec.uses[pick[4, i] % len(spec.uses)]
        code = f"{chr(65 + letters[i])}{model[i]}"
        closing = vocab.TIER_CLOSINGS[tier[i]][pick[5, i] % 2]
        titles.append(f"{brand[i]} {_cap(adj)} {_cap(noun)} {code} with {spec.features[f1]}")
        descriptions.append(
            f"This {adj} {noun} from {brand[i]} is made for {use}. "
            f"It comes with {spec.features[f1]} and {spec.features[f2]}. {closing}"
        )
        attrs: dict[str, Any] = {"model": code}
        if spec.department not in _UNCOLOURED:
            attrs["colour"] = vocab.COLOURS[pick[5, i] % len(vocab.COLOURS)]
        attributes.append(attrs)
    return titles, descriptions, attributes


def build_catalogue(config: SyntheticConfig, rng: np.random.Generator) -> Catalogue:
    """Items per leaf with prices, popularity, quality, complements, words and search queries."""
    sizes = _leaf_sizes(config.n_items, rng)
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    leaf = np.repeat(np.arange(len(sizes)), sizes).astype(np.int64)
    rank = np.arange(config.n_items) - start[leaf]
    cold = (rank >= _PARTNERS_PER_LEAF) & (rng.random(config.n_items) < config.cold_item_fraction)
    popularity = np.where(cold, 0.0, (rank + 1.0) ** -config.popularity_exponent)
    popularity /= np.bincount(leaf, popularity)[leaf]

    leaf_brands = [
        [
            vocab.BRANDS[spec.department][j]
            for j in rng.permutation(len(vocab.BRANDS[spec.department]))
        ]
        for spec in vocab.LEAVES
    ]
    slot = rng.choice(len(_BRAND_SLOTS), config.n_items, p=_BRAND_SLOTS)
    brand = [leaf_brands[leaf_][s] for leaf_, s in zip(leaf.tolist(), slot.tolist(), strict=True)]
    brand_premium = rng.normal(0.0, 0.2, (len(sizes), len(_BRAND_SLOTS)))[leaf, slot]
    median = np.array([spec.median_price for spec in vocab.LEAVES])[leaf]
    raw = median * np.exp(brand_premium + config.price_spread * rng.standard_normal(config.n_items))
    price = np.where(raw >= 100, np.ceil(raw / 10) * 10, np.ceil(raw)) - 0.01
    price_q = _within_leaf_quantile(price, leaf, start)

    width = max(5, len(str(config.n_items - 1)))
    ids = np.array([f"i{k:0{width}d}" for k in rng.permutation(config.n_items)], dtype=object)
    titles, descriptions, attributes = _texts(leaf, brand, price_q, rng)
    start_day = config.start - timedelta(days=730)
    age_days = rng.uniform(30, 730, config.n_items)
    arrival = config.n_days - rng.uniform(0, 5, config.n_items)
    created = np.where(cold, 730 + arrival, 730 - age_days)
    records = [
        {
            "id": ids[i],
            "title": titles[i],
            "description": descriptions[i],
            "category_path": vocab.LEAVES[leaf[i]].path,
            "brand": brand[i],
            "price": float(price[i]),
            "currency": config.currency,
            "attributes": attributes[i],
            "created_at": start_day + timedelta(days=float(created[i])),
        }
        for i in range(config.n_items)
    ]
    return Catalogue(
        ids=ids,
        leaf=leaf,
        start=start,
        price=price,
        price_q=price_q,
        popularity=popularity,
        quality=rng.standard_normal(config.n_items),
        partner=_partners(leaf, start, price, price_q),
        cold=cold,
        band_cdf=_band_cdf(popularity, price_q, leaf, start),
        queries=_query_table(leaf_brands),
        records=records,
    )
