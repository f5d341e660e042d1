"""A bundle's search part: the lexical index, the semantic index and the chosen settings.

Written by ``shopmind train`` into the bundle's ``search/`` folder; the engine loads it and
keeps both indexes current with the live catalogue (items posted after training are
searchable at once).
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from shopmind.data.dataset import ItemSide
from shopmind.search.fusion import SearchSettings
from shopmind.search.lexical import LexicalIndex
from shopmind.search.query import Vocabulary
from shopmind.search.semantic import SemanticIndex
from shopmind.text.encoder import EncoderNotFound, EncoderSettings

log = logging.getLogger(__name__)

_FILE = "settings.json"


class SearchIndex:
    """Lexical and (when the catalogue has text and an encoder is here) semantic retrieval."""

    def __init__(
        self,
        lexical: LexicalIndex,
        semantic: SemanticIndex | None,
        settings: SearchSettings | None = None,
        chosen: dict[str, object] | None = None,
    ) -> None:
        self.lexical = lexical
        self.semantic = semantic
        self.settings = settings or SearchSettings(
            sides=("lexical", "semantic") if semantic is not None else ("lexical",)
        )
        #: What training measured on validation queries to choose the settings.
        self.chosen = dict(chosen or {})
        self._vocabulary: tuple[ItemSide, Vocabulary] | None = None
        self._lock = threading.Lock()

    @classmethod
    def build(
        cls,
        side: ItemSide,
        encoder: EncoderSettings | None = None,
        *,
        semantic: bool = True,
        progress: bool = False,
    ) -> SearchIndex:
        """Both indexes over ``side``; the semantic one only when some item has text."""
        lexical = LexicalIndex.build(side)
        vectors: SemanticIndex | None = None
        if semantic and any(t.strip() for t in side.title):
            try:
                vectors = SemanticIndex.build(side, encoder, progress=progress)
            except EncoderNotFound as exc:
                log.warning("search: lexical only (%s)", exc)
        return cls(lexical, vectors)

    def vocabulary(self, side: ItemSide) -> Vocabulary:
        """The catalogue's brand and category names (rebuilt when the catalogue changed)."""
        cached = self._vocabulary
        if cached is not None and cached[0] is side:
            return cached[1]
        with self._lock:
            built = Vocabulary.build(set(side.brand), {tuple(p) for p in side.category})
            self._vocabulary = (side, built)
        return built

    def catch_up(
        self, side: ItemSide, write_lock: AbstractContextManager[object] | None = None
    ) -> None:
        """Index the items of ``side`` posted since (both sides): the new texts are encoded
        first, then both indexes grow under ``write_lock`` (no search reads them meanwhile)."""
        if len(side.title) <= self.lexical.n_items and (
            self.semantic is None or len(side.title) <= self.semantic.n_items
        ):
            return
        semantic = self.semantic
        start = semantic.n_items if semantic is not None else 0
        vectors = semantic.encode_new(side) if semantic is not None else None
        with write_lock or nullcontext():
            self.lexical.catch_up(side)
            if semantic is not None and vectors is not None:
                # Another catch-up may have indexed some of them meanwhile.
                semantic.add(vectors[semantic.n_items - start :])

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.lexical.save(folder / "lexical")
        if self.semantic is not None:
            self.semantic.save(folder / "semantic")
        meta = {"settings": self.settings.model_dump(mode="json"), "chosen": self.chosen}
        (folder / _FILE).write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> SearchIndex:
        meta = json.loads((folder / _FILE).read_text())
        semantic = (
            SemanticIndex.load(folder / "semantic") if (folder / "semantic").is_dir() else None
        )
        return cls(
            LexicalIndex.load(folder / "lexical"),
            semantic,
            SearchSettings.model_validate(meta["settings"]),
            meta.get("chosen", {}),
        )
