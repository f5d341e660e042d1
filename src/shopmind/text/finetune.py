"""Fine-tune the text encoder on items the shop's shoppers use together.

Pairs of items that sit close together in a shopper's training history are positives for a
contrastive loss with in-batch negatives (sentence-transformers' MultipleNegativesRankingLoss),
so the encoder learns the shop's own notion of "goes with". The base model is scored first and
every epoch after it by a validation callback; the best epoch is saved as a new, versioned
local folder that :class:`~shopmind.text.encoder.SentenceTransformerEncoder` loads offline,
and the result says whether it beat the base at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm.auto import tqdm

from shopmind.config import data_home
from shopmind.data.dataset import Dataset
from shopmind.text.cache import EmbeddingCache
from shopmind.text.embed import default_cache_root, embed_texts
from shopmind.text.encoder import (
    DEFAULT_MODEL,
    EncoderSettings,
    load_encoder,
    model_fingerprint,
    resolve_model,
)
from shopmind.text.item_text import item_texts

log = logging.getLogger(__name__)

#: The file in a fine-tuned folder that says how it was made.
MANIFEST = "shopmind_finetune.json"

#: Validation score of a candidate encoder folder (higher is better); never fed test data.
Select = Callable[[Path], float]

Method = Literal["adapter", "full"]
#: What :func:`finetune_encoder` can train.
METHODS: tuple[Method, ...] = ("adapter", "full")
#: Per-method defaults. The full fine-tune's pair budget is what two CPU cores train in
#: about an hour; the adapter trains on every pair (its cap only bounds memory).
DEFAULTS: dict[str, dict[str, float]] = {
    "adapter": {"epochs": 8, "batch_size": 256, "learning_rate": 1e-3, "max_pairs": 1_000_000},
    "full": {"epochs": 1, "batch_size": 64, "learning_rate": 3e-5, "max_pairs": 20_000},
}
#: The adapter's logit scale (1 / temperature), as MultipleNegativesRankingLoss's default.
ADAPTER_SCALE = 20.0
#: How strongly the adapter's map is held near the identity (the base model's geometry).
ADAPTER_TO_IDENTITY = 1e-2


@dataclass(frozen=True)
class FineTuneResult:
    """What a fine-tune produced and what validation said about it.

    ``path`` always holds the best *fine-tuned* epoch. ``improved`` says whether it beat the
    base model on validation; when it did not (``chosen_epoch == 0``), keep the base encoder —
    :meth:`settings` does that choice for you.
    """

    path: Path
    chosen_epoch: int
    scores: list[dict[str, float]]  # {"epoch": e, "valid": score}; epoch 0 is the base model
    wall_seconds: float
    n_pairs: int
    improved: bool
    base: EncoderSettings = field(default_factory=EncoderSettings)

    def settings(self) -> EncoderSettings:
        """The encoder settings to use: the fine-tuned folder if it won, else the base."""
        if not self.improved:
            return self.base
        return self.base.model_copy(update={"model": str(self.path)})


def co_interaction_pairs(
    data: Dataset,
    *,
    window: int = 2,
    max_pairs: int | None = None,
    min_count: int = 1,
    seed: int = 0,
    texts: Sequence[str] | None = None,
) -> np.ndarray:
    """(n × 2) int64 item pairs that shoppers used within ``window`` steps of each other.

    A step is one item in a shopper's chronological history of positively weighted events
    (``remove_from_cart``/``dismiss`` and other zero-weight events are skipped), with
    consecutive events on the same item collapsed into one step, so a view → cart → purchase
    funnel is a single step. Pairs are unordered and counted over all shoppers; self pairs,
    pairs seen fewer than ``min_count`` times and pairs whose texts are equal or empty
    (``texts``, default :func:`item_texts`) are dropped. Rows come in a seeded random order
    weighted by count (Efraimidis–Spirakis), so any prefix — and the ``max_pairs`` kept — is
    a count-weighted sample without replacement; each row's orientation is random.
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    texts = item_texts(data.item_side) if texts is None else texts
    if len(texts) != data.n_items:
        raise ValueError(f"texts has {len(texts)} entries for {data.n_items} items")

    hist = data.histories()
    row = np.repeat(np.arange(len(hist), dtype=np.int64), hist.lengths)
    keep = (hist.weights > 0) & (hist.items >= 0)
    items, row = hist.items[keep], row[keep]
    step = np.ones(len(items), dtype=bool)
    step[1:] = (items[1:] != items[:-1]) | (row[1:] != row[:-1])
    items, row = items[step], row[step]

    firsts, seconds = [], []
    for d in range(1, window + 1):  # a loop over offsets, not events
        same = row[d:] == row[:-d]
        firsts.append(items[:-d][same])
        seconds.append(items[d:][same])
    a, b = np.concatenate(firsts), np.concatenate(seconds)
    lo, hi = np.minimum(a, b), np.maximum(a, b)

    text_id = np.unique(np.asarray(list(texts), dtype=object), return_inverse=True)[1]
    blank = np.fromiter((not t.strip() for t in texts), dtype=bool, count=len(texts))
    ok = (text_id[lo] != text_id[hi]) & ~blank[lo] & ~blank[hi]
    keys, counts = np.unique(lo[ok] * data.n_items + hi[ok], return_counts=True)
    keys, counts = keys[counts >= min_count], counts[counts >= min_count]

    rng = np.random.default_rng(seed)
    priority = np.log1p(-rng.random(len(keys))) / counts  # log of u^(1/w), u in (0, 1]
    order = np.argsort(-priority, kind="stable")
    if max_pairs is not None:
        order = order[: max(int(max_pairs), 0)]
    pairs = np.stack([keys[order] // data.n_items, keys[order] % data.n_items], axis=1)
    flip = rng.random(len(pairs)) < 0.5
    pairs[flip] = pairs[flip][:, ::-1]
    return pairs.astype(np.int64)


def pair_hash(pairs: np.ndarray) -> str:
    """A short hash of a pair set (order and orientation free), to version a fine-tuned folder."""
    canon = np.sort(np.asarray(pairs, dtype=np.int64).reshape(-1, 2), axis=1)
    canon = canon[np.lexsort((canon[:, 1], canon[:, 0]))]
    return hashlib.sha256(np.ascontiguousarray(canon).tobytes()).hexdigest()[:8]


def finetune_encoder(
    data: Dataset,
    texts: Sequence[str],
    *,
    base: EncoderSettings | None = None,
    method: Method = "adapter",
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    max_pairs: int | None = -1,
    window: int = 2,
    select: Select | None = None,
    out_dir: Path | None = None,
    seed: int = 0,
    progress: bool = True,
) -> FineTuneResult:
    """Fine-tune ``base`` on co-interaction pairs of ``data`` and save it as a versioned folder.

    ``method`` is what is trained (:data:`METHODS`): ``"adapter"`` keeps the transformer frozen
    and learns a linear map on top of its (cached) embeddings — seconds on a CPU, so it can use
    every pair — and ``"full"`` updates every transformer weight, about 5–10 pairs/s on two
    CPU cores. ``epochs``, ``batch_size``, ``learning_rate`` and ``max_pairs`` (-1: the
    method's default; None: every pair) default per method (:data:`DEFAULTS`).

    ``texts[i]`` is item i's text. ``select(folder)`` scores a candidate on VALIDATION data;
    it is called for the base model's own folder (epoch 0, read-only) and after every epoch
    (the adapter: after epochs 1, 2, 4, … and the last). Without ``select`` the last epoch is
    kept. The folder lands in ``out_dir`` (default
    ``data_home()/"encoders"``) as ``{base}-ft-{UTC time}-{pair hash}`` with a
    ``shopmind_finetune.json`` manifest; it is staged beside it and renamed into place.
    """
    if method not in DEFAULTS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    defaults = DEFAULTS[method]
    epochs = int(defaults["epochs"]) if epochs is None else epochs
    batch_size = int(defaults["batch_size"]) if batch_size is None else batch_size
    learning_rate = float(defaults["learning_rate"]) if learning_rate is None else learning_rate
    if max_pairs is not None and max_pairs < 0:
        max_pairs = int(defaults["max_pairs"])
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    started = time.perf_counter()
    base = base or EncoderSettings()
    source = resolve_model(base.model)
    pairs = co_interaction_pairs(data, window=window, max_pairs=max_pairs, seed=seed, texts=texts)
    if len(pairs) == 0:
        raise ValueError(
            "the training histories hold no co-interaction pairs with distinct item texts; "
            "fine-tuning needs shoppers with at least two items"
        )
    parent = out_dir if out_dir is not None else data_home() / "encoders"
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".finetune-", dir=parent))
    try:
        scores: list[dict[str, float]] = []
        if select is not None:
            scores.append({"epoch": 0, "valid": float(select(source))})
            log.info("fine-tune: base model scores %.4f on validation", scores[0]["valid"])
        plan = _Plan(method, epochs, batch_size, learning_rate, base.max_seq_length, seed, progress)
        train = _train_adapter if method == "adapter" else _train
        saved_epoch, folder = train(source, texts, pairs, staging, plan, select, scores, base)
        chosen = max(scores, key=lambda s: s["valid"]) if scores else None
        chosen_epoch = int(chosen["epoch"]) if chosen else saved_epoch
        created = datetime.now(UTC)
        name = f"{_base_name(base.model, source)}-ft-{created:%Y%m%dT%H%M%S}-{pair_hash(pairs)}"
        result = FineTuneResult(
            path=parent / name,
            chosen_epoch=chosen_epoch,
            scores=scores,
            wall_seconds=round(time.perf_counter() - started, 2),
            n_pairs=len(pairs),
            improved=chosen_epoch != 0,
            base=base,
        )
        manifest = _manifest(result, source, created, saved_epoch, pairs, plan)
        manifest.update(window=window, max_pairs=max_pairs)
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        path = _publish(folder, parent / name)
        if method == "adapter":
            seed_adapter_cache(path, base, texts)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("fine-tuned encoder saved to %s (chosen epoch %d)", path, chosen_epoch)
    return replace(result, path=path)


@dataclass(frozen=True)
class _Plan:
    """How to train: the knobs the trainer and the manifest share."""

    method: Method
    epochs: int
    batch_size: int
    learning_rate: float
    max_seq_length: int
    seed: int
    progress: bool


class _Candidates:
    """Saves the model after an epoch, scores it, and keeps only the best fine-tuned folder."""

    def __init__(
        self,
        save: Callable[[Path], None],
        staging: Path,
        select: Select | None,
        scores: list[dict[str, float]],
        last_epoch: int,
    ) -> None:
        self.save, self.staging, self.select = save, staging, select
        self.scores, self.last_epoch = scores, last_epoch
        self.best: tuple[int, float, Path] | None = None

    def add(self, epoch: int) -> None:
        if self.select is None and epoch < self.last_epoch:
            return  # nothing to choose by: only the last epoch is kept
        folder = self.staging / f"epoch-{epoch}"
        self.save(folder)
        score = 0.0
        if self.select is not None:
            score = float(self.select(folder))
            self.scores.append({"epoch": epoch, "valid": score})
            log.info("fine-tune: epoch %d scores %.4f on validation", epoch, score)
        if self.best is None or score > self.best[1]:  # ties keep the earlier epoch
            if self.best is not None:
                shutil.rmtree(self.best[2], ignore_errors=True)
            self.best = (epoch, score, folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _train(
    source: Path,
    texts: Sequence[str],
    pairs: np.ndarray,
    staging: Path,
    plan: _Plan,
    select: Select | None,
    scores: list[dict[str, float]],
    base: EncoderSettings,
) -> tuple[int, Path]:
    """Train every weight in ``staging``; score each epoch; return the best epoch and its folder.

    Validation scores of the epochs are appended to ``scores``.
    """
    import datasets as hf_datasets
    import torch
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import TrainerCallback, set_seed

    set_seed(plan.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    try:
        model = SentenceTransformer(str(source), device="cpu")
        model.max_seq_length = plan.max_seq_length
        column = np.asarray(list(texts), dtype=object)
        train = hf_datasets.Dataset.from_dict(
            {"anchor": column[pairs[:, 0]].tolist(), "positive": column[pairs[:, 1]].tolist()}
        )
        # Co-interaction is symmetric, so each side ranks the other against the batch.
        loss = MultipleNegativesRankingLoss(
            model, directions=("query_to_doc", "doc_to_query"), partition_mode="per_direction"
        )

        def save(folder: Path) -> None:
            model.save(str(folder), create_model_card=False)

        candidates = _Candidates(save, staging, select, scores, plan.epochs)

        class EpochEnd(TrainerCallback):  # type: ignore[misc]
            epoch = 0

            def on_epoch_end(self, *args: Any, **kwargs: Any) -> None:
                self.epoch += 1
                candidates.add(self.epoch)

        arguments = _arguments(plan, staging / "trainer", n_pairs=len(pairs))
        SentenceTransformerTrainer(
            model=model, args=arguments, train_dataset=train, loss=loss, callbacks=[EpochEnd()]
        ).train()
    finally:
        torch.set_num_threads(threads)
    assert candidates.best is not None, "the trainer ran no epoch"
    return candidates.best[0], candidates.best[2]


def _train_adapter(
    source: Path,
    texts: Sequence[str],
    pairs: np.ndarray,
    staging: Path,
    plan: _Plan,
    select: Select | None,
    scores: list[dict[str, float]],
    base: EncoderSettings,
) -> tuple[int, Path]:
    """Learn a linear map on the frozen encoder's embeddings; save candidates as folders.

    The base vectors come through the embedding cache (a shop's catalogue is usually encoded
    already). Each step ranks every pair's partner against the batch in both directions
    (in-batch negatives; another copy of the same item is masked, never a negative), and a
    penalty holds the map near the identity so the base model's geometry is the prior. A
    candidate folder is the base model plus ``Dense`` (the map) and ``Normalize`` modules,
    so it loads and encodes like any sentence-transformers folder.
    """
    import torch
    import torch.nn.functional as F
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize

    vectors = embed_texts(texts, settings=base, progress=plan.progress)
    threads = torch.get_num_threads()
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    try:
        generator = torch.Generator().manual_seed(plan.seed)
        x = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
        dim = x.shape[1]
        weight = torch.nn.Parameter(torch.eye(dim))
        bias = torch.nn.Parameter(torch.zeros(dim))
        optimizer = torch.optim.Adam([weight, bias], lr=plan.learning_rate)
        index = torch.from_numpy(pairs)
        eye = torch.eye(dim)

        def save(folder: Path) -> None:
            model = SentenceTransformer(str(source), device="cpu")
            dense = Dense(
                dim,
                dim,
                bias=True,
                activation_function=torch.nn.Identity(),
                init_weight=weight.detach().clone(),
                init_bias=bias.detach().clone(),
            )
            tuned = SentenceTransformer(modules=[*model, dense, Normalize()], device="cpu")
            tuned.save(str(folder), create_model_card=False)
            seed_adapter_cache(folder, base, texts)

        candidates = _Candidates(save, staging, select, scores, plan.epochs)
        checkpoints = {plan.epochs} | {2**i for i in range(plan.epochs.bit_length())}
        for epoch in tqdm(range(1, plan.epochs + 1), desc="adapter", disable=not plan.progress):
            order = torch.randperm(len(index), generator=generator)
            for batch in order.split(plan.batch_size):  # type: ignore[no-untyped-call]
                a, b = index[batch, 0], index[batch, 1]
                za = F.normalize(x[a] @ weight.T + bias, dim=1)
                zb = F.normalize(x[b] @ weight.T + bias, dim=1)
                logits = ADAPTER_SCALE * (za @ zb.T)
                target = torch.arange(len(batch))
                own = target[:, None] == target[None, :]
                # Row i ranks b_i among the batch's b's: any other copy of b_i or of a_i
                # is not a negative. Column-wise the same holds with a and b swapped.
                forward_copies = (b[None, :] == b[:, None]) | (b[None, :] == a[:, None])
                backward_copies = (a[None, :] == a[:, None]) | (a[None, :] == b[:, None])
                loss = 0.5 * (
                    F.cross_entropy(logits.masked_fill(forward_copies & ~own, -1e4), target)
                    + F.cross_entropy(logits.T.masked_fill(backward_copies & ~own, -1e4), target)
                )
                loss = loss + ADAPTER_TO_IDENTITY * ((weight - eye) ** 2).sum()
                optimizer.zero_grad()
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
            if epoch in checkpoints:
                candidates.add(epoch)
    finally:
        torch.set_num_threads(threads)
    assert candidates.best is not None, "the trainer ran no epoch"
    return candidates.best[0], candidates.best[2]


def seed_adapter_cache(folder: Path, base: EncoderSettings, texts: Sequence[str]) -> None:
    """Cache an adapter folder's embeddings of ``texts`` without running its transformer.

    The adapter's transformer is the base model's, frozen, so its embedding of a text is its
    last two modules (``Dense`` + ``Normalize``) applied to the base embedding, which the
    cache already holds. Scoring a candidate, or serving the published folder, then encodes
    nothing; the vectors match a real encode to float rounding (a test checks it).
    """
    import torch
    from sentence_transformers import SentenceTransformer

    filled = [text for text in texts if text.strip()]
    if not filled:
        return
    head = list(SentenceTransformer(str(folder), device="cpu"))[-2:]
    features = {"sentence_embedding": torch.from_numpy(embed_texts(filled, settings=base))}
    with torch.no_grad():
        for module in head:
            features = module(features)
    encoder = load_encoder(base.model_copy(update={"model": str(folder)}))
    cache = EmbeddingCache(default_cache_root(), encoder.model_id, encoder.dim)
    cache.put(filled, features["sentence_embedding"].numpy().astype(np.float32))


def _arguments(plan: _Plan, output_dir: Path, *, n_pairs: int) -> Any:
    """Trainer arguments: CPU, seeded, nothing reported, saved or pushed by the trainer itself."""
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers

    # Warm up over the first 10 % of steps, rounded down: a run of a few steps (whose first
    # step would otherwise have a learning rate of 0) starts at full rate.
    steps = -(-n_pairs // plan.batch_size) * plan.epochs
    return SentenceTransformerTrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=plan.epochs,
        per_device_train_batch_size=plan.batch_size,
        learning_rate=plan.learning_rate,
        warmup_steps=steps // 10,
        batch_sampler=BatchSamplers.NO_DUPLICATES,  # a repeated item must not be its own negative
        seed=plan.seed,
        data_seed=plan.seed,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="no",
        dataloader_pin_memory=False,
        disable_tqdm=not plan.progress,
        push_to_hub=False,
    )


def _base_name(model: str, source: Path) -> str:
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        return DEFAULT_MODEL
    return source.name


def _manifest(
    result: FineTuneResult,
    source: Path,
    created: datetime,
    saved_epoch: int,
    pairs: np.ndarray,
    plan: _Plan,
) -> dict[str, Any]:
    return {
        "base_model": result.base.model,
        "base_fingerprint": model_fingerprint(source),
        "created": created.isoformat(timespec="seconds"),
        "pairs": result.n_pairs,
        "pair_hash": pair_hash(pairs),
        "epochs": plan.epochs,
        "batch_size": plan.batch_size,
        "learning_rate": plan.learning_rate,
        "max_seq_length": plan.max_seq_length,
        "seed": plan.seed,
        "method": plan.method,
        "loss": (
            "MultipleNegativesRankingLoss(query_to_doc+doc_to_query, per_direction)"
            if plan.method == "full"
            else f"symmetric in-batch InfoNCE, scale {ADAPTER_SCALE}, "
            f"+ {ADAPTER_TO_IDENTITY} * ||W - I||^2"
        ),
        "scores": result.scores,
        "chosen_epoch": result.chosen_epoch,
        "saved_epoch": saved_epoch,
        "improved": result.improved,
        "wall_seconds": result.wall_seconds,
        "versions": _versions(),
    }


def _versions() -> dict[str, str]:
    names = ("shopmind", "sentence-transformers", "transformers", "torch", "datasets", "numpy")
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _publish(folder: Path, target: Path) -> Path:
    """Rename the staged folder into place (atomic); a same-second clash gets a suffix."""
    for attempt in range(100):
        candidate = target if attempt == 0 else target.with_name(f"{target.name}-{attempt + 1}")
        if candidate.exists():
            continue
        try:
            folder.rename(candidate)
        except OSError:
            if candidate.exists():
                continue
            raise
        return candidate
    raise FileExistsError(f"cannot find a free name for the fine-tuned encoder beside {target}")
