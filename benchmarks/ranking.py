"""Issue #13's acceptance measurements: what `shopmind train` builds on the real splits, and why.

    .venv/bin/python benchmarks/ranking.py                    # amazon-scientific, amazon-beauty
    .venv/bin/python benchmarks/ranking.py --datasets amazon-beauty [--budget 25m]
    .venv/bin/python benchmarks/ranking.py --skip-train --home DIR [--parts ablation,rules]
    .venv/bin/python benchmarks/ranking.py --self-check       # a tiny synthetic shop, minutes

Datasets are folder names under $SHOPMIND_DATASETS (default ../shared/datasets) or folder paths.
For each, in a fresh SHOPMIND_HOME (``--home DIR``/NAME, else a new temporary folder, kept so
that ``--skip-train --home DIR`` can re-run the analysis):

1. **The product path**, as a user runs it, as subprocesses of the real CLI: ``shopmind import
   benchmark FOLDER``, ``shopmind train`` (no hand-set hyper-parameters; ``--budget`` only when
   given here), ``shopmind evaluate --bundle active --bootstrap 1000 --json FILE``. Each step's
   wall time, peak RSS (``wait4``) and load averages before and after; the served test metrics
   with their 95% intervals against the acceptance bars.
2. **Research on that same bundle** (it never changes the bundle), through the engine's own
   pipeline over the store's split as training took it:
   ``gain``: per-row NDCG@10 of the served scorer against each single source and the blend over
   the same candidates, exclusion and rules (test rows; the best single source is the one with
   the best *validation* NDCG@10); ``recall``: the share of test targets the union of the
   sources' proposals holds at several N per source; ``importances``: the manifest's LightGBM
   gain shares; ``ablation``: LightGBM refitted on the ranker's training rows with feature
   families removed, the logistic ranker and the blend, on the held-out validation shoppers;
   ``rules``: the default rules against diversity off and MMR, on the held-out validation
   shoppers (NDCG@10, R@10, intra-list diversity, category coverage, near-duplicates).

Writes benchmarks/results/ranking.md and ranking.json (``--results DIR``), merged per dataset.
Wall times are single runs on a shared machine: the load averages are stated beside them.
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from machine import machine_summary
from shopmind.bundle import Bundle, BundleStore
from shopmind.catalog.formats import detect_format
from shopmind.catalog.store import Store
from shopmind.config import HOME_ENV, OLD_STORE_ENV, STORE_ENV
from shopmind.data.dataset import Dataset
from shopmind.data.split import EvalSet
from shopmind.engine import Engine

# The one place that maps snapshot item indices to a bundle's (private, but it is the rule
# `shopmind evaluate --bundle` applies, so the research rows are exactly its rows).
from shopmind.evaluation.bundle import in_bundle_ids
from shopmind.evaluation.metrics import bootstrap_ci
from shopmind.evaluation.pipeline import requests_for, score_served, served_lists, slates_for
from shopmind.evaluation.report import write_json
from shopmind.evaluation.runner import PROTOCOL_MASKS_HISTORY
from shopmind.ranking import BlendScorer, Pipeline, RuleSet, Sources, parse_rules
from shopmind.ranking.context import RankingContext
from shopmind.ranking.features import ITEM, PAIR
from shopmind.ranking.slate import Slate
from shopmind.ranking.sources import TRENDING
from shopmind.training import ranker as ranking
from shopmind.training.fit import split_for_training
from shopmind.training.snapshot import snapshot
from shopmind.training.tune import sample

HERE = Path(__file__).parent
RESULTS = HERE / "results"
DATASETS_ENV = "SHOPMIND_DATASETS"
DEFAULT_ROOT = HERE.parent.parent / "shared" / "datasets"
DEFAULT_DATASETS = "amazon-scientific,amazon-beauty"
SHOPMIND = [sys.executable, "-c", "from shopmind.cli import app; app()"]
#: What `shopmind evaluate` reports (the published protocols' cutoffs), and its intervals.
KS = (10, 50)
BOOTSTRAP = 1000
TRAIN_LIMIT_SECONDS = 30 * 60
#: Issue #13's bars on the served test figures: metric -> (its name in the protocol, bar).
BARS: dict[str, dict[str, tuple[str, float]]] = {
    "amazon-scientific": {"recall@10": ("R@10", 0.1450), "ndcg@10": ("N@10", 0.1000)},
    "amazon-beauty": {"recall@10": ("HR@10", 0.0970), "ndcg@10": ("N@10", 0.0590)},
}
#: Published test rows (full ranking, the dataset's protocol): model -> metrics, source.
REFERENCES: dict[str, list[tuple[str, dict[str, float], str]]] = {
    "amazon-scientific": [
        (
            "VQ-Rec (text-based, pre-trained)",
            {"recall@10": 0.1211, "ndcg@10": 0.0643, "recall@50": 0.2369, "ndcg@50": 0.0897},
            "VQ-Rec paper, WWW 2023 (datasets README)",
        ),
        (
            "MISSRec (text + ID + image, pre-trained)",
            {"recall@10": 0.1360, "ndcg@10": 0.0753, "recall@50": 0.2431, "ndcg@50": 0.0983},
            "MISSRec paper, MM 2023 (datasets README)",
        ),
    ],
    "amazon-beauty": [
        (
            "SASRec (RecBole)",
            {"recall@10": 0.0901, "ndcg@10": 0.0539},
            "RecBole measured on this machine (docs/sequential.md)",
        ),
        ("BSARec", {"recall@10": 0.1008, "ndcg@10": 0.0611}, "its authors' log, on a GPU"),
        ("ICLRec", {"recall@10": 0.0744, "ndcg@10": 0.0403}, "ICLRec paper (datasets README)"),
        (
            "SASRec, full cross-entropy",
            {"recall@10": 0.0830, "ndcg@10": 0.0415},
            "re-run reported with DuoRec (datasets README)",
        ),
    ],
}
PARTS = ("gain", "recall", "importances", "ablation", "rules")
#: Items each source proposes in the candidate-recall part (trending keeps its own).
CANDIDATE_NS = (10, 25, 50, 100, 200)
MMR = (0.2, 0.4)
#: Rows whose features are held at once (each a few hundred candidates × the features).
CHUNK_ROWS = 2_000
#: Two served items with at least this text cosine are near-duplicates (the collapse default).
NEAR_DUPLICATE = 0.95
TEXT_FEATURES = ("text.max", "text.last", "text.mean")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --- 1. the product path ---------------------------------------------------------------------


def run_cli(name: str, args: Sequence[str], home: Path) -> dict[str, Any]:
    """One `shopmind ...` subprocess with ``home`` as its SHOPMIND_HOME; its wall time, peak
    RSS and the load averages around it. Its output goes to ``home/logs/NAME.log``."""
    env = {**os.environ, HOME_ENV: str(home), "COLUMNS": "160"}
    env.pop(STORE_ENV, None)
    env.pop(OLD_STORE_ENV, None)
    log = home / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"  shopmind {' '.join(args)}  (output: {log})", flush=True)
    before = load_average()
    start = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen([*SHOPMIND, *args], stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)  # wait4: this child's own peak RSS
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"`shopmind {' '.join(args)}` exited with {child.returncode}; see {log}")
    step = {
        "command": "shopmind " + " ".join(args),
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "load_before": before,
        "load_after": load_average(),
    }
    print(f"    {step['seconds']} s, peak RSS {step['peak_rss_mib']} MiB", flush=True)
    return step


def product_path(folder: Path, home: Path, budget: str | None) -> dict[str, Any]:
    """Import, train and evaluate exactly as a user does; the record is kept in the home."""
    result = home / "evaluate.json"
    train = ["train"] + (["--budget", budget] if budget else [])
    evaluate = ["evaluate", "--bundle", "active", "--bootstrap", str(BOOTSTRAP)]
    steps = {
        "import": run_cli("import", ["import", "benchmark", str(folder)], home),
        "train": run_cli("train", train, home),
        "evaluate": run_cli("evaluate", [*evaluate, "--json", str(result)], home),
    }
    test = json.loads(result.read_text())
    record = {"steps": steps, "test": test, "bundle": test["bundle"], "budget": budget}
    write_json(home / "product.json", record)
    return record


def acceptance(label: str, product: Mapping[str, Any]) -> dict[str, Any]:
    """Each bar of the issue, and whether the served test figures and the training time meet
    it (a dataset without bars is held to the time only)."""
    test = product["test"]
    checks = []
    for metric, (name, bar) in BARS.get(label, {}).items():
        value = float(test[metric])
        checks.append({"what": f"{name} ≥ {bar:.4f}", "value": value, "pass": value >= bar})
    seconds = float(product["steps"]["train"]["seconds"])
    limit = TRAIN_LIMIT_SECONDS
    checks.append(
        {"what": f"train ≤ {limit // 60} min", "value": seconds, "pass": seconds <= limit}
    )
    return {"checks": checks, "pass": all(c["pass"] for c in checks)}


# --- 2. research on the same bundle ----------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """The bundle, its engine, and the store's split as training took it (the bundle's ids)."""

    bundle: Bundle
    engine: Engine
    valid: EvalSet
    test: EvalSet
    #: What the bundle's models were fitted on (the split's training part, the store's ids).
    train: Dataset | None = None

    @property
    def pipeline(self) -> Pipeline:
        return self.engine.recommendations

    @property
    def ctx(self) -> RankingContext:
        return self.engine.context()


@contextmanager
def opened(home: Path) -> Iterator[Opened]:
    """The home's active bundle loaded as `shopmind evaluate --bundle` loads it."""
    before = os.environ.get(HOME_ENV)
    os.environ[HOME_ENV] = str(home)
    store = Store(f"sqlite:///{home / 'shopmind.sqlite'}")
    try:
        bundle = BundleStore(home).active()
        if bundle is None:
            raise SystemExit(f"{home}: no active bundle; run without --skip-train first")
        mark = bundle.manifest.snapshot
        data = snapshot(store, upto_seq=mark.events_seq if mark is not None else None)
        split = split_for_training(data, bundle.manifest.config)
        if split is None:
            raise SystemExit(f"{home}: the store has no validation rows")
        engine = Engine.load(bundle, store, sync=False)
        ids = data.items.to_list()
        valid = in_bundle_ids(split.valid, ids, engine)
        yield Opened(bundle, engine, valid, in_bundle_ids(split.test, ids, engine), split.train)
    finally:
        store.close()
        if before is None:
            os.environ.pop(HOME_ENV, None)
        else:
            os.environ[HOME_ENV] = before


def chunks(rows: EvalSet, size: int = CHUNK_ROWS) -> Iterator[EvalSet]:
    for start in range(0, len(rows), size):
        yield rows.take(np.arange(start, min(start + size, len(rows))))


def serve(slates: Sequence[Slate], scorer: Any, rules: RuleSet, o: Opened) -> list[np.ndarray]:
    """What the pipeline serves from slates stopped after the features, with another scorer
    or other rules: the pipeline's own stages after the features, run on copies."""
    variant = Pipeline(o.pipeline.sources, scorer, rules, o.pipeline.feature_sources)
    copies = [
        slate
        if slate.fallback is not None or slate.features is None
        else dataclasses.replace(
            slate, score=None, trace=list(slate.trace), ruled={}, pins={}, order=None, served=None
        )
        for slate in slates
    ]
    variant.score_slates(copies)
    for copy, slate in zip(copies, slates, strict=True):
        if copy is not slate:
            variant.finish(copy, o.ctx, o.engine.items)
    return [copy.served_items for copy in copies]


Variants = Mapping[str, tuple[Any, RuleSet]]


def serve_variants(o: Opened, rows: EvalSet, variants: Variants, k: int) -> dict[str, Any]:
    """Each variant's served lists over the rows, the features computed once per chunk. The
    first variant must be the engine's own: on the first chunk its lists are checked against
    ``served_lists`` (the engine's whole pipeline), so the shortcut serves what is served."""
    served: dict[str, list[np.ndarray]] = {name: [] for name in variants}
    candidates_hit, checked = [], None
    pipeline = o.pipeline
    for chunk in chunks(rows):
        requests = requests_for(chunk, o.ctx.type_names, k)
        slates = pipeline.run_batch(requests, o.ctx, o.engine.items, until="features")
        for name, (scorer, rules) in variants.items():
            served[name] += serve(slates, scorer, rules, o)
        if checked is None:
            whole = served_lists(pipeline, o.ctx, o.engine.items, chunk, k)
            first = served[next(iter(variants))]
            checked = all(np.array_equal(a, b) for a, b in zip(whole, first, strict=True))
        targets = chunk.targets.tocsr()
        for r, slate in enumerate(slates):
            wanted = targets.indices[targets.indptr[r] : targets.indptr[r + 1]]
            candidates_hit.append(bool(np.isin(wanted, slate.items).any()))
    return {"served": served, "candidates_hit": np.array(candidates_hit), "check": checked}


def figures(lists: Sequence[np.ndarray], rows: EvalSet, ks: tuple[int, ...]) -> dict[str, Any]:
    """Recall and NDCG at each k, with 95% intervals at the first k, and per-row NDCG@10."""
    result = score_served(lists, rows, ks)
    out: dict[str, Any] = {
        f"{m}@{k}": round(result.metrics[f"{m}@{k}"], 4) for k in ks for m in ("recall", "ndcg")
    }
    for metric in (f"recall@{ks[0]}", f"ndcg@{ks[0]}"):
        low, high = bootstrap_ci(result.per_row[metric], samples=BOOTSTRAP)
        out[f"{metric} ci95"] = [round(low, 4), round(high, 4)]
    out["per_row"] = result.per_row["ndcg@10"]
    return out


def paired_gain(ours: np.ndarray, theirs: np.ndarray) -> dict[str, float]:
    """Mean per-row difference with its 95% percentile-bootstrap interval."""
    diff = np.asarray(ours, np.float64) - np.asarray(theirs, np.float64)
    diff = diff[np.isfinite(diff)]
    low, high = bootstrap_ci(diff, samples=BOOTSTRAP) if len(diff) else (np.nan, np.nan)
    mean = float(diff.mean()) if len(diff) else np.nan
    return {"mean": round(mean, 5), "low": round(low, 5), "high": round(high, 5)}


def best_single_source(o: Opened) -> str | None:
    """The bundle's model with the best validation NDCG@10 (as the manifest recorded it)."""
    metrics = o.bundle.manifest.metrics
    scored = {n: metrics[n]["ndcg@10"] for n in o.bundle.model_names if n in metrics}
    return max(scored, key=lambda n: scored[n]) if scored else None


def part_gain(o: Opened) -> dict[str, Any]:
    """The served scorer against each source alone and the blend, on the test rows."""
    pipeline = o.pipeline
    names = pipeline.scorer.names
    variants: dict[str, tuple[Any, RuleSet]] = {
        f"served ({pipeline.scorer.kind})": (pipeline.scorer, pipeline.rules),
        "blend (validation weights)": (BlendScorer(o.bundle.blend, names), pipeline.rules),
    }
    for source in pipeline.sources.names():
        variants[f"{source} alone"] = (BlendScorer({source: 1.0}, names), pipeline.rules)
    done = serve_variants(o, o.test, variants, max(KS))
    rows: dict[str, Any] = {}
    served_name = next(iter(variants))
    for name, lists in done["served"].items():
        rows[name] = figures(lists, o.test, KS)
    ours = rows[served_name]["per_row"]
    metrics = o.bundle.manifest.metrics
    for name, row in rows.items():
        source = name.removesuffix(" alone")
        row["valid ndcg@10"] = metrics.get(source, {}).get("ndcg@10")
        row["served − this (ndcg@10)"] = (
            None if name == served_name else paired_gain(ours, row["per_row"])
        )
    for row in rows.values():
        del row["per_row"]
    best = best_single_source(o)
    in_history = repeat_share(o.test)
    return {
        "rows": len(o.test),
        "variants": rows,
        "best_single_source": best,
        "gain_over_best_single_source": rows.get(f"{best} alone", {}).get(
            "served − this (ndcg@10)"
        ),
        "gain_over_blend": rows["blend (validation weights)"]["served − this (ndcg@10)"],
        "served_candidates_recall": round(float(done["candidates_hit"].mean()), 4),
        "targets_in_history": in_history,
        "checks": {"rescored lists == served_lists": done["check"]},
    }


def repeat_share(rows: EvalSet) -> float:
    """The share of rows whose target is already in the history (what excluding purchases —
    every benchmark event is imported as one — costs at most)."""
    targets = rows.targets.tocsr()
    hits = [
        np.isin(
            targets.indices[targets.indptr[r] : targets.indptr[r + 1]], rows.histories.row(r)
        ).any()
        for r in range(len(rows))
    ]
    return round(float(np.mean(hits)), 4) if hits else float("nan")


def part_recall(o: Opened, ns: Sequence[int]) -> dict[str, Any]:
    """The share of test targets the union of the sources' proposals holds at each N per
    source (trending keeps its own), its mean size, and each source's own share."""
    spec = o.bundle.manifest.ranking
    assert spec is not None
    ctx, ids = o.ctx, o.engine.items
    per_n = {
        n: Sources({s: (c if s == TRENDING else n) for s, c in spec.per_source.items()}) for n in ns
    }
    hits = {n: dict.fromkeys(["union", *spec.per_source], 0) for n in ns}
    sizes: dict[int, list[int]] = {n: [] for n in ns}
    n_targets = 0
    for chunk in chunks(o.test):
        slates = [o.pipeline.open(r, ctx, ids) for r in requests_for(chunk, ctx.type_names, 1)]
        live = [r for r, s in enumerate(slates) if s.reason is None and s.fallback is None]
        full = Pipeline(per_n[ns[0]], o.pipeline.scorer).full_scores([slates[r] for r in live], ctx)
        targets = chunk.targets.tocsr()
        n_targets += targets.nnz
        for n, sources in per_n.items():
            for j, r in enumerate(live):
                slate = slates[r]
                sources.run(slate, ctx, {name: m[j] for name, m in full.items()})
                wanted = targets.indices[targets.indptr[r] : targets.indptr[r + 1]]
                count_hits(slate, wanted, hits[n])
                sizes[n].append(len(slate.items))
            sizes[n] += [0] * (len(slates) - len(live))
    return {
        "rows": len(o.test),
        "per_source": dict(spec.per_source),
        "by_n": {
            str(n): {
                "union_recall": round(hits[n]["union"] / max(n_targets, 1), 4),
                "union_mean_size": round(float(np.mean(sizes[n])), 1) if sizes[n] else 0.0,
                "source_recall": {
                    s: round(hits[n][s] / max(n_targets, 1), 4) for s in spec.per_source
                },
            }
            for n in ns
        },
    }


def count_hits(slate: Slate, wanted: np.ndarray, hits: dict[str, int]) -> None:
    pos = np.searchsorted(slate.items, wanted)  # the union is sorted (np.unique)
    pos = pos[pos < len(slate.items)]
    pos = pos[np.isin(slate.items[pos], wanted)]
    hits["union"] += len(pos)
    for name, column in slate.sources.items():
        hits[name] += int((column.rank[pos] >= 0).sum())


def families(names: Sequence[str], sources: Sequence[str]) -> dict[str, list[int]]:
    """Column indices of each feature family: each source's, item.*, the pair features (and
    among them the text ones), anything else (profile features)."""
    out: dict[str, list[int]] = {f"source {s}": [] for s in sources}
    out |= {"item": [], "pair": [], "other": []}
    for j, name in enumerate(names):
        source = name.rpartition(".")[0]
        if source in sources and name.rpartition(".")[2] in ("score", "norm", "rank"):
            out[f"source {source}"].append(j)
        elif name in ITEM:
            out["item"].append(j)
        elif name in PAIR:
            out["pair"].append(j)
        else:
            out["other"].append(j)
    return out


def part_importances(o: Opened) -> dict[str, Any]:
    spec = o.bundle.manifest.ranking
    assert spec is not None
    shares = dict(spec.importances)
    if not shares:
        return {"scorer": spec.scorer, "note": "the served scorer records no gain shares"}
    names = list(shares)
    groups = families(names, spec.feature_sources)
    by_family = {
        f: round(sum(float(shares[names[j]]) for j in cols), 4)
        for f, cols in groups.items()
        if cols
    }
    by_family["of pair: text.*"] = round(sum(shares.get(n, 0.0) for n in TEXT_FEATURES), 4)
    top = sorted(shares.items(), key=lambda kv: -kv[1])[:20]
    return {"scorer": spec.scorer, "top20": dict(top), "by_family": by_family}


@dataclass(frozen=True)
class Subset:
    """A scorer fitted on some of the feature columns, reading only those."""

    inner: Any
    keep: np.ndarray
    kind: str = "subset"

    def score(self, features: np.ndarray) -> np.ndarray:
        scores: np.ndarray = self.inner.score(features[:, self.keep])
        return scores


def held_out(o: Opened) -> tuple[EvalSet, EvalSet]:
    """The ranker's training rows and held-out rows, exactly as training drew them."""
    config = o.bundle.manifest.config
    spec = o.bundle.manifest.ranking
    assert spec is not None
    holdout = spec.chosen.get("holdout", {})
    rows = sample(o.valid, config.max_ranker_rows, config.seed + 1)
    share = holdout.get("share", config.holdout_share)
    return ranking.holdout_split(rows, share, holdout.get("seed", config.seed))


def ranker_rows(o: Opened, rows: EvalSet, k: int) -> ranking.RankerRows:
    """The rows' slates up to the features as the ranker's training matrix, in one batch as
    training builds it (the sources score a batch together: other batches, other rounding)."""
    slates = slates_for(o.pipeline, o.ctx, o.engine.items, rows, k, "features")
    return ranking.ranker_rows(slates, rows)


def feature_sets(names: Sequence[str], sources: Sequence[str]) -> dict[str, np.ndarray]:
    """The ablation's feature subsets (column indices), the whole set first."""
    groups = families(names, sources)
    source_cols = [j for s in sources for j in groups[f"source {s}"]]
    everything = np.arange(len(names))
    text = [j for j, n in enumerate(names) if n in TEXT_FEATURES]
    out = {
        "all features (refit)": everything,
        "sources only": np.array(sorted(source_cols)),
        "sources + item": np.array(sorted(source_cols + groups["item"])),
        "all but text.*": np.setdiff1d(everything, text),
    }
    for s in sources:
        out[f"all but {s}.*"] = np.setdiff1d(everything, groups[f"source {s}"])
    return out


def ablation_variants(o: Opened, fit: ranking.RankerRows, held: ranking.RankerRows) -> Variants:
    """LightGBM refitted on each feature subset, the logistic ranker and the blend."""
    pipeline = o.pipeline
    names = pipeline.scorer.names
    seed = o.bundle.manifest.config.seed
    rules = RuleSet()
    variants: dict[str, tuple[Any, RuleSet]] = {}
    for label, keep in feature_sets(names, pipeline.feature_sources).items():
        start = time.perf_counter()
        part = ranking.RankerRows(fit.features[:, keep], fit.labels, fit.groups)
        check = ranking.RankerRows(held.features[:, keep], held.labels, held.groups)
        model = ranking.fit_lightgbm(part, check, [names[j] for j in keep], seed=seed)
        variants[f"lightgbm: {label}"] = (Subset(model, keep), rules)
        trees = model.info["trees"]
        print(f"    {label}: {trees} trees in {time.perf_counter() - start:.0f} s", flush=True)
    variants["logistic (all features)"] = (ranking.fit_logistic(fit, names, seed=seed), rules)
    variants["blend (validation weights)"] = (BlendScorer(o.bundle.blend, names), rules)
    return variants


def rules_variants(o: Opened) -> Variants:
    scorer = o.pipeline.scorer
    out: dict[str, tuple[Any, RuleSet]] = {
        "diversity off (collapse: null)": (scorer, parse_rules({"diversity": {"collapse": None}}))
    }
    for lam in MMR:
        out[f"MMR λ = {lam}"] = (scorer, parse_rules({"diversity": {"mmr": lam}}))
    return out


def part_validation(o: Opened, parts: Sequence[str]) -> dict[str, Any]:
    """The ablation and the rules, on the held-out validation shoppers the bundle recorded."""
    config = o.bundle.manifest.config
    spec = o.bundle.manifest.ranking
    assert spec is not None
    fit_rows, held = held_out(o)
    k = max(config.ks)
    ks = tuple(sorted(set(config.ks)))
    served = f"served ({o.pipeline.scorer.kind}), default rules"
    variants: dict[str, tuple[Any, RuleSet]] = {served: (o.pipeline.scorer, o.pipeline.rules)}
    out: dict[str, Any] = {"held_out_rows": len(held), "fit_rows": len(fit_rows)}
    if "ablation" in parts:
        start = time.perf_counter()
        fit = ranker_rows(o, fit_rows, k)
        check = ranker_rows(o, held, k)
        out["ranker_groups"] = {"training": int(fit.n_groups), "held_out": int(check.n_groups)}
        print(
            f"    features of {len(fit_rows) + len(held)} rows: {time.perf_counter() - start:.0f} s"
        )
        if fit.n_groups and check.n_groups:
            variants |= ablation_variants(o, fit, check)
        del fit, check
    if "rules" in parts:
        variants |= rules_variants(o)
    done = serve_variants(o, held, variants, k)
    rows = {name: figures(lists, held, ks) for name, lists in done["served"].items()}
    ours = rows[served]["per_row"]
    for name, row in rows.items():
        row["vs served (ndcg@10)"] = None if name == served else paired_gain(row["per_row"], ours)
        del row["per_row"]
    recorded = spec.metrics.get(spec.scorer, {})
    same = all(rows[served][m] == recorded.get(m) for m in ("recall@10", "ndcg@10"))
    out["checks"] = {
        "rescored lists == served_lists": done["check"],
        "served == the manifest's held-out figures": same,
    }
    refit = rows.get("lightgbm: all features (refit)")
    if refit is not None and spec.scorer == "lightgbm":  # deterministic: the same trees
        out["checks"]["refit == the served LightGBM"] = refit["ndcg@10"] == rows[served]["ndcg@10"]
    out["recorded"] = {m: recorded.get(m) for m in ("recall@10", "ndcg@10")}
    if "ablation" in parts:
        out["ablation"] = {n: r for n, r in rows.items() if n == served or n not in rules_names()}
    if "rules" in parts:
        names = [served, *rules_names()]
        out["rules"] = {n: rows[n] | diversity(done["served"][n], o) for n in names}
    return out


def rules_names() -> list[str]:
    return ["diversity off (collapse: null)", *(f"MMR λ = {lam}" for lam in MMR)]


def diversity(lists: Sequence[np.ndarray], o: Opened, k: int = 10) -> dict[str, Any]:
    """Over the served top k: mean pairwise 1 − text cosine, the share of pairs at least
    NEAR_DUPLICATE alike (n/a without text), distinct leaf categories (n/a without any)."""
    ctx = o.ctx
    leaf = ctx.items.codes.leaf
    ild, near, coverage = [], [], []
    for served in lists:
        top = served[:k]
        if len(leaf) and (leaf >= 0).any():
            coverage.append(len(np.unique(leaf[top][leaf[top] >= 0])))
        vectors = ctx.text_rows(top)
        if vectors is None or len(top) < 2:
            continue
        has = np.abs(vectors).sum(axis=1) > 0
        sims = (vectors[has] @ vectors[has].T)[np.triu_indices(int(has.sum()), k=1)]
        if len(sims):
            ild.append(float(np.mean(1.0 - sims)))
            near.append(float(np.mean(sims >= NEAR_DUPLICATE)))

    def mean(values: list[float]) -> float | str:
        return round(float(np.mean(values)), 4) if values else "n/a"

    return {"ild@10": mean(ild), "near_dup@10": mean(near), "categories@10": mean(coverage)}


def research(home: Path, parts: Sequence[str], ns: Sequence[int]) -> dict[str, Any]:
    """Every requested research part on the home's active bundle, each timed."""
    out: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    with opened(home) as o:
        out["bundle"] = o.bundle.version
        steps = [
            ("gain", lambda: part_gain(o)),
            ("recall", lambda: part_recall(o, ns)),
            ("importances", lambda: part_importances(o)),
        ]
        for name, run in steps:
            if name in parts:
                out[name] = timed(name, run, seconds)
        if "ablation" in parts or "rules" in parts:
            out["validation"] = timed("validation", lambda: part_validation(o, parts), seconds)
    out["seconds"] = seconds
    out["load_after"] = load_average()
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def timed(name: str, run: Any, seconds: dict[str, float]) -> Any:
    print(f"  research: {name} (load {load_average()})", flush=True)
    start = time.perf_counter()
    value = run()
    seconds[name] = round(time.perf_counter() - start, 1)
    print(f"    {seconds[name]} s", flush=True)
    return value


# --- one dataset, the results files ----------------------------------------------------------


def bundle_summary(home: Path) -> dict[str, Any]:
    bundle = BundleStore(home).active()
    assert bundle is not None
    m = bundle.manifest
    chosen = m.ranking.chosen if m.ranking is not None else {}
    return {
        "version": m.version,
        "scorer": m.ranking.scorer if m.ranking is not None else "blend",
        "models": list(m.models),
        "dropped": chosen.get("dropped", {}),
        "items": m.data.items,
        "users": m.data.users,
        "fit_seconds": chosen.get("seconds"),
        "budget_seconds": m.config.budget_seconds,
        "validation": {n: v.get("ndcg@10") for n, v in m.metrics.items()},
    }


def run_dataset(label: str, folder: Path, home: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The product path (or its record, with --skip-train) and the research parts."""
    print(f"{label}: {folder} (home {home})", flush=True)
    if args.skip_train:
        product = json.loads((home / "product.json").read_text())
    else:
        home.mkdir(parents=True, exist_ok=True)
        product = product_path(folder, home, args.budget)
    fmt = detect_format(folder)
    record: dict[str, Any] = {
        "folder": str(folder),
        "format": fmt,
        "history_masked_by_protocol": PROTOCOL_MASKS_HISTORY[fmt],
        "home": str(home),
        "product": product,
        "acceptance": acceptance(label, product),
        "bundle": bundle_summary(home),
    }
    record["research"] = research(home, args.parts, args.ns)
    cross_check(record)
    return record


def cross_check(record: dict[str, Any]) -> None:
    """The research's served lists are the CLI's (to the fourth decimal), and its candidate
    union at the served N holds the targets the served candidates hold."""
    research_ = record["research"]
    gain = research_.get("gain")
    if gain is None:
        return
    ours = next(iter(gain["variants"].values()))
    test = record["product"]["test"]
    same = all(ours[m] == round(test[m], 4) for m in ("recall@10", "ndcg@10"))
    gain["checks"]["served == `shopmind evaluate --bundle`"] = same
    recall = research_.get("recall", {})
    served_n = {n for s, n in recall.get("per_source", {}).items() if s != TRENDING}
    at = recall.get("by_n", {}).get(str(next(iter(served_n)))) if len(served_n) == 1 else None
    if at is not None:
        union = at["union_recall"] == gain["served_candidates_recall"]
        gain["checks"]["candidate union at the served N == the served candidates"] = union


@contextmanager
def locked(results: Path) -> Iterator[None]:
    results.mkdir(parents=True, exist_ok=True)
    with open(Path(tempfile.gettempdir()) / "shopmind-ranking.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def merge(results: Path, label: str, record: dict[str, Any], retrained: bool) -> None:
    """Write this dataset's record into ranking.json (the other datasets' stay); a re-run
    of some research parts on the same bundle keeps the parts it did not re-run."""
    path = results / "ranking.json"
    with locked(results):
        payload = json.loads(path.read_text()) if path.exists() else {}
        datasets = payload.setdefault("datasets", {})
        old = datasets.get(label, {})
        if not retrained and old.get("bundle", {}).get("version") == record["bundle"]["version"]:
            record["research"] = merged(old.get("research", {}), record["research"])
        datasets[label] = record
        payload["machine"] = machine_summary()
        write_json(path, payload)
        (results / "ranking.md").write_text(render(payload))
    print(f"wrote {results / 'ranking.md'} and ranking.json", flush=True)


def merged(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for key, value in new.items():
        if key in ("validation", "seconds") and isinstance(old.get(key), dict):
            out[key] = {**old[key], **value}
        else:
            out[key] = value
    return out


# --- the report ------------------------------------------------------------------------------


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def with_ci(row: Mapping[str, Any], metric: str) -> str:
    value = row.get(metric)
    if value is None:
        return ""
    ci = row.get(f"{metric} ci95") or (row.get("ci95") or {}).get(metric)
    return f"{value:.4f} [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else f"{value:.4f}"


def signed(gain: Mapping[str, float] | None) -> str:
    if not gain:
        return ""
    return f"{gain['mean']:+.4f} [{gain['low']:+.4f}, {gain['high']:+.4f}]"


def protocol(record: Mapping[str, Any]) -> str:
    kept = "masked" if record["history_masked_by_protocol"] else "kept"
    return f"history {kept}, full ranking over {record['bundle']['items']:,} items"


def render(payload: Mapping[str, Any]) -> str:
    datasets: Mapping[str, Any] = payload.get("datasets", {})
    parts = [
        "# The ranking pipeline on the real splits (issue #13)\n",
        "Test figures are what `shopmind evaluate --bundle active --bootstrap 1000` reports for",
        "the bundle `shopmind train` built by itself (no hand-set hyper-parameters) from",
        "`shopmind import benchmark`; 95% bootstrap intervals in brackets. The research sections",
        "analyse that same bundle through the engine's own pipeline and never change it; the",
        "ablation and the rules are measured on the held-out validation shoppers the bundle",
        "recorded, never on test. Produced by `.venv/bin/python benchmarks/ranking.py`.\n",
        f"Machine: {payload.get('machine', machine_summary())}. Wall times are single runs on a",
        "shared machine; load = the 1, 5, 15-minute load averages before → after.\n",
        headline(datasets),
    ]
    for label, record in datasets.items():
        parts += dataset_section(label, record)
    return "\n".join(parts)


def headline(datasets: Mapping[str, Any]) -> str:
    rows = []
    for label, r in datasets.items():
        test, train = r["product"]["test"], r["product"]["steps"]["train"]
        bars = "; ".join(c["what"] for c in r["acceptance"]["checks"])
        failed = [c["what"] for c in r["acceptance"]["checks"] if not c["pass"]]
        verdict = "**PASS**" if not failed else "**FAIL** (" + "; ".join(failed) + ")"
        rows.append(
            [
                label,
                protocol(r),
                with_ci(test, "recall@10"),
                with_ci(test, "ndcg@10"),
                test.get("recall@50"),
                test.get("ndcg@50"),
                bars,
                verdict,
                f"{train['seconds'] / 60:.1f} min",
                f"{train['peak_rss_mib'] / 1024:.2f} GiB",
                f"{train['load_before']} → {train['load_after']}",
            ]
        )
    header = ["dataset", "protocol", "served R@10", "served N@10", "R@50", "N@50", "bar"]
    header += ["result", "train wall time", "train peak RSS", "load (train)"]
    return table(header, rows)


def dataset_section(label: str, r: Mapping[str, Any]) -> list[str]:
    b, research_ = r["bundle"], r.get("research", {})
    dropped = "; ".join(f"{k}: {v}" for k, v in b["dropped"].items()) or "none"
    out = [
        f"## {label}\n",
        f"Bundle `{b['version']}` ({r['format']} folder `{r['folder']}`): scorer **{b['scorer']}**"
        f" over {', '.join(b['models'])} (dropped: {dropped}); training spent {b['fit_seconds']} s"
        f" of its {b['budget_seconds']:.0f} s budget. Served lists leave out every purchase, and a"
        " benchmark's events are all imported as purchases, so every history item is left out",
    ]
    gain = research_.get("gain")
    if gain is not None:
        out[-1] += (
            f" ({gain['targets_in_history']:.2%} of the test targets are in their shopper's "
            "history: those rows cannot be hit)"
        )
    out[-1] += ".\n"
    out += [f"### {label}: the product path\n", product_table(r["product"])]
    out += [f"### {label}: test, against published results\n", references(label, r)]
    if gain is not None:
        out += gain_section(label, gain)
    if "recall" in research_:
        out += recall_section(label, research_["recall"])
    if "importances" in research_:
        out += importance_section(label, research_["importances"])
    validation = research_.get("validation")
    if validation is not None:
        out += validation_section(label, validation)
    checks = {
        name: ok
        for part in (gain or {}, validation or {})
        for name, ok in part.get("checks", {}).items()
    }
    if checks:
        said = ", ".join(f"{name}: {'yes' if ok else '**NO**'}" for name, ok in checks.items())
        out.append(f"Consistency checks: {said}.\n")
    seconds = research_.get("seconds", {})
    if seconds:
        spent = ", ".join(f"{k} {v} s" for k, v in seconds.items())
        out.append(f"Research wall times: {spent} (load after {research_.get('load_after')}).\n")
    return out


def product_table(product: Mapping[str, Any]) -> str:
    rows = [
        [
            name,
            f"`{s['command']}`",
            f"{s['seconds']:.1f}",
            f"{s['peak_rss_mib']:.0f}",
            s["load_before"],
            s["load_after"],
        ]
        for name, s in product["steps"].items()
    ]
    return table(["step", "command", "wall s", "peak RSS MiB", "load before", "load after"], rows)


def references(label: str, r: Mapping[str, Any]) -> str:
    metrics = ("recall@10", "ndcg@10", "recall@50", "ndcg@50")
    test = r["product"]["test"]
    rows = [["**shopmind, served (this run)**", *(test.get(m) for m in metrics), "this run"]]
    for name, values, source in REFERENCES.get(label, []):
        rows.append([name, *(values.get(m) for m in metrics), source])
    return table(["model", "R@10 (HR@10)", "N@10", "R@50", "N@50", "source"], rows)


def gain_section(label: str, gain: Mapping[str, Any]) -> list[str]:
    rows = [
        [
            name,
            row.get("valid ndcg@10"),
            with_ci(row, "recall@10"),
            with_ci(row, "ndcg@10"),
            row.get("recall@50"),
            row.get("ndcg@50"),
            signed(row.get("served − this (ndcg@10)")),
        ]
        for name, row in gain["variants"].items()
    ]
    header = ["scorer over the served candidates", "valid N@10", "test R@10", "test N@10"]
    header += ["R@50", "N@50", "served − this, N@10 [95% CI]"]
    best = gain["best_single_source"]
    return [
        f"### {label}: research — the ranker's gain over the best single source (test)\n",
        f"{gain['rows']} test rows; every row keeps the served candidates, exclusion and rules; "
        "only the scorer changes (a source alone: its normalised score). Paired bootstrap of "
        "the per-row NDCG@10 difference.\n",
        table(header, rows),
        f"Best single source on validation: **{best}**; the served scorer's gain over it: "
        f"**{signed(gain['gain_over_best_single_source'])}**; over the blend: "
        f"{signed(gain['gain_over_blend'])}. The served candidates hold "
        f"{gain['served_candidates_recall']:.2%} of the test targets.\n",
    ]


def recall_section(label: str, recall: Mapping[str, Any]) -> list[str]:
    sources = list(recall["per_source"])
    rows = [
        [
            n,
            v["union_recall"],
            f"{v['union_mean_size']:.1f}",
            *(v["source_recall"][s] for s in sources),
        ]
        for n, v in recall["by_n"].items()
    ]
    served = ", ".join(f"{s} {n}" for s, n in recall["per_source"].items())
    return [
        f"### {label}: research — recall of the candidate union (test)\n",
        f"The share of the {recall['rows']} test targets among the candidates when each source "
        f"proposes N allowed items (trending keeps its own); the bundle serves with {served}.\n",
        table(["N per source", "union recall", "union mean size", *sources], rows),
    ]


def importance_section(label: str, imp: Mapping[str, Any]) -> list[str]:
    head = f"### {label}: research — feature importances of the served ranker\n"
    if "top20" not in imp:
        return [head, f"{imp['note']} (scorer: {imp['scorer']}).\n"]
    return [
        head,
        "LightGBM gain shares from the manifest (`ranking.importances`).\n",
        table(["feature", "gain share"], list(imp["top20"].items())),
        table(["family", "gain share"], list(imp["by_family"].items())),
    ]


def validation_section(label: str, v: Mapping[str, Any]) -> list[str]:
    out = []
    recorded = v.get("recorded", {})
    where = (
        f"{v['held_out_rows']} held-out validation shoppers (the ranker was fitted on "
        f"{v['fit_rows']}; the manifest records R@10 {cell(recorded.get('recall@10'))}, "
        f"N@10 {cell(recorded.get('ndcg@10'))} for the served scorer on them)"
    )
    if "ablation" in v:
        rows = [
            [
                name,
                with_ci(row, "recall@10"),
                with_ci(row, "ndcg@10"),
                signed(row["vs served (ndcg@10)"]),
            ]
            for name, row in v["ablation"].items()
        ]
        out += [
            f"### {label}: research — ablation (held-out validation)\n",
            f"{where}. LightGBM refitted on the ranker's training rows with only the named "
            "columns (trees chosen on the held-out rows as training does), through the whole "
            "pipeline.\n",
            table(["scorer", "R@10", "N@10", "this − served, N@10 [95% CI]"], rows),
        ]
    if "rules" in v:
        rows = [
            [
                name,
                row["recall@10"],
                row["ndcg@10"],
                signed(row["vs served (ndcg@10)"]),
                row["ild@10"],
                row["categories@10"],
                row["near_dup@10"],
            ]
            for name, row in v["rules"].items()
        ]
        header = ["rules", "R@10", "N@10", "this − default, N@10 [95% CI]"]
        header += ["intra-list diversity@10", "leaf categories@10", "near-duplicate pairs@10"]
        out += [
            f"### {label}: research — the default rules' cost and gain (held-out validation)\n",
            f"{where}. Diversity: mean pairwise 1 − text cosine of the top 10; near-duplicates: "
            f"the share of top-10 pairs with text cosine ≥ {NEAR_DUPLICATE} (n/a without text).\n",
            table(header, rows),
        ]
    return out


# --- the tiny shop of --self-check -----------------------------------------------------------


def tiny_sequences(seed: int = 5) -> tuple[list[Any], list[list[int]]]:
    """A small synthetic shop's items and each shopper's viewed, carted and bought items in
    time order (consecutive repeats dropped; shoppers with fewer than three left out)."""
    from shopmind.synthetic import SyntheticConfig, generate

    shop = generate(SyntheticConfig(seed=seed, n_items=400, n_users=600, n_events=30_000))
    e = shop.events
    keep = np.isin(e["type"], ["view", "add_to_cart", "purchase"])
    order = np.lexsort((e["timestamp_ms"][keep], e["user_id"][keep].astype(str)))
    users, items = e["user_id"][keep][order], e["item_id"][keep][order]
    index = {item.id: k for k, item in enumerate(shop.items)}
    by_user: dict[str, list[int]] = {}
    for user, item in zip(users.tolist(), items.tolist(), strict=True):
        seq = by_user.setdefault(user, [])
        if not seq or seq[-1] != index[item]:
            seq.append(index[item])
    return shop.items, [s for s in by_user.values() if len(s) >= 3]


def write_unisrec(folder: Path, items: Sequence[Any], sequences: Sequence[list[int]]) -> None:
    """The shop as RecBole/UniSRec split files with text, and a rich/ catalogue for the
    category paths (joined by title, as for Scientific)."""
    (folder / "rich").mkdir(parents=True)
    name = folder / "Tiny"
    Path(f"{name}.item2index").write_text("".join(f"{it.id}\t{k}\n" for k, it in enumerate(items)))
    Path(f"{name}.user2index").write_text("".join(f"u{u}\t{u}\n" for u in range(len(sequences))))
    texts = [f"{it.title}. {' '.join(it.category_path)}. {it.brand}. " for it in items]
    lines = "".join(f"{it.id}\t{t}\n" for it, t in zip(items, texts, strict=True))
    Path(f"{name}.text").write_text("item_id:token\ttext:token_seq\n" + lines)
    rich = {
        str(k): {
            "title": f"{it.title}.",
            "description": it.description,
            "brand": it.brand,
            "categories": ",".join(it.category_path),
        }
        for k, it in enumerate(items)
    }
    (folder / "rich" / "Tiny.item.json").write_text(json.dumps(rich))
    header = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
    parts: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for u, seq in enumerate(sequences):
        n = len(seq)
        for t in [*range(n - 3, 0, -1), n - 2, n - 1]:  # the train rows newest first
            part = "test" if t == n - 1 else "valid" if t == n - 2 else "train"
            history = " ".join(str(i) for i in seq[max(0, t - 50) : t])
            parts[part].append(f"{u}\t{history}\t{seq[t]}\n")
    for part, rows in parts.items():
        Path(f"{name}.{part}.inter").write_text(header + "".join(rows))


def write_s3rec(folder: Path, items: Sequence[Any], sequences: Sequence[list[int]]) -> None:
    """The shop as S3-Rec files (ids from 1, no text; brand and leaf as attribute ids)."""
    folder.mkdir(parents=True)
    lines = "".join(f"{u + 1} {' '.join(str(i + 1) for i in s)}\n" for u, s in enumerate(sequences))
    (folder / "Tiny.txt").write_text(lines)
    codes: dict[str, int] = {}
    attributes = {
        str(k + 1): [codes.setdefault(v, len(codes) + 1) for v in (it.brand, it.category_path[-1])]
        for k, it in enumerate(items)
    }
    (folder / "Tiny_item2attributes.json").write_text(json.dumps(attributes))


def self_check(args: argparse.Namespace) -> None:
    """The whole benchmark on a tiny shop in both formats (text and ids only), then a
    --skip-train re-run of one part; fails when a check or a merge does not hold."""
    work = Path(tempfile.mkdtemp(prefix="shopmind-ranking-check-"))
    items, sequences = tiny_sequences()
    folders = [work / "datasets" / "tiny-text", work / "datasets" / "tiny-ids"]
    write_unisrec(folders[0], items, sequences)
    write_s3rec(folders[1], items, sequences)
    print(f"self-check in {work}: {len(items)} items, {len(sequences)} shoppers", flush=True)
    results, homes = work / "results", work / "homes"
    common = ["--results", str(results), "--home", str(homes), "--ns", "10,50,100"]
    run(
        parse(
            [*common, "--datasets", ",".join(map(str, folders)), "--budget", args.budget or "60s"]
        )
    )
    run(parse([*common, "--datasets", str(folders[1]), "--skip-train", "--parts", "rules"]))
    payload = json.loads((results / "ranking.json").read_text())
    failures = problems(payload, [f.name for f in folders])
    print((results / "ranking.md").read_text())
    if failures:
        raise SystemExit("self-check failed:\n- " + "\n- ".join(failures))
    shutil.rmtree(homes, ignore_errors=True)  # stores, bundles and caches: ~200 MB
    print(f"self-check passed; results in {results}")


def problems(payload: Mapping[str, Any], labels: Sequence[str]) -> list[str]:
    """What the self-check finds wrong with the results file."""
    out = []
    for label in labels:
        record = payload.get("datasets", {}).get(label)
        if record is None:
            out.append(f"{label}: missing from ranking.json (merge lost it)")
            continue
        research_ = record["research"]
        missing = [p for p in ("gain", "recall", "importances", "validation") if p not in research_]
        missing += [p for p in ("ablation", "rules") if p not in research_.get("validation", {})]
        out += [f"{label}: no {p}" for p in missing]
        for part in ("gain", "validation"):
            for name, ok in research_.get(part, {}).get("checks", {}).items():
                if not ok:
                    out.append(f"{label}: {name} does not hold")
    return out


# --- the command -----------------------------------------------------------------------------


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--datasets", default=DEFAULT_DATASETS, help="names or folders, a,b")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(os.environ.get(DATASETS_ENV) or DEFAULT_ROOT),
        help=f"the folder of the named datasets (${DATASETS_ENV}, else {DEFAULT_ROOT})",
    )
    parser.add_argument("--budget", help="passed to `shopmind train --budget` (default: its own)")
    parser.add_argument("--home", type=Path, help="homes go to HOME/NAME (default: a new temp)")
    parser.add_argument("--skip-train", action="store_true", help="reuse --home's bundles")
    parser.add_argument("--parts", default=",".join(PARTS), help="research parts to run")
    parser.add_argument("--ns", default=",".join(map(str, CANDIDATE_NS)), help="recall: N")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--self-check", action="store_true", help="a tiny shop, end to end")
    args = parser.parse_args(argv)
    args.parts = [p for p in args.parts.split(",") if p]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"--parts: unknown {', '.join(sorted(unknown))}; choose from {PARTS}")
    args.ns = [int(n) for n in args.ns.split(",")]
    if args.skip_train and args.home is None:
        parser.error("--skip-train reads the homes of an earlier run: give --home DIR")
    return args


def dataset_folders(spec: str, root: Path) -> list[tuple[str, Path]]:
    out = []
    for entry in (e.strip() for e in spec.split(",")):
        if entry:
            path = Path(entry).expanduser()
            folder = path if path.is_dir() else root / entry
            out.append((folder.name, folder))
    return out


def run(args: argparse.Namespace) -> None:
    base = args.home or Path(tempfile.mkdtemp(prefix="shopmind-ranking-"))
    for label, folder in dataset_folders(args.datasets, args.root):
        if not folder.is_dir():
            print(f"skipping {label}: {folder} not found")
            continue
        home = (base / label).resolve()
        if not args.skip_train and home.exists() and any(home.iterdir()):
            raise SystemExit(f"{home} is not a fresh home: give another --home, or --skip-train")
        record = run_dataset(label, folder, home, args)
        merge(args.results, label, record, retrained=not args.skip_train)
    print(f"homes (stores, bundles, logs) kept in {base}: remove them when done", flush=True)


def main() -> None:
    args = parse()
    if args.self_check:
        self_check(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
