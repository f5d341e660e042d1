"""The one protocol every recommender follows, and the top-k every caller shares.

A model scores items from a shopper's HISTORY (never from a user id learned at training time),
so the next click changes the next answer and a brand-new shopper is served like any other.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, TypeVar

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict

from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.data.split import EvalSet

_T = TypeVar("_T")

FORMAT_VERSION = 1


class ModelConfig(BaseModel):
    """Hyper-parameters of a model: typed, validated, and round-trippable through JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: What to do with items already in the shopper's history. "keep" scores them like any
    #: other item; "demote" ranks them below every other item (they stay in the ranking), for
    #: shops where shoppers rarely come back to an item. Validation decides.
    seen: Literal["keep", "demote"] = "keep"


class NotFittedError(RuntimeError):
    pass


@dataclass(frozen=True)
class Capabilities:
    """What a model can do beyond scoring histories."""

    #: Items posted after training get scores from their text (:meth:`add_item_vectors`).
    takes_new_items: bool = False
    #: It holds one text vector per item (:meth:`text_vectors`), for similar items.
    text_vectors: bool = False
    #: It holds an item-item similarity (:meth:`item_similarity`), for similar items.
    item_similarity: bool = False
    #: It scores one item for many shoppers at once (:meth:`audience_state` and
    #: :meth:`audience_scores`): the model run in reverse, for item audiences.
    audiences: bool = False


@dataclass(frozen=True)
class Holdout:
    """Rows kept out of training that a model may watch while it trains, to stop early.

    A split's validation rows, with its protocol's rule on history items. Models trained in
    one pass ignore it.
    """

    rows: EvalSet
    mask_history: bool = False


class Recommender(ABC):
    """Base of every model: ``fit`` on a Dataset, then ``score`` batches of histories."""

    name: ClassVar[str]
    config_class: ClassVar[type[ModelConfig]]
    _memo: tuple[Any, Any] | None = None

    def __init__(self, config: ModelConfig | None = None, **params: Any) -> None:
        if config is not None and params:
            raise TypeError("pass either a config object or keyword parameters, not both")
        self.config = config if config is not None else self.config_class(**params)
        if not isinstance(self.config, self.config_class):
            raise TypeError(f"{self.name} takes a {self.config_class.__name__}")
        self.n_items = 0
        self._fitted = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    def fit(self, data: Dataset, holdout: Holdout | None = None) -> Self:
        """Learn from a training snapshot; returns self.

        ``holdout``: rows a model trained by epochs may watch to stop early (never trained on).
        """
        self.n_items = data.n_items
        if holdout is None:
            self._fit(data)
        else:
            self._fit_watching(data, holdout)
        self._fitted = True
        return self

    def is_fitted(self) -> bool:
        return self._fitted

    def score(self, histories: Histories, items: np.ndarray | None = None) -> np.ndarray:
        """Scores as float32: (rows × n_items), or (rows × len(items)) for the given items.

        Higher is better. An item index the model does not know (-1 or past its catalogue)
        scores NaN; history items it does not know are ignored.
        """
        if not self._fitted:
            raise NotFittedError(f"{self.name}: call fit() (or load a saved model) first")
        known = (histories.items >= 0) & (histories.items < self.n_items)
        if not known.all():
            histories = _drop_unknown(histories, known)
        if items is not None:
            items = np.asarray(items, dtype=np.int64)
            valid = (items >= 0) & (items < self.n_items)
            part = self._score_items(histories, items[valid])
            if part is not None:  # the model scores just these items (cheaper than all)
                part = np.asarray(part, dtype=np.float32)
                assert part.shape == (len(histories), int(valid.sum())), part.shape
                if self.config.seen == "demote":
                    seen = exclusion_matrix(histories, self.n_items)[:, items[valid]].tocoo()
                    part[seen.row, seen.col] = np.finfo(np.float32).min
                out = np.full((len(histories), len(items)), np.nan, dtype=np.float32)
                out[:, valid] = part
                return out
        full = np.asarray(self._score(histories), dtype=np.float32)
        assert full.shape == (len(histories), self.n_items), full.shape
        if self.config.seen == "demote":
            seen = exclusion_matrix(histories, self.n_items).tocoo()
            full[seen.row, seen.col] = np.finfo(np.float32).min
        if items is None:
            return full
        out = np.full((len(histories), len(items)), np.nan, dtype=np.float32)
        out[:, valid] = full[:, items[valid]]
        return out

    def candidates(
        self, histories: Histories, n: int, allowed: np.ndarray | None = None
    ) -> np.ndarray | None:
        """A shortcut to the items this model ranks first, without scoring the whole catalogue.

        (rows × m) item indices holding each row's top ``n`` among ``allowed`` items (a bool
        mask over the model's items), possibly more, -1 where short. None (the default): the
        model has no shortcut, and a caller takes the top of :meth:`score` instead. History
        items the model does not know (posted after training) are ignored, as in :meth:`score`.
        """
        if not self._fitted:
            raise NotFittedError(f"{self.name}: call fit() (or load a saved model) first")
        known = (histories.items >= 0) & (histories.items < self.n_items)
        if not known.all():
            histories = _drop_unknown(histories, known)
        return self._candidates(histories, n, allowed)

    def _candidates(
        self, histories: Histories, n: int, allowed: np.ndarray | None
    ) -> np.ndarray | None:
        """:meth:`candidates` over histories of known items only; None: no shortcut."""
        return None

    @abstractmethod
    def _fit(self, data: Dataset) -> None: ...

    # --- what a model can do beyond scoring, declared per config ----------------------------

    @property
    def capabilities(self) -> Capabilities:
        """What this model, with its config, can do beyond scoring (a test holds every model
        and config to it)."""
        return Capabilities()

    @property
    def encoder(self) -> Any | None:
        """The text encoder's settings a model that takes new items reads their text with."""
        return None

    def add_item_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """Append items posted after training by their encoder embeddings; their indices.

        Only for a model whose :attr:`capabilities` say ``takes_new_items``.
        """
        raise NotImplementedError(
            f"{self.name} with this config takes no new items (capabilities: {self.capabilities})"
        )

    def text_vectors(self) -> np.ndarray | None:
        """One text vector per item (a zero row: no text), when the model holds them."""
        return None

    def item_similarity(self) -> sp.csr_matrix | None:
        """The items × items co-interaction similarity, when the model holds one."""
        return None

    def audience_state(self, histories: Histories) -> Any:
        """What :meth:`audience_scores` needs of these shoppers' histories, computed once.

        Only for a model whose :attr:`capabilities` say ``audiences``.
        """
        raise NotImplementedError(f"{self.name} does not score items in reverse")

    def audience_scores(self, state: Any, item: int) -> np.ndarray:
        """Every shopper's score (float32, one per row of the histories the state was made
        from) for one item: column ``item`` of :meth:`score`, without scoring the rest."""
        raise NotImplementedError(f"{self.name} does not score items in reverse")

    def _fit_watching(self, data: Dataset, holdout: Holdout) -> None:
        """Fit while watching held-out rows; models that do not stop early just fit."""
        self._fit(data)

    @abstractmethod
    def _score(self, histories: Histories) -> np.ndarray: ...

    def _remembered(self, histories: Histories, compute: Callable[[], _T]) -> _T:
        """``compute()`` for these histories, kept for the next call with the same ones.

        A server asks a model for its candidates and then for the scores of the union, both
        from one request's history: what both need (a profile, a sparse product) is computed
        once. One entry; a model forgets it when its items change (:meth:`_forget`).
        """
        tag = (
            self.n_items,
            histories.indptr.tobytes(),
            histories.items.tobytes(),
            histories.weights.tobytes(),
        )
        memo = self._memo
        if memo is not None and memo[0] == tag:
            return memo[1]  # type: ignore[no-any-return]
        value = compute()
        self._memo = (tag, value)  # one assignment: safe with concurrent readers
        return value

    def _forget(self) -> None:
        self._memo = None

    def _score_items(self, histories: Histories, items: np.ndarray) -> np.ndarray | None:
        """Scores of just ``items`` (rows × len(items)) when the model can do that for less
        than scoring every item; None (the default): :meth:`score` scores all and picks."""
        return None

    # --- persistence: config.json + state.npz, never pickle -------------------------------

    @abstractmethod
    def _state(self) -> dict[str, np.ndarray]:
        """The fitted arrays that :meth:`_set_state` needs to rebuild the model."""

    @abstractmethod
    def _set_state(self, state: dict[str, np.ndarray]) -> None: ...

    def save(self, path: str | Path) -> Path:
        """Write the model to a directory (created if needed)."""
        if not self._fitted:
            raise NotFittedError(f"{self.name}: nothing to save before fit()")
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT_VERSION,
            "model": self.name,
            "n_items": self.n_items,
            "config": self.config.model_dump(mode="json"),
        }
        np.savez(folder / "state.npz", **self._state())  # type: ignore[arg-type]
        (folder / "model.json").write_text(json.dumps(meta, indent=2) + "\n")
        return folder

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """Read a model saved by :meth:`save` (any registered model when called on the base)."""
        from shopmind.models.registry import model_class

        folder = Path(path)
        meta_file = folder / "model.json"
        if not meta_file.exists():
            raise FileNotFoundError(f"{folder}: no model.json here; is this a saved model folder?")
        meta = json.loads(meta_file.read_text())
        klass = model_class(meta["model"]) if cls is Recommender else cls
        model = klass(klass.config_class.model_validate(meta["config"]))
        with np.load(folder / "state.npz", allow_pickle=False) as arrays:
            model._set_state({k: arrays[k] for k in arrays.files})
        model.n_items = int(meta["n_items"])
        model._fitted = True
        return model


def known_only(histories: Histories, n_items: int) -> Histories:
    """The histories without the items a model of ``n_items`` does not know (as scoring
    drops them)."""
    known = (histories.items >= 0) & (histories.items < n_items)
    return histories if known.all() else _drop_unknown(histories, known)


def _drop_unknown(histories: Histories, known: np.ndarray) -> Histories:
    row = np.repeat(np.arange(len(histories)), histories.lengths)[known]
    lengths = np.bincount(row, minlength=len(histories))
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return Histories(
        indptr,
        histories.items[known],
        histories.types[known],
        histories.timestamps[known],
        histories.weights[known],
    )


def sparse_state(prefix: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    """A CSR matrix as plain arrays for ``state.npz``."""
    m = sp.csr_matrix(matrix)
    return {
        f"{prefix}_data": m.data,
        f"{prefix}_indices": m.indices,
        f"{prefix}_indptr": m.indptr,
        f"{prefix}_shape": np.asarray(m.shape, dtype=np.int64),
    }


def sparse_from_state(prefix: str, state: dict[str, np.ndarray]) -> sp.csr_matrix:
    shape = tuple(int(x) for x in state[f"{prefix}_shape"])
    return sp.csr_matrix(
        (state[f"{prefix}_data"], state[f"{prefix}_indices"], state[f"{prefix}_indptr"]),
        shape=shape,
    )


# --- the shared top-k and exclusion -------------------------------------------------------


def first_allowed(order: np.ndarray, n: int, allowed: np.ndarray) -> np.ndarray:
    """The first ``n`` items of a ranking ``order`` that ``allowed`` (a bool mask; items past
    its end are not allowed) lets through: a walk down the order in growing steps, so a mask
    that allows few items walks further and one that allows most reads little."""
    found: list[np.ndarray] = []
    count, start, step = 0, 0, max(4 * n, 1_024)
    while count < n and start < len(order):
        chunk = order[start : start + step]
        chunk = chunk[chunk < len(allowed)]
        found.append(chunk[allowed[chunk]])
        count += len(found[-1])
        start, step = start + step, 4 * step
    return np.concatenate(found or [order[:0]])[:n].astype(np.int64)


def exclusion_matrix(histories: Histories, n_items: int) -> sp.csr_matrix:
    """Rows × items, 1 where the item is anywhere in that row's history, whatever the event
    (a dismissed item is left out of a ranking as surely as a purchased one)."""
    known = histories.items >= 0
    rows = np.repeat(np.arange(len(histories)), histories.lengths)[known]
    m = sp.csr_matrix(
        (np.ones(int(known.sum()), np.float32), (rows, histories.items[known])),
        shape=(len(histories), n_items),
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def mask_scores(scores: np.ndarray, exclude: sp.csr_matrix | None) -> np.ndarray:
    """Set excluded cells to -inf and NaN scores (unscorable items) to -inf, in place."""
    np.nan_to_num(scores, copy=False, nan=-np.inf)
    if exclude is not None and exclude.nnz:
        coo = exclude.tocoo()
        scores[coo.row, coo.col] = -np.inf
    return scores


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` items per row, best first; ties go to the lower item index.

    Items scored -inf are never returned: a row may come back with fewer than ``k`` items,
    padded with index -1 and score -inf.
    """
    scores = np.atleast_2d(scores)
    n_rows, n_items = scores.shape
    k = min(k, n_items)
    ids = np.full((n_rows, k), -1, dtype=np.int64)
    best = np.full((n_rows, k), -np.inf, dtype=np.float32)
    if k == 0:
        return ids, best
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(scores, part, axis=1).min(axis=1)
    for r in range(n_rows):
        row = scores[r]
        above = np.flatnonzero(row > kth[r])
        tied = np.flatnonzero(row == kth[r])[: k - len(above)]
        chosen = np.concatenate([above, tied])
        chosen = chosen[row[chosen] > -np.inf]
        order = np.lexsort((chosen, -row[chosen]))
        ids[r, : len(chosen)] = chosen[order]
        best[r, : len(chosen)] = row[chosen[order]]
    return ids, best


def recommend(
    model: Recommender,
    histories: Histories,
    k: int,
    *,
    exclude_history: bool = False,
    exclude: sp.csr_matrix | None = None,
    candidates: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k item indices and scores per history row, through the shared exclusion code."""
    scores = model.score(histories)
    if candidates is not None:
        allowed = np.zeros(model.n_items, dtype=bool)
        allowed[np.asarray(candidates, dtype=np.int64)] = True
        scores[:, ~allowed] = -np.inf
    if exclude_history:
        seen = exclusion_matrix(histories, model.n_items)
        exclude = seen if exclude is None else (seen + exclude).tocsr()
    return top_k(mask_scores(scores, exclude), k)
