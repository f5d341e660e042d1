"""What a profile needs to know of the catalogue, computed once per catalogue.

Each item's price as a percentile of its leaf category's prices (a 40 € lamp is cheap among
lamps, a 40 € pen is not), and the words of its title with their rarity, from which a
shopper's interest tags are read.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shopmind.data.dataset import ItemSide

#: Words too common to say anything about an interest.
_STOP = "a an and are as at be by for from in into is it of on or set the to with without your"
_STOP += " you our new pack pcs piece pieces size inch cm mm ml kg lb oz"
STOP_WORDS = frozenset(_STOP.split())
_WORD = re.compile(r"[^\W\d_]{3,}|[\u4e00-\u9fff]{2,}")


def words(text: str) -> list[str]:
    """A title's words (lower case, three letters or more, or a run of Chinese characters),
    stop words out."""
    return [w for w in _WORD.findall(text.casefold()) if w not in STOP_WORDS]


@functools.lru_cache(maxsize=1 << 18)
def title_words(title: str) -> tuple[str, ...]:
    """A title's distinct words, remembered: a catalogue that changes keeps its titles'."""
    return tuple(dict.fromkeys(words(title)))


def rarity(titles: Sequence[str]) -> dict[str, float]:
    """Word -> inverse document frequency over these titles."""
    df: Counter[str] = Counter(w for t in titles for w in title_words(t))
    n = max(len(titles), 1)
    return {w: float(np.log((1 + n) / (1 + c)) + 1.0) for w, c in df.items()}


@dataclass(frozen=True)
class ProfileItems:
    """Per item: its category path, brand, price percentile in its leaf, title words."""

    category: list[tuple[str, ...]]
    brand: list[str]
    price: np.ndarray  # float64, NaN when unknown
    #: 0-100: the item's price among the priced items of its leaf (NaN: no price).
    price_percentile: np.ndarray
    title: list[str]
    #: Word -> inverse document frequency over the catalogue's titles (a word it lacks is
    #: taken as rare).
    idf: dict[str, float]

    @property
    def n(self) -> int:
        return len(self.category)

    def words_of(self, item: int) -> tuple[str, ...]:
        return title_words(self.title[item])

    def rarity_of(self, word: str) -> float:
        return self.idf.get(word, float(np.log(1 + max(self.n, 1))) + 1.0)

    @classmethod
    def build(cls, side: ItemSide, idf: dict[str, float] | None = None) -> ProfileItems:
        """The catalogue's profile arrays; ``idf`` from an earlier catalogue may be kept (it
        is what costs: a new item or price does not need the rarity of every word again)."""
        price = np.asarray(side.price, np.float64)
        return cls(
            category=list(side.category),
            brand=[b.strip() for b in side.brand],
            price=price,
            price_percentile=leaf_percentiles(side.category, price),
            title=list(side.title),
            idf=rarity(side.title) if idf is None else idf,
        )


def leaf_percentiles(category: list[tuple[str, ...]], price: np.ndarray) -> np.ndarray:
    """Each priced item's mid-rank percentile (0-100) among the priced items of its leaf.

    The mid rank puts a leaf's only item at 50 and ties at their shared middle, so "the
    shopper buys at the 80th percentile" means the same in a leaf of 3 items and of 3,000.
    """
    out = np.full(len(price), np.nan)
    leaf = np.array([" > ".join(p) for p in category], dtype=object)
    priced = np.flatnonzero(~np.isnan(price))
    if not len(priced):
        return out
    _, group = np.unique(leaf[priced], return_inverse=True)
    order = np.lexsort((price[priced], group))
    g, p = group[order], price[priced][order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, len(g)])
    for start, size in zip(starts.tolist(), sizes.tolist(), strict=True):
        values = p[start : start + size]
        below = np.searchsorted(values, values, side="left")
        upto = np.searchsorted(values, values, side="right")
        out[priced[order[start : start + size]]] = 100.0 * (below + upto) / (2.0 * size)
    return out
