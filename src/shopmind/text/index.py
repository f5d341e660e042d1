"""Nearest-neighbour search over unit item vectors with FAISS: exact or HNSW, with filters.

Scores are inner products, which for unit vectors is the cosine. Row ids are insertion order,
so a row id is the item index the vectors were built from; items arriving later get the next
ids. ``benchmarks/ann.py`` measured where HNSW starts to pay (see ``EXACT_BELOW``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import faiss as _faiss
import numpy as np

# FAISS's bundled stubs lack SearchParametersHNSW, IndexHNSW.hnsw and the numpy-array
# IDSelectorBitmap constructor its Python wrappers add, so the module is used untyped.
faiss: Any = _faiss

log = logging.getLogger(__name__)

Kind = Literal["exact", "hnsw"]

#: "auto" builds an exact index below this many rows and HNSW at or above it. Measured in
#: benchmarks/results/ann.md (384-d, 2 cores, one query at a time): exact takes 0.28 ms at 10k
#: rows, 1.1 ms at 20k, 3.5 ms at 50k, 12 ms at 200k; HNSW (ef_search 128) 0.15-0.4 ms with
#: recall@10 >= 0.999, but costs 5 s to build at 20k and 67 s at 200k. Below 20k exact stays
#: near a millisecond, builds instantly and loses nothing.
EXACT_BELOW = 20_000
#: A filter letting through fewer rows than this (or than ``FILTERED_EXACT_FRACTION`` of the
#: index) is searched exactly over just those rows: a graph search would mostly visit rows the
#: filter rejects and could come back short.
FILTERED_EXACT_ROWS = 4_096
FILTERED_EXACT_FRACTION = 0.05
#: Batches smaller than this search on one OpenMP thread. FAISS would split one query's scan
#: over all cores; on a busy machine (a server answering several requests at once) waiting for
#: the slowest thread made a 50k-row exact query 5-10x slower than on one thread.
_THREADED_FROM = 16
_UNIT_TOLERANCE = 1e-3
_MANIFEST, _INDEX, _VECTORS = "manifest.json", "index.faiss", "vectors.npy"


class VectorIndex:
    """Top-k inner-product search over rows of unit float32 vectors.

    Searches may run from several threads at once; :meth:`add` must not run alongside them.
    The vectors are held twice (FAISS's copy and :attr:`vectors`, which exact re-scoring and
    selective filters read): 1.5 MB per 1,000 rows of 384 dimensions, each.
    """

    def __init__(self, index: Any, vectors: np.ndarray, kind: Kind, params: dict[str, int]):
        """Wrap a FAISS index and the vectors it holds (use :meth:`build` or :meth:`load`)."""
        assert index.ntotal == len(vectors) and index.d == vectors.shape[1]
        self._index = index
        self._kind: Kind = kind
        self.params = dict(params)
        # Our own copy (the caller's array may change), in a buffer that grows with spare room
        # so adding one item is not a full copy.
        self._buffer = np.array(vectors, dtype=np.float32, order="C")
        self._count = len(vectors)

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        *,
        kind: Literal["auto", "exact", "hnsw"] = "auto",
        hnsw_m: int = 32,
        ef_construction: int = 200,
        ef_search: int = 128,
    ) -> VectorIndex:
        """An index over ``vectors`` (n × d, unit rows); "auto" picks by ``EXACT_BELOW``."""
        rows = _check_rows(vectors, None, "vectors")
        chosen: Kind
        if kind == "auto":
            chosen = "exact" if len(rows) < EXACT_BELOW else "hnsw"
        elif kind in ("exact", "hnsw"):
            chosen = kind
        else:
            raise ValueError(f"kind must be 'auto', 'exact' or 'hnsw', got {kind!r}")
        params = {"hnsw_m": hnsw_m, "ef_construction": ef_construction, "ef_search": ef_search}
        for name, value in params.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        index = _new_faiss_index(chosen, rows.shape[1], params)
        if len(rows):
            index.add(rows)
        log.debug("built %s index over %d × %d vectors", chosen, *rows.shape)
        return cls(index, rows, chosen, params)

    def add(self, vectors: np.ndarray) -> np.ndarray:
        """Index more rows (e.g. a new catalogue item); returns their ids (the next row ids)."""
        rows = _check_rows(vectors, self.dim, "vectors")
        start, end = self._count, self._count + len(rows)
        if end > len(self._buffer):
            grown = np.empty((max(end, 2 * len(self._buffer), 16), self.dim), np.float32)
            grown[:start] = self._buffer[:start]
            self._buffer = grown
        self._buffer[start:end] = rows
        if len(rows):
            self._index.add(rows)
        self._count = end
        return np.arange(start, end, dtype=np.int64)

    # -- properties ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"VectorIndex(kind={self.kind!r}, count={len(self)}, dim={self.dim})"

    @property
    def dim(self) -> int:
        return int(self._index.d)

    @property
    def kind(self) -> Kind:
        return self._kind

    @property
    def ef_search(self) -> int:
        """Candidates an HNSW search keeps (more: better recall, slower); unused when exact."""
        return self.params["ef_search"]

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"ef_search must be a positive integer, got {value!r}")
        self.params["ef_search"] = value
        if self._kind == "hnsw":
            self._index.hnsw.efSearch = value

    @property
    def vectors(self) -> np.ndarray:
        """The indexed rows (count × dim, float32; a read-only view)."""
        view = self._buffer[: self._count]
        view.flags.writeable = False
        return view

    # -- search -------------------------------------------------------------------------------

    def search(
        self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best rows per query: (ids int64, scores float32), both q × k, best first.

        ``queries`` is q × dim (one 1-D query is taken as q = 1); they need not be unit length.
        ``allowed`` is an optional bool mask over rows; only allowed rows come back. Ties go to
        the lower id. Rows short of ``k`` results are padded with id -1 and score -inf: that
        happens only when fewer than ``k`` rows are (allowed and) indexed.
        """
        q = _check_queries(queries, self.dim)
        if not isinstance(k, int | np.integer) or k < 0:
            raise ValueError(f"k must be a non-negative integer, got {k!r}")
        k = int(k)
        ids = np.full((len(q), k), -1, dtype=np.int64)
        scores = np.full((len(q), k), -np.inf, dtype=np.float32)
        rows: np.ndarray | None = None
        if allowed is not None:
            allowed = np.asarray(allowed)
            if allowed.dtype != np.bool_ or allowed.shape != (self._count,):
                raise ValueError(
                    f"allowed must be a bool mask with one entry per indexed row "
                    f"({self._count}), got dtype {allowed.dtype} and shape {allowed.shape}"
                )
            rows = np.flatnonzero(allowed)
        available = self._count if rows is None else len(rows)
        kk = min(k, available)
        if kk == 0 or len(q) == 0:
            return ids, scores
        small = available < max(FILTERED_EXACT_ROWS, FILTERED_EXACT_FRACTION * self._count)
        if rows is not None and small:
            found_ids, found = _exact_topk(self.vectors, rows, q, kk)
        else:
            found, found_ids = self._faiss_search(q, kk, allowed if rows is not None else None)
            short = found_ids[:, kk - 1] < 0
            if short.any():  # a graph search can miss rows a filter allows; never return short
                every = np.arange(self._count) if rows is None else rows
                found_ids[short], found[short] = _exact_topk(self.vectors, every, q[short], kk)
            found_ids, found = _order(found_ids, found)
        ids[:, :kk], scores[:, :kk] = found_ids, found
        return ids, scores

    def _faiss_search(
        self, q: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        params: Any = None
        if self._kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.params["ef_search"], k))
        if allowed is not None:
            bitmap = np.packbits(allowed, bitorder="little")
            if params is None:
                params = faiss.SearchParameters()
            params.sel = faiss.IDSelectorBitmap(bitmap)  # keeps a reference to ``bitmap``
        with _threads_for(len(q)):
            scores, ids = self._index.search(q, k, params=params)
        scores[ids < 0] = -np.inf
        return scores, ids

    # -- persistence ----------------------------------------------------------------------------

    def to_array(self) -> np.ndarray:
        """The FAISS index as bytes (a uint8 array, e.g. for a model's state file; no pickle).

        The vectors are not in it: :meth:`from_array` takes them back from the caller.
        """
        out: np.ndarray = faiss.serialize_index(self._index)
        return out

    @classmethod
    def from_array(cls, data: np.ndarray, vectors: np.ndarray) -> VectorIndex:
        """An index from :meth:`to_array`'s bytes and the vectors it was built over."""
        index = faiss.deserialize_index(np.ascontiguousarray(data, dtype=np.uint8))
        rows = _check_rows(vectors, int(index.d), "vectors")
        if index.ntotal != len(rows):
            raise ValueError(f"the index holds {index.ntotal} rows, {len(rows)} vectors given")
        if isinstance(index, faiss.IndexHNSW):
            hnsw = index.hnsw
            params = {
                "hnsw_m": int(hnsw.nb_neighbors(1)),
                "ef_construction": int(hnsw.efConstruction),
                "ef_search": int(hnsw.efSearch),
            }
            return cls(index, rows, "hnsw", params)
        return cls(index, rows, "exact", {"hnsw_m": 32, "ef_construction": 200, "ef_search": 128})

    def save(self, folder: Path) -> None:
        """Write the index, its vectors (``.npy``) and a JSON manifest into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(folder / _INDEX))
        np.save(folder / _VECTORS, np.ascontiguousarray(self.vectors), allow_pickle=False)
        manifest = {"kind": self._kind, "dim": self.dim, "count": len(self), "params": self.params}
        (folder / _MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> VectorIndex:
        """Read an index written by :meth:`save`."""
        folder = Path(folder)
        path = folder / _MANIFEST
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: is {folder} a saved VectorIndex?")
        manifest = json.loads(path.read_text())
        vectors = np.load(folder / _VECTORS, allow_pickle=False)
        index = faiss.read_index(str(folder / _INDEX))
        expected = (manifest["count"], manifest["dim"])
        if vectors.shape != expected or (index.ntotal, index.d) != expected:
            raise ValueError(
                f"{folder} is inconsistent: manifest says {expected[0]} × {expected[1]}, "
                f"{_VECTORS} holds {vectors.shape}, {_INDEX} holds {index.ntotal} × {index.d}; "
                "save the index again"
            )
        if manifest["kind"] == "hnsw":
            index.hnsw.efSearch = manifest["params"]["ef_search"]
        return cls(index, vectors, manifest["kind"], manifest["params"])


def _new_faiss_index(kind: Kind, dim: int, params: dict[str, int]) -> Any:
    if kind == "exact":
        return faiss.IndexFlatIP(dim)
    index = faiss.IndexHNSWFlat(dim, params["hnsw_m"], faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = params["ef_construction"]
    index.hnsw.efSearch = params["ef_search"]
    return index


@contextmanager
def _threads_for(n_queries: int) -> Iterator[None]:
    """FAISS on one OpenMP thread for a small batch (libgomp keeps it per calling thread)."""
    if n_queries >= _THREADED_FROM:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def unit_placeholders(vectors: np.ndarray, has_text: np.ndarray | None = None) -> np.ndarray:
    """The rows as an index takes them: a blank (all-zero) row becomes a unit placeholder.

    An index wants unit rows; a blank one (an item without text) gets e_0 and the caller masks
    it out of searches.
    """
    out = np.array(vectors, dtype=np.float32)
    blank = ~(np.abs(out).sum(axis=1) > 0) if has_text is None else ~np.asarray(has_text)
    out[blank] = 0.0
    if blank.any():
        out[blank, 0] = 1.0
    return out


def _check_rows(vectors: np.ndarray, dim: int | None, name: str) -> np.ndarray:
    """``vectors`` as C-contiguous float32 n × d unit rows, or a ValueError saying what is off."""
    array = np.asarray(vectors)
    if array.ndim != 2 or array.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-D array (n × dim, dim > 0), got shape {array.shape}")
    if dim is not None and array.shape[1] != dim:
        raise ValueError(f"{name} have dimension {array.shape[1]}, the index has {dim}")
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    rows = np.ascontiguousarray(array, dtype=np.float32)
    if len(rows):
        norms = np.linalg.norm(rows, axis=1)
        bad = np.flatnonzero(~(np.abs(norms - 1.0) <= _UNIT_TOLERANCE))
        if len(bad):
            raise ValueError(
                f"{name} must be unit length (cosine search): row {bad[0]} has norm "
                f"{norms[bad[0]]:.4g} ({len(bad)} such rows); normalise them first"
            )
    return rows


def _check_queries(queries: np.ndarray, dim: int) -> np.ndarray:
    array = np.asarray(queries)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != dim:
        raise ValueError(f"queries must be q × {dim} (the index dimension), got {array.shape}")
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"queries must be numeric, got dtype {array.dtype}")
    q = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(q).all():
        raise ValueError("queries contain NaN or infinite values")
    return q


def _order(ids: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row sorted by score descending, ties to the lower id (padding -1 last)."""
    padded = np.where(ids < 0, np.iinfo(np.int64).max, ids)
    order = np.lexsort((padded, -scores), axis=-1)
    return np.take_along_axis(ids, order, 1), np.take_along_axis(scores, order, 1)


def _exact_topk(
    vectors: np.ndarray, rows: np.ndarray, q: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top ``k`` of ``q`` over ``vectors[rows]`` (rows ascending, 0 < k <= len(rows))."""
    assert 0 < k <= len(rows)
    candidates = vectors if len(rows) == len(vectors) else vectors[rows]
    # FAISS's scan keeps the lower position among equal scores, i.e. the lower id.
    with _threads_for(len(q)):
        scores, positions = faiss.knn(q, candidates, k, metric=faiss.METRIC_INNER_PRODUCT)
    return _order(rows[positions], scores)
