"""Lexical retrieval: BM25 over an item's title, brand, category path and description (bm25s).

Fields are weighted the BM25F way, by repeating a field's terms in the item's document
(:data:`FIELD_WEIGHTS`: a word of the title counts three times one of the description). The
index is bm25s's sparse matrix of precomputed term scores, so one query costs a sum over its
terms' postings (well under a millisecond on 100k items).

Typos: a query term the catalogue does not hold is read as the catalogue term closest to it by
optimal-string-alignment distance (a swap of two letters costs one) — at most one edit for
words of 5 to 8 letters, two from 9 — preferring the commoner term; a shorter word (where one
edit makes another common word: "take" is not "bake"), a number or a Chinese word is never
corrected.

Items posted after training are searchable at once: they get a small second index of their
own (rebuilt when more arrive, milliseconds for a few hundred), whose scores stand beside
the main index's until the next training folds them in.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shopmind.data.dataset import ItemSide
from shopmind.search.tokens import has_cjk, tokens

#: How many times each field's terms count in an item's document.
FIELD_WEIGHTS = {"title": 3, "brand": 2, "category": 2, "description": 1}
#: BM25's term-frequency saturation and length normalisation.
K1, B = 1.2, 0.75
#: Characters of a description read (the rest says little and costs memory).
DESCRIPTION_CHARS = 1000
_FILE = "lexical.json"


def item_terms(side: ItemSide, i: int) -> list[str]:
    """The terms of item ``i``'s document, each field's repeated by its weight."""
    fields = {
        "title": side.title[i],
        "brand": side.brand[i],
        "category": " ".join(side.category[i]),
        "description": side.description[i][:DESCRIPTION_CHARS],
    }
    out: list[str] = []
    for name, text in fields.items():
        if text:
            out += tokens(text) * FIELD_WEIGHTS[name]
    return out


def _bm25(documents: Sequence[list[str]]):  # type: ignore[no-untyped-def]
    import bm25s

    index = bm25s.BM25(k1=K1, b=B)
    # An empty document would leave bm25s without a row for the item: give it a blank term.
    index.index([d if d else ["\x00"] for d in documents], show_progress=False)
    return index


class LexicalIndex:
    """BM25 over the catalogue (see the module's docstring)."""

    def __init__(self, index: object, n: int, vocabulary: dict[str, int]) -> None:
        self._index = index
        self.n_indexed = n
        #: Term -> document frequency (for the typo reader's tie-breaks).
        self.vocabulary = vocabulary
        self._by_length: dict[int, list[str]] = {}
        for term in vocabulary:
            self._by_length.setdefault(len(term), []).append(term)
        self._tail: tuple[object, int] | None = None
        self._tail_docs: list[list[str]] = []
        self._lock = threading.Lock()

    @classmethod
    def build(cls, side: ItemSide) -> LexicalIndex:
        docs = [item_terms(side, i) for i in range(len(side.title))]
        return cls(_bm25(docs), len(docs), _frequencies(docs))

    @property
    def n_items(self) -> int:
        return self.n_indexed + len(self._tail_docs)

    # --- catching up with the live catalogue ------------------------------------------------

    def catch_up(self, side: ItemSide) -> None:
        """Index the items of ``side`` past those indexed (posted after training)."""
        n = len(side.title)
        if n <= self.n_items:
            return
        with self._lock:
            if n <= self.n_items:
                return
            docs = self._tail_docs + [item_terms(side, i) for i in range(self.n_items, n)]
            tail = _bm25(docs)
            self._tail_docs = docs
            self._tail = (tail, len(docs))
            for term, count in _frequencies(docs[-(n - self.n_indexed) :]).items():
                if term not in self.vocabulary:
                    self._by_length.setdefault(len(term), []).append(term)
                self.vocabulary[term] = self.vocabulary.get(term, 0) + count

    # --- queries ----------------------------------------------------------------------------

    def correct(self, terms: Sequence[str]) -> tuple[list[str], dict[str, str]]:
        """The terms with misspellings read as catalogue terms, and what was read as what."""
        out: list[str] = []
        fixed: dict[str, str] = {}
        for term in terms:
            if term in self.vocabulary or not _correctable(term):
                out.append(term)
                continue
            best = self._closest(term)
            if best is None:
                out.append(term)
            else:
                out.append(best)
                fixed[term] = best
        return out, fixed

    def _closest(self, term: str) -> str | None:
        from rapidfuzz.distance import OSA

        limit = 1 if len(term) < 9 else 2
        best: tuple[int, int, str] | None = None
        for size in range(len(term) - limit, len(term) + limit + 1):
            for candidate in self._by_length.get(size, ()):
                d = OSA.distance(term, candidate, score_cutoff=limit)
                if d > limit:
                    continue
                key = (d, -self.vocabulary[candidate], candidate)
                if best is None or key < best:
                    best = key
        return None if best is None else best[2]

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 of every item (float32, 0 where no term matches)."""
        out = np.zeros(self.n_items, np.float32)
        wanted = [t for t in terms if t in self.vocabulary]
        if not wanted:
            return out
        out[: self.n_indexed] = self._index.get_scores(wanted)  # type: ignore[attr-defined]
        tail = self._tail
        if tail is not None:
            out[self.n_indexed : self.n_indexed + tail[1]] = tail[0].get_scores(wanted)  # type: ignore[attr-defined]
        return out

    # --- the bundle ---------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._index.save(str(folder / "bm25"))  # type: ignore[attr-defined]
        meta = {"n": self.n_indexed, "fields": FIELD_WEIGHTS, "k1": K1, "b": B}
        (folder / _FILE).write_text(json.dumps(meta) + "\n")
        (folder / "vocabulary.json").write_text(json.dumps(self.vocabulary, ensure_ascii=False))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        meta = json.loads((folder / _FILE).read_text())
        vocabulary = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
        index = bm25s.BM25.load(str(folder / "bm25"))
        return cls(index, int(meta["n"]), {str(k): int(v) for k, v in vocabulary.items()})


def _frequencies(docs: Sequence[list[str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for doc in docs:
        for term in set(doc):
            out[term] = out.get(term, 0) + 1
    return out


def _correctable(term: str) -> bool:
    return len(term) >= 5 and term.isalpha() and not has_cjk(term)
