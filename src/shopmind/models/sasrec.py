"""The sequential recommender: causal self-attention over the shopper's latest events (SASRec).

Each event is its item (an id embedding, a projection of the item's language-model vector, or
both, summed or gated) plus its position, event type and log time gap since the previous
event. The state after the newest event scores every item by a dot product with the same item
representations, so the next click changes the answer and items never seen in training are
scored from their text. Training predicts the next item at every position with a full softmax
over the catalogue (or a sampled one, or the original SASRec BCE), stopping early on
validation NDCG@10; the model is seeded and deterministic on CPU.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Self

import numpy as np
import torch
from pydantic import Field, model_validator
from safetensors.torch import load_file, save_file

from shopmind.data.dataset import Dataset
from shopmind.data.histories import Histories
from shopmind.models.base import Capabilities, Holdout, ModelConfig, Recommender
from shopmind.models.sequential.network import ItemRepr, Norm, SequenceNetwork
from shopmind.models.sequential.training import Loss, Plan, Report, Watch, last_states, train
from shopmind.text.embed import embed_items, embed_texts
from shopmind.text.encoder import EncoderSettings
from shopmind.text.item_text import TextTemplate

log = logging.getLogger(__name__)

CHECKPOINT = "sasrec-best.safetensors"


class SASRecConfig(ModelConfig):
    dim: int = Field(default=64, ge=8)
    layers: int = Field(default=2, ge=1)
    heads: int = Field(default=2, ge=1)
    #: Newest events read from a history (and the training window).
    max_len: int = Field(default=50, ge=2)
    dropout: float = Field(default=0.5, ge=0.0, lt=1.0)
    #: Where each block normalises: "pre" (x + f(norm(x))) or "post" (norm(x + f(x))).
    norm: Norm = "pre"
    #: Dropout also between the feed-forward's two layers (the original SASRec's; RecBole's
    #: drops only after them).
    inner_dropout: bool = True
    #: Initialise every linear map N(0, init_std) with zero biases (None: PyTorch's default).
    init_std: float | None = Field(default=None, gt=0.0)
    #: Score by cosine / temperature instead of a plain dot product (None: dot product).
    temperature: float | None = Field(default=None, gt=0.0)
    #: Item representation: id embedding, text projection, or both ("sum" / "gate").
    item_repr: ItemRepr = "id"
    #: Share of items whose id embedding is dropped in each training step (they take their
    #: text projection alone, as items never seen do), so new items can compete.
    id_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    event_types: bool = True
    time_gaps: bool = True
    #: "ce": full softmax over all items; "sampled": softmax over ``negatives`` uniform
    #: negatives per batch; "bce": the original SASRec loss (one negative per position).
    loss: Loss = "ce"
    negatives: int = Field(default=1024, ge=1)
    #: Most epochs; training stops earlier after ``patience`` epochs without a better
    #: validation NDCG@10.
    epochs: int = Field(default=200, ge=1)
    patience: int = Field(default=10, ge=1)
    #: Stop after the epoch that passes this many seconds of training, keeping the best
    #: epoch so far (None: no limit) — how a training budget bounds it.
    max_seconds: float | None = Field(default=None, gt=0.0)
    batch_size: int = Field(default=256, ge=1)
    #: Batch histories of similar length together (least padding); False: random batches, run
    #: through the network in pieces of similar length (on Beauty they generalise far better).
    by_length: bool = True
    lr: float = Field(default=1e-3, gt=0.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    #: Rows of the holdout watched each epoch (a seeded sample of this many when it is larger;
    #: 0: all of them). Watching costs a full scoring pass.
    watch_rows: int = Field(default=10_000, ge=0)
    #: Without a holdout from the caller, the last event of this share of the training
    #: shoppers is held out to stop early (0: train all ``epochs``).
    holdout_share: float = Field(default=0.1, ge=0.0, lt=1.0)
    seed: int = 0
    #: CPU threads for torch while fitting (0: torch's default, all cores).
    threads: int = Field(default=0, ge=0)
    #: Folder where the best weights so far are written (safetensors) while training.
    checkpoint: str | None = None
    encoder: EncoderSettings = Field(default_factory=EncoderSettings.from_env)
    template: TextTemplate = TextTemplate()
    cache: bool = True

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> Self:
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be a multiple of heads ({self.heads})")
        return self


class SASRec(Recommender):
    """SASRec-family sequential recommender, optionally text-aware."""

    name = "sasrec"
    config_class = SASRecConfig
    config: SASRecConfig

    network: SequenceNetwork
    report: Report | None = None

    # --- training ---------------------------------------------------------------------------

    def _fit(self, data: Dataset) -> None:
        share = self.config.holdout_share
        histories = data.histories()
        if share <= 0:
            self._train(data, histories, None)
            return
        rng = np.random.default_rng(self.config.seed)
        eligible = np.flatnonzero(histories.lengths >= 3)
        chosen = np.zeros(len(histories), dtype=bool)
        chosen[rng.choice(eligible, int(share * len(eligible)), replace=False)] = True
        keep = np.ones(len(histories.items), dtype=bool)
        keep[histories.indptr[1:][chosen] - 1] = False
        train_rows = _select(histories, keep)
        held = histories.take(np.flatnonzero(chosen))
        watch = Watch(
            held.prefix(held.lengths - 1),
            held.items[held.indptr[1:] - 1],
            self.config.seen == "demote",
        )
        self._train(data, train_rows, watch)

    def _fit_watching(self, data: Dataset, holdout: Holdout) -> None:
        targets = holdout.rows.targets.tocsr()
        assert (np.diff(targets.indptr) >= 1).all(), "every holdout row needs a target"
        first = targets.indices[targets.indptr[:-1]].astype(np.int64)
        mask = holdout.mask_history or self.config.seen == "demote"
        rows = np.arange(len(first))
        if 0 < self.config.watch_rows < len(rows):
            rng = np.random.default_rng(self.config.seed)
            rows = np.sort(rng.choice(rows, self.config.watch_rows, replace=False))
        watch = Watch(holdout.rows.histories.take(rows), first[rows], mask)
        self._train(data, data.histories(), watch)

    def _train(self, data: Dataset, histories: Histories, watch: Watch | None) -> None:
        cfg = self.config
        with _deterministic(cfg.threads):
            torch.manual_seed(cfg.seed)
            text = self._text_vectors(data)
            self.network = self._build(data.n_items, len(data.type_names), text)
            counts = np.bincount(data.item, minlength=data.n_items)
            self.network.items.known.copy_(torch.from_numpy(counts > 0))
            self.popularity = np.log1p(counts).astype(np.float32)
            plan = Plan(
                loss=cfg.loss,
                negatives=cfg.negatives,
                epochs=cfg.epochs,
                batch_size=cfg.batch_size,
                by_length=cfg.by_length,
                lr=cfg.lr,
                weight_decay=cfg.weight_decay,
                patience=cfg.patience,
                max_len=cfg.max_len,
                seed=cfg.seed,
                max_seconds=cfg.max_seconds,
            )
            on_epoch = self._write_checkpoint if cfg.checkpoint else None
            self.report = train(self.network, histories, plan, watch, on_epoch=on_epoch)
        self._refresh()

    def _text_vectors(self, data: Dataset) -> torch.Tensor | None:
        if self.config.item_repr == "id":
            return None
        vectors = embed_items(
            data.item_side,
            template=self.config.template,
            settings=self.config.encoder,
            cache=self.config.cache,
        )
        if not vectors.any():
            raise ValueError(
                f"item_repr={self.config.item_repr!r} reads item text, and no item of this "
                "catalogue has any (titles, categories, brands are all blank): use item_repr='id'"
            )
        return torch.from_numpy(vectors)

    def _build(self, n_items: int, n_types: int, text: torch.Tensor | None) -> SequenceNetwork:
        cfg = self.config
        return SequenceNetwork(
            n_items=n_items,
            n_types=n_types,
            dim=cfg.dim,
            layers=cfg.layers,
            heads=cfg.heads,
            max_len=cfg.max_len,
            dropout=cfg.dropout,
            repr_=cfg.item_repr,
            text=text,
            event_types=cfg.event_types,
            time_gaps=cfg.time_gaps,
            temperature=cfg.temperature,
            id_dropout=cfg.id_dropout,
            norm=cfg.norm,
            init_std=cfg.init_std,
            inner_dropout=cfg.inner_dropout,
        )

    def _write_checkpoint(self, epoch: int, network: SequenceNetwork) -> None:
        assert self.config.checkpoint is not None
        folder = Path(self.config.checkpoint)
        folder.mkdir(parents=True, exist_ok=True)
        weights = {k: v.detach().contiguous() for k, v in network.state_dict().items()}
        save_file(weights, str(folder / CHECKPOINT), metadata={"epoch": str(epoch)})

    def load_checkpoint(self, path: str | Path) -> None:
        """Load weights written while training (safetensors: no code is ever unpickled)."""
        self.network.load_state_dict(load_file(str(path)))
        self._refresh()

    # --- serving ----------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Recompute the item representations every score uses."""
        self.network.eval()
        with torch.no_grad():
            self._table = self.network.table().detach().clone()

    def _score(self, histories: Histories) -> np.ndarray:
        out = np.empty((len(histories), self.n_items), dtype=np.float32)
        has = histories.lengths > 0
        out[~has] = self.popularity  # no history yet: the most popular items first
        rows = np.flatnonzero(has)
        if len(rows):
            with torch.no_grad():
                states = last_states(
                    self.network, histories.take(rows), self.config.max_len, table=self._table
                )
                out[rows] = (states @ self._table.T).numpy()
        return out

    @property
    def capabilities(self) -> Capabilities:
        # With item_repr other than "id", items without training events score from their text.
        return Capabilities(takes_new_items=self.config.item_repr != "id")

    @property
    def encoder(self) -> EncoderSettings | None:
        return self.config.encoder if self.config.item_repr != "id" else None

    def add_items(self, texts: Sequence[str]) -> np.ndarray:
        """Make new items scorable from their text, without retraining; their indices."""
        if self.config.item_repr == "id":
            raise ValueError("an id-only sasrec cannot score new items: use item_repr 'sum'")
        vectors = embed_texts(texts, settings=self.config.encoder, cache=self.config.cache)
        return self.add_item_vectors(vectors)

    def add_item_vectors(self, vectors: np.ndarray) -> np.ndarray:
        """Append new items by their encoder embeddings (the encoder this model was trained
        with): scored from their text alone until the next training; their indices."""
        if self.config.item_repr == "id":
            raise ValueError("an id-only sasrec cannot score new items: use item_repr 'sum'")
        state = self._state()
        vectors = np.asarray(vectors, dtype=np.float32)
        width = state["net/items.text"].shape[1]
        if vectors.ndim != 2 or vectors.shape[1] != width:
            raise ValueError(
                f"new item vectors have shape {vectors.shape}; this sasrec reads {width}-d "
                "vectors of its own encoder: encode the items with it"
            )
        n = len(vectors)
        for key in ("net/items.text", "net/items.ids.weight", "net/items.known", "popularity"):
            if key in state:
                extra = vectors if key == "net/items.text" else np.zeros_like(state[key][:1])
                state[key] = np.concatenate(
                    [state[key], np.broadcast_to(extra, (n, *extra.shape[1:]))]
                )
        start = self.n_items
        self._set_state(state)
        self.n_items = start + n
        return np.arange(start, self.n_items)

    # --- persistence ------------------------------------------------------------------------

    def _state(self) -> dict[str, np.ndarray]:
        state = {
            f"net/{k}": v.detach().numpy().copy() for k, v in self.network.state_dict().items()
        }
        state["popularity"] = self.popularity
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        weights = {
            k[4:]: torch.from_numpy(np.array(v)) for k, v in state.items() if k[:4] == "net/"
        }
        text = weights.get("items.text")
        n_types = weights["types.weight"].shape[0] if "types.weight" in weights else 1
        self.popularity = np.asarray(state["popularity"], dtype=np.float32)
        with torch.random.fork_rng():
            self.network = self._build(len(self.popularity), n_types, text)
        self.network.load_state_dict(weights)
        self._refresh()


def _select(histories: Histories, keep: np.ndarray) -> Histories:
    """The kept events of every row."""
    row = np.repeat(np.arange(len(histories)), histories.lengths)[keep]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row, minlength=len(histories)))])
    return Histories(
        indptr.astype(np.int64),
        histories.items[keep],
        histories.types[keep],
        histories.timestamps[keep],
        histories.weights[keep],
    )


@contextlib.contextmanager
def _deterministic(threads: int) -> Iterator[None]:
    """Deterministic torch kernels (and the given thread count) for the duration of a fit."""
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    was_threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        torch.set_num_threads(was_threads)
