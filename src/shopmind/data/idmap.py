"""The one boundary between a shop's ids and the dense integers models use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


class IdMap:
    """External id (str) ↔ dense index (0..n-1), in insertion order. Unknown ids map to -1."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._ids: list[str] = []
        self._index: dict[str, int] = {}
        self.extend(ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, external: object) -> bool:
        return external in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and self._ids == other._ids

    def __repr__(self) -> str:
        return f"IdMap({len(self)} ids)"

    def extend(self, ids: Iterable[str]) -> None:
        """Append ids not yet known; known ids keep their index."""
        for external in ids:
            if external not in self._index:
                self._index[external] = len(self._ids)
                self._ids.append(external)

    def index(self, external: str) -> int:
        """The index of one id, or -1 when unknown."""
        return self._index.get(external, -1)

    def indices(self, ids: Iterable[str | None]) -> np.ndarray:
        """Indices of many ids as int64; unknown (or None) ids give -1."""
        get = self._index.get
        return np.fromiter((get(x, -1) if x is not None else -1 for x in ids), dtype=np.int64)

    def id(self, index: int) -> str:
        return self._ids[index]

    def ids(self, indices: Sequence[int] | np.ndarray | None = None) -> list[str]:
        """External ids of the given indices (all ids when None)."""
        if indices is None:
            return list(self._ids)
        return [self._ids[int(i)] for i in indices]

    def to_list(self) -> list[str]:
        """JSON-ready form (the index of an id is its position)."""
        return list(self._ids)

    @classmethod
    def from_list(cls, ids: Sequence[str]) -> IdMap:
        mapping = cls(ids)
        if len(mapping) != len(ids):
            raise ValueError("an IdMap list must not repeat ids")
        return mapping
