"""Fit, tune on validation, report test: the loop behind `shopmind evaluate` and the benchmarks."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from shopmind.catalog.formats import read_benchmark
from shopmind.data.dataset import Dataset
from shopmind.data.split import Split, as_given
from shopmind.evaluation.evaluator import EvalResult, evaluate
from shopmind.models.base import Holdout
from shopmind.models.registry import make_model
from shopmind.progress import Steps
from shopmind.training.config import PROTOCOL_KS

log = logging.getLogger(__name__)

#: Whether each benchmark format's published protocol removes history items from the ranking.
PROTOCOL_MASKS_HISTORY = {"unisrec": False, "lcrec": False, "s3rec": True}

Grid = Mapping[str, Sequence[Any]]

#: Small validation grids for the classic models (the benchmark tunes over these). A list is
#: the union of its grids. ``seen`` is left out where the protocol already removes history
#: items from the ranking.
GRIDS: dict[str, Grid | list[Grid]] = {
    "pop": {},
    "itemknn": [
        {
            "neighbors": [100, 500],
            "shrink": [20.0, 100.0, 300.0],
            "recency_decay": [0.0, 0.2, 0.5],
            "alpha": [0.5, 0.7],
            "seen": ["keep", "demote"],
        },
        {
            "window": [3, 10],
            "backward": [0.5],
            "neighbors": [500],
            "shrink": [10.0, 100.0],
            "recency_decay": [0.5, 1.0],
            "alpha": [0.5, 0.7],
            "seen": ["keep", "demote"],
        },
    ],
    "userknn": {
        "neighbors": [50, 200],
        "shrink": [0.0, 10.0],
        "recency_decay": [0.0, 0.3],
        "seen": ["keep", "demote"],
    },
    "ease": {
        "l2": [50.0, 100.0, 300.0, 1000.0],
        "recency_decay": [0.0, 0.2],
        "seen": ["keep", "demote"],
    },
    "content": {
        "recency_decay": [0.3, 1.0],
        "interests": [1, 3],
        "whiten": [0, 256],
        "seen": ["keep", "demote"],
    },
    "als": {
        "factors": [64, 128],
        "regularization": [0.05, 0.5],
        "alpha": [2.0, 10.0],
        "seen": ["keep", "demote"],
    },
    # Each trial trains for minutes: few points. Ids only here (Beauty has no text);
    # benchmarks/sequential.py runs the text-aware settings per dataset.
    "sasrec": {"dim": [64, 128], "seen": ["demote"]},
}


@dataclass(frozen=True)
class ModelRun:
    """One model's outcome on one split: its chosen parameters and both evaluations."""

    name: str
    params: dict[str, Any]
    valid: EvalResult
    test: EvalResult
    train_seconds: float
    trials: list[dict[str, Any]] = field(default_factory=list)


def load_benchmark_split(path: str | Path) -> tuple[Split, bool, str]:
    """The given split of a benchmark folder, whether its protocol masks history, and its name."""
    data = read_benchmark(path)
    dataset = Dataset.from_columns(data.items, data.users, data.events)
    return as_given(dataset), PROTOCOL_MASKS_HISTORY[data.format], data.name


def grid_points(grid: Grid | Sequence[Grid]) -> list[dict[str, Any]]:
    """Every parameter combination of a grid (or of each grid of a list, in order)."""
    if not isinstance(grid, Mapping):
        return [point for part in grid for point in grid_points(part)]
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def run_model(
    name: str,
    split: Split,
    *,
    mask_history: bool,
    ks: tuple[int, ...] = PROTOCOL_KS,
    grid: Grid | Sequence[Grid] | None = None,
    fixed: Mapping[str, Any] | None = None,
    select_by: str = "ndcg@10",
    bootstrap: int = 0,
    progress: Callable[[str], None] | None = None,
) -> ModelRun:
    """Fit every grid point on train, keep the best on validation, and report it on test."""
    points = grid_points(grid or {})
    if mask_history:  # the protocol already removes history items
        points = [{k: v for k, v in p.items() if k != "seen"} for p in points]
        points = [dict(p) for p in dict.fromkeys(tuple(p.items()) for p in points)]
    trials: list[dict[str, Any]] = []
    best: tuple[float, dict[str, Any], Any, EvalResult, float] | None = None
    for point in points:
        params = {**(fixed or {}), **point}
        start = time.perf_counter()
        # Models trained by epochs watch the validation rows to stop early (others ignore them).
        model = make_model(name, **params).fit(split.train, Holdout(split.valid, mask_history))
        seconds = time.perf_counter() - start
        valid = evaluate(model, split.valid, ks=ks, mask_history=mask_history)
        value = valid.metrics[select_by]
        trials.append({"params": params, select_by: value, "train_seconds": seconds})
        if progress:
            progress(f"{name} {params}: valid {select_by} {value:.4f} ({seconds:.1f}s)")
        if best is None or value > best[0]:
            best = (value, params, model, valid, seconds)
    assert best is not None
    _, params, model, valid, seconds = best
    test = evaluate(model, split.test, ks=ks, mask_history=mask_history, bootstrap=bootstrap)
    return ModelRun(name, params, valid, test, seconds, trials)


def summary_row(run: ModelRun, ks: tuple[int, ...] = PROTOCOL_KS) -> dict[str, Any]:
    """The benchmark JSON row of one model: test metrics, train time, chosen parameters."""
    row: dict[str, Any] = {}
    for k in ks:
        row[f"recall@{k}"] = round(run.test.metrics[f"recall@{k}"], 4)
        row[f"ndcg@{k}"] = round(run.test.metrics[f"ndcg@{k}"], 4)
    if run.test.ci:
        row["ci95"] = {
            m: [round(x, 4) for x in run.test.ci[m]] for m in list(row) if m in run.test.ci
        }
    row["train_seconds"] = round(run.train_seconds, 2)
    row["params"] = run.params
    return row


def evaluate_models(
    split: Split,
    names: Sequence[str],
    *,
    ks: tuple[int, ...] = PROTOCOL_KS,
    mask_history: bool = False,
    tune: bool = False,
    bootstrap: int = 0,
    console: Console | None = None,
) -> dict[str, dict[str, Any]]:
    """Fit each model on train (tuning on validation if asked) and summarise its test result."""
    results: dict[str, dict[str, Any]] = {}
    with Steps(console, total=len(names)) as steps:
        for name in names:
            steps.step(f"{name}: {'tuning, ' if tune else ''}fitting and evaluating")
            run = run_model(
                name,
                split,
                mask_history=mask_history,
                ks=ks,
                grid=GRIDS.get(name, {}) if tune else {},
                bootstrap=bootstrap,
                progress=steps.beat,
            )
            results[name] = summary_row(run, ks)
            steps.advance()
    return results
