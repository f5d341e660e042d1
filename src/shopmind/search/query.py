"""What a search query asks for: price bounds, brands and categories, and the words left.

``parse_query("canon cameras under $500", vocabulary)`` reads a price bound ("under 50",
"below $30", "between 10 and 20", "$10 to $20", "over 100", "50元以内", "100块以下",
"200元以上", "10到20元"), the catalogue's brands and category names the query mentions (matched
as whole stemmed words, the longest name first, so "camera bags" is the category Camera Bags,
not Cameras), and keeps the rest as the text retrieval reads. A brand mention becomes a brand
filter. Category mentions become a category filter only when the query says nothing but
one category, brands and a price ("running shoes under 50"): in "bag for my camera" (Bags and
Cameras) the words say which bag, so they stay words to match, not a filter.

The :class:`Interpretation` is returned with the results and shown in the storefront.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shopmind.search.tokens import STOP_WORDS, STOP_WORDS_ZH, stem, words

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_CUR = r"(?:[$€£¥￥]|us\$)?"
_UNIT = r"(?:\s*(?:dollars?|euros?|pounds?|usd|eur|gbp|bucks|rmb|元|块钱|块|rmb))?"
_ZH_UNIT = r"\s*(?:元|块钱|块|rmb)?"
_UNITS = r"(?:dollars?|euros?|pounds?|usd|eur|gbp|bucks)"
_BELOW = r"(?:under|below|less than|cheaper than|up to|at most|max(?:imum)?|no more than)"
_ABOVE = r"(?:over|above|more than|at least|min(?:imum)?|from)"
_TO = r"\s*(?:-|to|~)\s*"
#: (pattern, which bound each number group sets), tried in order on the folded query.
_PRICE_PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(p), groups)
    for p, groups in (
        (
            rf"\bbetween\s*{_CUR}\s*{_NUMBER}{_UNIT}\s*(?:and|to|-)\s*{_CUR}\s*{_NUMBER}{_UNIT}",
            ("min", "max"),
        ),
        (rf"{_CUR}\s*{_NUMBER}{_UNIT}{_TO}{_CUR}\s*{_NUMBER}\s*{_UNITS}\b", ("min", "max")),
        (rf"[$€£¥￥]\s*{_NUMBER}{_TO}[$€£¥￥]?\s*{_NUMBER}", ("min", "max")),
        (rf"{_NUMBER}{_ZH_UNIT}\s*(?:到|至|-|~)\s*{_NUMBER}\s*(?:元|块钱|块)", ("min", "max")),
        (rf"\b{_BELOW}\s*{_CUR}\s*{_NUMBER}{_UNIT}", ("max",)),
        (rf"(?:不超过|低于|少于|不到|小于)\s*{_NUMBER}{_ZH_UNIT}", ("max",)),
        (rf"{_NUMBER}{_ZH_UNIT}\s*(?:以内|以下|之内|内)的?", ("max",)),
        (rf"\b{_ABOVE}\s*{_CUR}\s*{_NUMBER}{_UNIT}", ("min",)),
        (rf"(?:超过|高于|不低于|大于)\s*{_NUMBER}{_ZH_UNIT}", ("min",)),
        (rf"{_NUMBER}{_ZH_UNIT}\s*(?:以上|起)的?", ("min",)),
        (r"<\s*[$€£¥￥]?\s*(\d+(?:[.,]\d+)?)", ("max",)),
        (r">\s*[$€£¥￥]?\s*(\d+(?:[.,]\d+)?)", ("min",)),
    )
)


@dataclass(frozen=True)
class Vocabulary:
    """The catalogue's brand and category names, as stemmed word sequences."""

    #: Stemmed words of a name -> the name as the catalogue spells it.
    brands: dict[tuple[str, ...], str]
    categories: dict[tuple[str, ...], str]
    #: Category name -> the names above it in some item's path (to keep the deepest).
    ancestors: dict[str, frozenset[str]]

    @classmethod
    def build(cls, brands: Iterable[str], paths: Iterable[Sequence[str]]) -> Vocabulary:
        brand_map: dict[tuple[str, ...], str] = {}
        for name in brands:
            key = _key(name)
            if key and name.strip():
                brand_map.setdefault(key, name.strip())
        cats: dict[tuple[str, ...], str] = {}
        above: dict[str, set[str]] = {}
        for path in paths:
            for depth, name in enumerate(path):
                key = _key(name)
                if key:
                    cats.setdefault(key, name)
                    above.setdefault(name, set()).update(path[:depth])
        return cls(brand_map, cats, {k: frozenset(v) for k, v in above.items()})

    @classmethod
    def empty(cls) -> Vocabulary:
        return cls({}, {}, {})


@dataclass
class Interpretation:
    """What the query was read as."""

    query: str
    #: The words retrieval matches (the query without its price phrase).
    text: str
    min_price: float | None = None
    max_price: float | None = None
    brands: list[str] = field(default_factory=list)
    #: Categories the query names; ``category_filter`` says whether they became a filter.
    categories: list[str] = field(default_factory=list)
    category_filter: bool = False
    #: Misspelt words and the catalogue words they were read as.
    corrected: dict[str, str] = field(default_factory=dict)
    #: Parts of the interpretation dropped because nothing passed them.
    relaxed: list[str] = field(default_factory=list)

    @property
    def has_filters(self) -> bool:
        return bool(
            self.brands
            or self.category_filter
            or self.min_price is not None
            or self.max_price is not None
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "text": self.text,
            "min_price": self.min_price,
            "max_price": self.max_price,
            "brands": self.brands,
            "categories": self.categories,
            "category_filter": self.category_filter,
            "corrected": self.corrected,
            "relaxed": self.relaxed,
            "summary": self.summary(),
        }

    def summary(self) -> str:
        """One line a shopper can read: "camera · brand Canon · under 500"."""
        parts = [self.text.strip() or self.query.strip()]
        if self.brands:
            parts.append("brand " + " or ".join(self.brands))
        if self.category_filter and self.categories:
            parts.append("in " + " or ".join(self.categories))
        low, high = self.min_price, self.max_price
        if low is not None and high is not None:
            parts.append(f"{_money(low)} to {_money(high)}")
        elif high is not None:
            parts.append(f"up to {_money(high)}")
        elif low is not None:
            parts.append(f"from {_money(low)}")
        if self.corrected:
            parts.append("read " + ", ".join(f"{a} as {b}" for a, b in self.corrected.items()))
        if self.relaxed:
            parts.append("nothing matched " + " and ".join(self.relaxed) + ", so dropped")
        return " · ".join(p for p in parts if p)


def parse_query(query: str, vocabulary: Vocabulary | None = None) -> Interpretation:
    """Read ``query``; see the module's docstring."""
    folded = query.casefold().strip()
    low: float | None = None
    high: float | None = None
    rest = folded
    for pattern, groups in _PRICE_PATTERNS:
        found = pattern.search(rest)
        if found is None:
            continue
        values = [float(g.replace(",", ".")) for g in found.groups()]
        for bound, value in zip(groups, values, strict=True):
            if bound == "min" and low is None:
                low = value
            elif bound == "max" and high is None:
                high = value
        rest = (rest[: found.start()] + " " + rest[found.end() :]).strip()
        if low is not None and high is not None:
            break
    if low is not None and high is not None and low > high:
        low, high = high, low
    rest = re.sub(r"\s+", " ", rest).strip()
    out = Interpretation(query=query, text=rest, min_price=low, max_price=high)
    vocab = vocabulary or Vocabulary.empty()
    stems = [stem(w) for w in words(rest)]
    content = [not (w in STOP_WORDS or w in STOP_WORDS_ZH) for w in words(rest)]
    covered = [not c for c in content]
    out.brands = _mentions(stems, vocab.brands, covered)
    found_categories = _mentions(stems, vocab.categories, covered)
    # The deepest names: a mentioned category above another mentioned one says less.
    deepest = [
        c
        for c in found_categories
        if not any(c in vocab.ancestors.get(other, ()) for other in found_categories)
    ]
    out.categories = deepest
    out.category_filter = len(deepest) == 1 and all(covered)
    return out


def _mentions(
    stems: list[str], names: dict[tuple[str, ...], str], covered: list[bool]
) -> list[str]:
    """Names whose stemmed words occur in order in ``stems``, longest first, not overlapping
    an earlier (longer) match; marks the words they cover in ``covered``."""
    if not names or not stems:
        return []
    longest = max(len(k) for k in names)
    taken = [False] * len(stems)
    found: list[str] = []
    for size in range(min(longest, len(stems)), 0, -1):
        for start in range(len(stems) - size + 1):
            if any(taken[start : start + size]):
                continue
            name = names.get(tuple(stems[start : start + size]))
            if name is None:
                continue
            for j in range(start, start + size):
                taken[j] = covered[j] = True
            if name not in found:
                found.append(name)
    return found


def _key(name: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in words(name) if w not in STOP_WORDS and w not in STOP_WORDS_ZH)


def _money(value: float) -> str:
    return f"{value:g}"
