"""A bundle's search part: the lexical index, the semantic index and the chosen settings.

Written by ``shopmind train`` into the bundle's ``search/`` folder; the engine loads it and
keeps both indexes current with the live catalogue (items posted after training are
searchable at once).
"""

from __future__ import annotations

import json
import logging
import threading
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
        self._vocabulary: tuple[int, Vocabulary] | None = None
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
        key = id(side)
        cached = self._vocabulary
        if cached is not None and cached[0] == key:
            return cached[1]
        with self._lock:
            built = Vocabulary.build(set(side.brand), {tuple(p) for p in side.category})
            self._vocabulary = (key, built)
        return built

    def catch_up(self, side: ItemSide) -> None:
        """Index items posted since (both sides)."""
        self.lexical.catch_up(side)
        if self.semantic is not None:
            self.semantic.catch_up(side)

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
