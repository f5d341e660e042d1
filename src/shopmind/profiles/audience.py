"""Item audiences: the shoppers most likely to buy an item next, for campaigns.

The bundle's models run in reverse: each model that declares ``audiences`` scores one item for
every shopper at once (item-kNN: the shoppers' histories times the similarity column of the
item; content: the shoppers' interest vectors against the item's text), each model's scores
are scaled by their largest, and blended with the bundle's validation weights. Each shopper in
an audience says why: the history item that leads to the item most, or the closeness of their
interests to its text. The state is the shoppers' histories at training time.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from shopmind.data.histories import Histories
from shopmind.models.base import Recommender

USERS_FILE, STATE_FILE = "users.json", "state.npz"


@dataclass(frozen=True)
class Member:
    user_id: str
    score: float
    #: Each model's share of the blended score.
    sources: dict[str, float]
    reason: str


@dataclass
class Audience:
    """The shoppers (rows) and what each reversible model needs of their histories."""

    users: list[str]
    histories: Histories
    states: dict[str, Any]
    weights: dict[str, float]

    @classmethod
    def build(
        cls,
        users: Sequence[str],
        histories: Histories,
        models: Mapping[str, Recommender],
        weights: Mapping[str, float],
    ) -> Audience:
        states = {
            name: model.audience_state(histories)
            for name, model in models.items()
            if model.capabilities.audiences
        }
        used = {n: float(weights.get(n, 0.0)) for n in states}
        if not any(used.values()):  # no weights for them: each counts alike
            used = dict.fromkeys(states, 1.0)
        return cls(list(users), histories, states, used)

    def scores(self, item: int, models: Mapping[str, Recommender]) -> dict[str, np.ndarray]:
        """Each reversible model's score of ``item`` for every shopper (NaN: it cannot)."""
        out = {}
        for name, state in self.states.items():
            model = models.get(name)
            if model is None or item >= model.n_items:
                continue
            out[name] = model.audience_scores(state, item)
        return out

    def rank(
        self, item: int, models: Mapping[str, Recommender], k: int, titles: Any = None
    ) -> list[Member]:
        """The ``k`` shoppers most likely to want ``item``, best first (ties to the lower row)."""
        per = self.scores(item, models)
        blended, shares = blend(per, self.weights, len(self.users))
        order = np.lexsort((np.arange(len(blended)), -blended))
        order = order[blended[order] > 0][:k]
        return [
            Member(
                user_id=self.users[r],
                score=round(float(blended[r]), 6),
                sources={n: round(float(s[r]), 4) for n, s in shares.items() if s[r] > 0},
                reason=self._reason(int(r), item, models, shares, titles),
            )
            for r in order.tolist()
        ]

    def _reason(
        self,
        row: int,
        item: int,
        models: Mapping[str, Recommender],
        shares: Mapping[str, np.ndarray],
        titles: Any,
    ) -> str:
        # The concrete evidence first: a history item that leads to this one, when a model
        # that relates items put the shopper here at all.
        related = [
            n for n in shares if shares[n][row] > 0 and models[n].item_similarity() is not None
        ]
        lead = max(related, key=lambda n: shares[n][row]) if related else None
        similarity = models[lead].item_similarity() if lead else None
        if similarity is not None:
            past = self.histories.row(row)
            past = past[(past >= 0) & (past < similarity.shape[0])]
            if len(past):
                weight = np.asarray(similarity[past][:, [item]].toarray()).ravel()
                best = int(past[int(np.argmax(weight))])
                name = titles(best) if titles else str(best)
                return f"they chose {name}, which shoppers choose with it"
        return "their interests are close to its text"

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            "indptr": self.histories.indptr, "items": self.histories.items,
            "types": self.histories.types, "timestamps": self.histories.timestamps,
            "weights": self.histories.weights,
        }  # fmt: skip
        kinds = {}
        for name, state in self.states.items():
            if sp.issparse(state):
                csr = sp.csr_matrix(state)
                arrays[f"{name}.data"], arrays[f"{name}.indices"] = csr.data, csr.indices
                arrays[f"{name}.indptr"], arrays[f"{name}.shape"] = csr.indptr, np.array(csr.shape)
                kinds[name] = "csr"
            else:  # interest vectors: half precision halves the file and the memory
                arrays[f"{name}.dense"] = np.asarray(state, np.float16)
                kinds[name] = "dense"
        np.savez(folder / STATE_FILE, **arrays)  # type: ignore[arg-type]
        meta = {"users": self.users, "kinds": kinds, "weights": self.weights}
        (folder / USERS_FILE).write_text(json.dumps(meta) + "\n")

    @classmethod
    def load(cls, folder: Path) -> Audience:
        meta = json.loads((folder / USERS_FILE).read_text())
        with np.load(folder / STATE_FILE, allow_pickle=False) as a:
            got = {k: a[k] for k in a.files}
        histories = Histories(
            got["indptr"], got["items"], got["types"], got["timestamps"], got["weights"]
        )
        states: dict[str, Any] = {}
        for name, kind in meta["kinds"].items():
            if kind == "csr":
                shape = tuple(int(x) for x in got[f"{name}.shape"])
                states[name] = sp.csr_matrix(
                    (got[f"{name}.data"], got[f"{name}.indices"], got[f"{name}.indptr"]), shape
                )
            else:
                states[name] = got[f"{name}.dense"].astype(np.float32)
        return cls(
            meta["users"], histories, states, {k: float(v) for k, v in meta["weights"].items()}
        )


def blend(
    per: Mapping[str, np.ndarray], weights: Mapping[str, float], n: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each model's scores scaled by their largest (negatives and NaN count 0), weighted and
    summed; and each model's part of the sum."""
    parts: dict[str, np.ndarray] = {}
    for name, s in per.items():
        v = np.nan_to_num(np.asarray(s, np.float64), nan=0.0)
        v = np.maximum(v, 0.0)
        top = float(v.max()) if len(v) else 0.0
        if top > 0:
            parts[name] = weights.get(name, 0.0) * v / top
    total = np.zeros(n)
    for v in parts.values():
        total += v
    return total, parts
