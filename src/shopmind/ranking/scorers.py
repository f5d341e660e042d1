"""Scorers: a candidate's features in, one score out (higher first).

- :class:`BlendScorer`: each source's normalised score times its weight, summed — the blend
  shopmind served first, kept as the baseline the learned rankers must beat;
- :class:`LogisticScorer`: σ(W·x + b) over the standardised features;
- :class:`LightGBMScorer`: a LightGBM LambdaRank model, saved as LightGBM's own text model.

Each saves into a folder as JSON (and the LightGBM text file): no pickle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

SCORER_FILE = "scorer.json"
LIGHTGBM_FILE = "lightgbm.txt"


class Scorer(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def names(self) -> tuple[str, ...]: ...

    def score(self, features: np.ndarray) -> np.ndarray: ...

    def save(self, folder: Path) -> None: ...


def scored_by(scorer: Any, names: Sequence[str], features: np.ndarray) -> np.ndarray:
    """The scorer's scores of these feature rows, read by name: a scorer fitted on some
    columns reads those, in its order, whatever else the features hold (another feature
    family computed beside them, as a research ablation does). A scorer without names reads
    the rows as they are."""
    wanted = getattr(scorer, "names", None)
    if wanted is None or tuple(wanted) == tuple(names):
        out: np.ndarray = scorer.score(features)
        return out
    index = {n: j for j, n in enumerate(names)}
    missing = [n for n in wanted if n not in index]
    if missing:
        raise ValueError(f"the scorer reads features the slate lacks: {', '.join(missing[:5])}")
    picked: np.ndarray = scorer.score(features[:, [index[n] for n in wanted]])
    return picked


@dataclass(frozen=True)
class BlendScorer:
    """Σ weight(source) × normalised score(source)."""

    weights: Mapping[str, float]
    names: tuple[str, ...]
    kind: str = "blend"

    def _vector(self) -> np.ndarray:
        w = np.zeros(len(self.names), np.float32)
        for j, name in enumerate(self.names):
            source, _, part = name.rpartition(".")
            if part == "norm":
                w[j] = float(self.weights.get(source, 0.0))
        return w

    def score(self, features: np.ndarray) -> np.ndarray:
        x = np.nan_to_num(features, nan=0.0)
        return np.asarray(x @ self._vector(), np.float32)

    def save(self, folder: Path) -> None:
        _write(folder, {"kind": self.kind, "names": list(self.names), "weights": self.weights})


@dataclass(frozen=True)
class LogisticScorer:
    """σ(W·x + b) over features standardised with the training mean and scale."""

    names: tuple[str, ...]
    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    kind: str = "logistic"

    def _standard(self, features: np.ndarray) -> np.ndarray:
        x = np.where(np.isnan(features), self.mean[None, :], features)
        return np.asarray((x - self.mean) / self.scale, np.float32)

    def score(self, features: np.ndarray) -> np.ndarray:
        z = self._standard(features) @ self.coef + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)), np.float32)

    def save(self, folder: Path) -> None:
        _write(
            folder,
            {
                "kind": self.kind,
                "names": list(self.names),
                "coef": self.coef.tolist(),
                "intercept": self.intercept,
                "mean": self.mean.tolist(),
                "scale": self.scale.tolist(),
            },
        )


class LightGBMScorer:
    """A LightGBM ranker (LambdaRank), read from and written to LightGBM's text format."""

    def __init__(self, booster: Any, names: Sequence[str], info: Mapping[str, Any]) -> None:
        self.booster = booster
        self._names = tuple(names)
        self.info = dict(info)

    @property
    def kind(self) -> str:
        return "lightgbm"

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def score(self, features: np.ndarray) -> np.ndarray:
        if not len(features):
            return np.zeros(0, np.float32)
        return np.asarray(self.booster.predict(features, num_threads=1), np.float32)

    def importances(self) -> dict[str, float]:
        """Each feature's share of the total gain of the model's splits."""
        gain = np.asarray(self.booster.feature_importance(importance_type="gain"), np.float64)
        total = float(gain.sum()) or 1.0
        return {name: round(float(g) / total, 4) for name, g in zip(self.names, gain, strict=True)}

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / LIGHTGBM_FILE))
        _write(folder, {"kind": self.kind, "names": list(self.names), "info": self.info})


def load_scorer(folder: Path) -> BlendScorer | LogisticScorer | LightGBMScorer:
    """A scorer saved by any of the classes above."""
    meta = json.loads((folder / SCORER_FILE).read_text())
    names = tuple(meta["names"])
    if meta["kind"] == "blend":
        return BlendScorer({k: float(v) for k, v in meta["weights"].items()}, names)
    if meta["kind"] == "logistic":
        return LogisticScorer(
            names,
            np.asarray(meta["coef"], np.float32),
            float(meta["intercept"]),
            np.asarray(meta["mean"], np.float32),
            np.asarray(meta["scale"], np.float32),
        )
    if meta["kind"] == "lightgbm":
        import lightgbm

        booster = lightgbm.Booster(model_file=str(folder / LIGHTGBM_FILE))
        return LightGBMScorer(booster, names, meta.get("info", {}))
    raise ValueError(f"{folder}: unknown scorer kind {meta['kind']!r}")


def _write(folder: Path, meta: Mapping[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SCORER_FILE).write_text(json.dumps(meta, indent=2) + "\n")
