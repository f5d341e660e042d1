"""What a bundle holds, fitted: the chosen models, the similar items, the ranker.

1. Split the snapshot: the store's given split, else leave-last-out over the target types
   (each shopper's last target is the held-out test, the one before it validation).
2. Tune each candidate model on validation within its share of the budget; keep the models
   whose validation NDCG@10 reaches ``keep_ratio`` of the best one's.
3. Build the served pipeline over the kept models (their proposals, trending, the features).
4. Fit the scorers on the validation shoppers' slates — the blend, the logistic ranker and
   LightGBM LambdaRank — and serve the one that does best on the held-out validation
   shoppers through the whole pipeline.

The bundle serves the models fitted on the training part: its recorded validation figures
are what the engine answers on those rows, and the test rows stay held out for
``shopmind evaluate --bundle``. Nothing here reads a test row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shopmind.bundle.items import ItemTable
from shopmind.bundle.manifest import RankingSpec, SimilarBlend
from shopmind.catalog.schema import event_types
from shopmind.data.dataset import Dataset
from shopmind.data.histories import DEFAULT_EVENT_WEIGHTS
from shopmind.data.split import EvalSet, Split, as_given, leave_last_out
from shopmind.evaluation.metrics import bootstrap_ci
from shopmind.evaluation.pipeline import evaluate_pipeline, slates_for
from shopmind.models.base import Recommender
from shopmind.models.registry import make_model
from shopmind.models.similar import SimilarItems, tune_blend
from shopmind.progress import Steps
from shopmind.ranking.context import RankingContext, build_context
from shopmind.ranking.features import feature_names
from shopmind.ranking.pipeline import Pipeline
from shopmind.ranking.rules import RuleSet
from shopmind.ranking.scorers import BlendScorer, LightGBMScorer, Scorer
from shopmind.ranking.sources import Sources
from shopmind.relations.complements import Complements
from shopmind.search.index import SearchIndex
from shopmind.text.encoder import EncoderSettings, catalogue_encoder
from shopmind.training import ranker as ranking
from shopmind.training import tune
from shopmind.training.config import TrainConfig
from shopmind.training.search import fit_search

log = logging.getLogger(__name__)

#: Held-out validation shoppers below which no learned ranker is trusted over the blend.
MIN_HELD_OUT = 200
#: The budget's share for choosing the search settings on validation queries.
SEARCH_SHARE = 0.1


@dataclass
class Fitted:
    """Everything training chose, ready to be written as a bundle."""

    models: dict[str, Recommender]
    items: ItemTable
    similar: SimilarItems | None
    scorer: Scorer
    blend: dict[str, float]
    metrics: dict[str, dict[str, float]]
    similar_blend: SimilarBlend | None
    ranking: RankingSpec | None
    chosen: dict[str, Any] = field(default_factory=dict)
    #: Complements and the category graph, mined from the same events as the models.
    relations: Complements | None = None
    #: Product search: the lexical and semantic indexes and the settings chosen for them.
    search: SearchIndex | None = None


def split_for_training(data: Dataset, config: TrainConfig) -> Split | None:
    """The given split, else leave-last-out over the target types (any item event when too
    few shoppers have enough of them); None when no shopper can be validated."""
    if (data.split > 0).any():
        return as_given(data)
    split = leave_last_out(data, target_types=config.target_types or None)
    if len(split.valid) == 0:
        split = leave_last_out(data)
    return split if len(split.valid) else None


def fit_bundle(data: Dataset, config: TrainConfig, steps: Steps | None = None) -> Fitted:
    """Tune, fit and rank on ``data``; see the module's docstring."""
    config = for_language(config, data)
    budget = tune.Budget(config.budget_seconds)
    split = split_for_training(data, config) if config.validate_models else None
    if split is None:
        if config.validate_models:
            log.warning("no shopper has the 3 events validation needs: fitting the defaults")
        return _fit_unvalidated(data, config, steps)
    train, valid = split.train, split.valid
    ks = tuple(config.ks)
    names = list(config.models)
    type_names = tuple(data.type_names)
    recent = RuleSet().placement("for_you").recent
    exclusion = tune.served_exclusion(type_names, recent)
    probe = tune.sample(valid, config.max_validation_rows, config.seed)
    has_text = any(t.strip() for t in data.item_side.title)
    tuned: dict[str, tune.Tuned] = {}
    skipped: dict[str, str] = {}
    cheap = [n for n in names if n != "sasrec"]
    for name in cheap:
        if not tune.fits(name, data.n_items):
            skipped[name] = f"{data.n_items} items is more than it takes"
            continue
        _say(steps, f"tuning {name} on validation")
        share = config.budget_seconds * 0.25 / max(len(cheap), 1)
        points = tune.POINTS.get(name, [{}]) if config.tune else [{}]
        tuned[name] = tune.tune_model(
            name,
            config.models[name],
            train,
            probe,
            exclusion=exclusion,
            seconds=share,
            ks=ks,
            points=points,
        )
    if "sasrec" in names:
        left = budget.left() - config.budget_seconds * 0.2  # keep a fifth for the ranker
        if left < 60:
            skipped["sasrec"] = f"{budget.left():.0f} s of the budget left"
        else:
            _say(steps, "training sasrec on validation")
            if config.tune:
                tuned["sasrec"] = tune.tune_sasrec(
                    config.models["sasrec"],
                    train,
                    probe,
                    exclusion=exclusion,
                    seconds=left,
                    ks=ks,
                    has_text=has_text,
                )
            else:
                tuned["sasrec"] = tune.tune_model(
                    "sasrec",
                    {**config.models["sasrec"], "max_seconds": left},
                    train,
                    probe,
                    exclusion=exclusion,
                    seconds=left,
                    ks=ks,
                    points=[{}],
                )
    best = max((t.metrics["ndcg@10"] for t in tuned.values()), default=0.0)
    kept = {n: t for n, t in tuned.items() if t.metrics["ndcg@10"] >= config.keep_ratio * best}
    for n in tuned:
        if n not in kept:
            skipped[n] = (
                f"validation ndcg@10 {tuned[n].metrics['ndcg@10']:.4f} < "
                f"{config.keep_ratio:.0%} of the best ({best:.4f})"
            )
    models = {n: t.model for n, t in kept.items()}
    metrics = {n: t.metrics for n, t in kept.items()}
    _say(steps, "indexing similar items")
    similar, similar_blend = _similar(models, train.n_items, probe)
    items = ItemTable.from_dataset(train)
    arrays = items.arrays()
    ctx = build_context(models, arrays, similar, type_names, DEFAULT_EVENT_WEIGHTS)
    sources = Sources.of(models, config.per_source, config.trending)
    names_order = tuple(sources.names())
    columns = feature_names(names_order)
    blend = ranking.blend_scorer({n: metrics[n]["ndcg@10"] for n in models}, columns)
    pipeline = Pipeline(sources, blend, RuleSet(), names_order)
    rows = tune.sample(valid, config.max_ranker_rows, config.seed + 1)
    fit_rows, held = ranking.holdout_split(rows, config.holdout_share, config.seed)
    _say(steps, f"ranking: the features of {len(fit_rows) + len(held)} validation shoppers")
    t0 = time.perf_counter()
    k = max(ks)
    fit_slates = slates_for(pipeline, ctx, items.ids, fit_rows, k, "features")
    held_slates = slates_for(pipeline, ctx, items.ids, held, k, "features")
    train_rows = ranking.ranker_rows(fit_slates, fit_rows)
    held_rows = ranking.ranker_rows(held_slates, held)
    feature_seconds = time.perf_counter() - t0
    scorers: dict[str, Scorer] = {"blend": blend}
    if train_rows.n_groups and held_rows.n_groups and config.scorer != "blend":
        _say(steps, "ranking: fitting the learned rankers")
        if config.scorer in ("auto", "logistic"):
            scorers["logistic"] = ranking.fit_logistic(train_rows, columns, seed=config.seed)
        if config.scorer in ("auto", "lightgbm"):
            scorers["lightgbm"] = ranking.fit_lightgbm(
                train_rows, held_rows, columns, seed=config.seed
            )
    _say(steps, "ranking: each scorer on the held-out validation shoppers")
    served_metrics: dict[str, dict[str, float]] = {}
    per_row: dict[str, np.ndarray] = {}
    for kind, candidate in scorers.items():
        pipeline.scorer = candidate
        result = evaluate_pipeline(pipeline, ctx, items.ids, held, ks)
        per_row[kind] = result.per_row["ndcg@10"]
        served_metrics[kind] = {
            f"{m}@{x}": round(result.metrics[f"{m}@{x}"], 4) for x in ks for m in ("recall", "ndcg")
        } | {"rows": float(len(held))}
    gains = {k: gain_over(per_row[k], per_row["blend"]) for k in per_row if k != "blend"}
    wanted = config.scorer if config.scorer != "auto" else choose_scorer(gains, len(held))
    scorer: Scorer = scorers.get(wanted, blend)
    metrics["blend"] = served_metrics["blend"]
    metrics["served"] = served_metrics[scorer.kind]
    importances = scorer.importances() if isinstance(scorer, LightGBMScorer) else {}
    chosen = {
        "params": {n: t.params for n, t in kept.items()},
        "trials": {n: t.trials for n, t in tuned.items()},
        "tuning_seconds": {n: round(t.seconds, 1) for n, t in tuned.items()},
        "dropped": skipped,
        "holdout": {"share": config.holdout_share, "seed": config.seed, "rows": len(held)},
        "gain_over_blend": gains,
        "ranker_groups": {
            "training": int(train_rows.n_groups),
            "held_out": int(held_rows.n_groups),
        },
        "feature_seconds": round(feature_seconds, 1),
        "budget_seconds": config.budget_seconds,
        "seconds": round(budget.spent(), 1),
    }
    spec = RankingSpec(
        scorer=scorer.kind,
        per_source=dict(sources.per_source),
        feature_sources=list(names_order),
        metrics=served_metrics,
        importances=importances,
        chosen=chosen,
    )
    weights = dict(blend.weights)
    relations = _relations(train, config, ctx, steps)
    search = _search(train, valid, ctx, items, weights, config, steps)
    return Fitted(
        models,
        items,
        similar,
        scorer,
        weights,
        metrics,
        similar_blend,
        spec,
        chosen,
        relations,
        search,
    )


#: The models that read item text through an encoder (their params take ``encoder``).
TEXT_MODELS = ("content", "sasrec")


def for_language(config: TrainConfig, data: Dataset) -> TrainConfig:
    """The config with the multilingual encoder for the text models that name none, when the
    catalogue is Chinese and no encoder is set for the installation (see
    :func:`~shopmind.text.encoder.catalogue_encoder`)."""
    chosen = catalogue_encoder(data.item_side.title)
    if chosen == EncoderSettings.from_env():
        return config
    models = {
        name: (
            {**params, "encoder": chosen.model_dump()}
            if name in TEXT_MODELS and "encoder" not in params
            else params
        )
        for name, params in config.models.items()
    }
    log.info("the catalogue is Chinese: text models encode with %s", chosen.model)
    return config.model_copy(update={"models": models})


def gain_over(ours: np.ndarray, baseline: np.ndarray) -> dict[str, float]:
    """The mean per-shopper NDCG@10 gain over the baseline on the same rows, with the 90%
    percentile-bootstrap interval of that mean."""
    diff = np.asarray(ours, np.float64) - np.asarray(baseline, np.float64)
    diff = diff[np.isfinite(diff)]
    low, high = bootstrap_ci(diff, samples=1000, level=0.9) if len(diff) else (0.0, 0.0)
    mean = float(diff.mean()) if len(diff) else 0.0
    return {"mean": round(mean, 5), "low": round(low, 5), "high": round(high, 5)}


def choose_scorer(gains: Mapping[str, Mapping[str, float]], held_out: int) -> str:
    """The scorer with the best mean NDCG@10 on the held-out validation shoppers; the blend
    unless a learned ranker beats it there, and always below :data:`MIN_HELD_OUT` shoppers
    (too few to tell rankers apart)."""
    if held_out < MIN_HELD_OUT:
        return "blend"
    better = {kind: g["mean"] for kind, g in gains.items() if g["mean"] > 0}
    return max(better, key=lambda kind: better[kind]) if better else "blend"


def _fit_unvalidated(data: Dataset, config: TrainConfig, steps: Steps | None) -> Fitted:
    """No validation possible (or asked for): each model's defaults on the whole snapshot,
    blended with equal weights."""
    models: dict[str, Recommender] = {}
    for name, params in config.models.items():
        if name == "sasrec" or not tune.fits(name, data.n_items):
            continue  # without validation the sequential model cannot stop early
        _say(steps, f"fitting {name}")
        models[name] = make_model(name, **params).fit(data)
    similar, _ = _similar(models, data.n_items, None)
    weights = {n: 1.0 / len(models) for n in models}
    sources = Sources.of(models, config.per_source, config.trending)
    scorer: Scorer = BlendScorer(weights, feature_names(tuple(sources.names())))
    spec = RankingSpec(
        scorer="blend",
        per_source=dict(sources.per_source),
        feature_sources=list(sources.names()),
        chosen={"validated": False},
    )
    items = ItemTable.from_dataset(data)
    ctx = build_context(models, items.arrays(), similar, data.type_names, DEFAULT_EVENT_WEIGHTS)
    relations = _relations(data, config, ctx, steps)
    search = _search(data, None, ctx, items, weights, config, steps)
    return Fitted(
        models,
        items,
        similar,
        scorer,
        weights,
        {},
        None,
        spec,
        {"validated": False},
        relations,
        search,
    )


def _relations(
    data: Dataset, config: TrainConfig, ctx: RankingContext, steps: Steps | None
) -> Complements | None:
    """Complements and the category graph of the events the models were fitted on."""
    if config.relations is None:
        return None
    _say(steps, "mining complements and the category graph")
    text = ctx.text_rows(np.arange(data.n_items)) if ctx.text is not None else None
    return Complements.build(data, config.relations, text)


def _search(
    data: Dataset,
    valid: EvalSet | None,
    ctx: RankingContext,
    items: ItemTable,
    weights: Mapping[str, float],
    config: TrainConfig,
    steps: Steps | None,
) -> SearchIndex | None:
    """The search indexes of the catalogue the models were fitted on, tuned on validation."""
    if config.search is None:
        return None
    _say(steps, "search: indexing the catalogue and choosing its settings on validation")
    return fit_search(
        data,
        valid,
        ctx,
        items.ids,
        weights,
        config.search,
        seed=config.seed,
        seconds=config.budget_seconds * SEARCH_SHARE,
    )


def _similar(
    models: Mapping[str, Recommender], n_items: int, valid: Any
) -> tuple[SimilarItems | None, SimilarBlend | None]:
    """The similar-items index from the models' text vectors and item similarity, its blend
    weight chosen on validation when both are there."""
    vectors = next((v for m in models.values() if (v := m.text_vectors()) is not None), None)
    co = next((s for m in models.values() if (s := m.item_similarity()) is not None), None)
    if vectors is None and co is None:
        return None, None
    if vectors is None:  # no text: the index holds placeholders only, co-interaction answers
        vectors = np.zeros((n_items, 1), dtype=np.float32)
    similar = SimilarItems.build(vectors, co)
    if valid is None or co is None or co.nnz == 0 or not similar.has_text.any():
        return similar, None
    best, by_weight = tune_blend(similar, valid)
    similar.blend = best
    scores = {str(w): round(v, 4) for w, v in by_weight.items()}
    return similar, SimilarBlend(weight=best, ndcg_by_weight=scores)


def context_of(fitted: Fitted, type_names: tuple[str, ...] | None = None) -> RankingContext:
    """The ranking context of freshly fitted parts (as an engine would build it)."""
    return build_context(
        fitted.models,
        fitted.items.arrays(),
        fitted.similar,
        type_names or event_types(),
        DEFAULT_EVENT_WEIGHTS,
        fitted.relations,
    )


def _say(steps: Steps | None, text: str) -> None:
    if steps is not None:
        steps.step(text)
    else:
        log.info(text)
