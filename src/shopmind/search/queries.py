"""Queries built from what shoppers bought, for validation and the semi-synthetic protocol.

The product-search literature without real query logs (HEM, Ai et al. 2017; ZAM and TEM after
it) builds each purchase's query from the purchased item's category path: the words of every
level, stop words removed, each word once ("Industrial & Scientific > Lab & Scientific Products
> Lab Instruments" → "industrial scientific lab products instruments"). The target is the
purchased item, the shopper's history before it the context, and the whole catalogue is
ranked. :func:`category_query` builds that query; :func:`title_query` a shorter, specific
one from the item's title (a shopper who knows what they want), which training mixes in so
the personal weight is not chosen on ambiguous queries alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shopmind.search.tokens import STOP_WORDS, STOP_WORDS_ZH, words

#: Title words a specific query keeps.
TITLE_WORDS = 3


def _content(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOP_WORDS and w not in STOP_WORDS_ZH]


def category_query(path: Sequence[str]) -> str:
    """The HEM query of an item with this category path ("" without one)."""
    return " ".join(dict.fromkeys(w for level in path for w in _content(level)))


def title_query(title: str, rng: np.random.Generator) -> str:
    """Up to :data:`TITLE_WORDS` distinct words of the title, in the title's order."""
    found = list(dict.fromkeys(w for w in _content(title) if not w.isdigit()))
    if len(found) <= TITLE_WORDS:
        return " ".join(found)
    keep = np.sort(rng.choice(len(found), TITLE_WORDS, replace=False))
    return " ".join(found[i] for i in keep)
