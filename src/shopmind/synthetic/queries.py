"""Search queries over a synthetic catalogue, each with the items that answer it.

Kinds (each a different thing a search must do):

- ``title``: brand, product noun and model code of one item ("kestrel labs mirrorless camera
  y900") — the one item answers;
- ``category``: a leaf's name ("mirrorless cameras") — its items answer;
- ``synonym``: words the catalogue never uses for the leaf ("sneakers for jogging" for Running
  Shoes) — its items answer: only meaning can find them;
- ``misspelling``: a leaf's noun with two letters swapped ("mirrorless cmaera");
- ``price``: a leaf's noun and a bound ("espresso machine under 400", "跑步鞋300元以内") — its
  items within the bound answer;
- ``description``: what the product is for, in a sentence ("something for travel
  photography") — the leaf's items answer.

:func:`english_queries` reads the synthetic shop's catalogue; the Chinese catalogue
(:mod:`shopmind.synthetic.chinese`) makes its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from shopmind.catalog.schema import Item
from shopmind.synthetic import vocabulary as vocab

#: Words the catalogue never uses, for some leaves: only the meaning connects them.
SYNONYMS = {
    "Mirrorless Cameras": "a digital camera for taking photos",
    "Wireless Headphones": "cordless earphones",
    "Laptops": "notebook computer",
    "Computer Monitors": "screen for my desktop pc",
    "Espresso Machines": "coffee maker for cappuccino",
    "Frying Pans": "saute pan for the hob",
    "Robot Vacuums": "automatic floor cleaner",
    "Tents": "shelter for sleeping outdoors",
    "Sleeping Bags": "warm bedroll for camping",
    "Running Shoes": "sneakers for jogging",
    "Road Bikes": "bicycle for road racing",
    "Dumbbells": "hand weights for the gym",
    "Yoga Mats": "mat for exercise classes",
    "Shampoo": "hair cleanser",
    "Sunscreen": "sun protection lotion",
    "Eau de Parfum": "fragrance for women",
    "Crime Novels": "mystery book",
    "Rain Jackets": "raincoat",
    "Headlamps": "torch you wear on your head",
    "Power Banks": "portable battery for my phone",
}
KINDS = ("title", "category", "synonym", "misspelling", "price", "description")


@dataclass(frozen=True)
class Query:
    """A query, its kind, and the item indices that answer it."""

    text: str
    kind: str
    relevant: frozenset[int]


def _misspelt(word: str, rng: np.random.Generator) -> str:
    """Two neighbouring inner letters swapped (a word of 5 letters or more)."""
    if len(word) < 5:
        return word
    at = int(rng.integers(1, len(word) - 2))
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def english_queries(items: Sequence[Item], *, per_leaf: int = 1, seed: int = 0) -> list[Query]:
    """Queries of every kind over the synthetic shop's catalogue (``items`` in index order)."""
    rng = np.random.default_rng(seed)
    by_leaf: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        if item.category_path:
            by_leaf.setdefault(item.category_path[-1], []).append(i)
    # A use may be listed by several leaves ("camping"): all their items answer it.
    by_use: dict[str, set[int]] = {}
    for name, members in by_leaf.items():
        if name in vocab.LEAF_INDEX:
            for use in vocab.LEAVES[vocab.LEAF_INDEX[name]].uses:
                by_use.setdefault(use, set()).update(members)
    out: list[Query] = []
    for name, members in sorted(by_leaf.items()):
        spec = vocab.LEAVES[vocab.LEAF_INDEX[name]] if name in vocab.LEAF_INDEX else None
        if spec is None:
            continue
        leaf = frozenset(members)
        noun = spec.nouns[0].lower()
        for _ in range(per_leaf):
            one = int(rng.choice(members))
            item = items[one]
            code = str(item.attributes.get("model", ""))
            title_noun = next((n for n in spec.nouns if n.lower() in item.title.lower()), noun)
            text = f"{item.brand} {title_noun} {code}".lower()
            out.append(Query(text, "title", frozenset({one})))
            out.append(Query(name.lower(), "category", leaf))
            if name in SYNONYMS:
                out.append(Query(SYNONYMS[name], "synonym", leaf))
            words = noun.split()
            longest = max(range(len(words)), key=lambda j: len(words[j]))
            words[longest] = _misspelt(words[longest], rng)
            out.append(Query(" ".join(words), "misspelling", leaf))
            prices = np.array([items[j].price or np.nan for j in members])
            bound = float(np.round(np.nanmedian(prices), -1 if np.nanmedian(prices) > 50 else 0))
            within = frozenset(j for j, p in zip(members, prices, strict=True) if p <= bound)
            if within:
                out.append(Query(f"{noun} under {bound:g}", "price", within))
            use = spec.uses[int(rng.integers(len(spec.uses)))]
            out.append(Query(f"something for {use}", "description", frozenset(by_use[use])))
    return out


def ndcg_at(served: Sequence[int], relevant: frozenset[int], k: int = 10) -> float:
    """NDCG@k of a served list against a set of (equally) relevant items."""
    gains = [1.0 / np.log2(r + 2.0) for r, i in enumerate(served[:k]) if i in relevant]
    ideal = sum(1.0 / np.log2(r + 2.0) for r in range(min(k, len(relevant))))
    return float(sum(gains) / ideal) if ideal > 0 else 0.0
