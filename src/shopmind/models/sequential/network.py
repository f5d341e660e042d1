"""The SASRec-family network: causal self-attention over a shopper's recent events.

Inputs are left-aligned sequences (padding after the last event, item code 0 = padding), so
with a causal mask a position never sees padding and needs no key mask. Every position's
output state scores the next item against the same item representations the input uses.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

ItemRepr = Literal["id", "text", "sum", "gate"]
Norm = Literal["pre", "post"]

#: Number of log2 time-gap buckets (bucket b holds gaps of about 2**b seconds; the last is open).
GAP_BUCKETS = 24


def gap_buckets(timestamps_ms: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Bucket of the log2 gap (in seconds) since each event's previous one; 0 for the first."""
    gaps = torch.zeros_like(timestamps_ms)
    gaps[:, 1:] = (timestamps_ms[:, 1:] - timestamps_ms[:, :-1]).clamp(min=0)
    seconds = gaps.double() / 1000.0
    buckets = 1 + torch.floor(torch.log2(seconds + 1.0)).long()
    buckets[:, 0] = 0
    positions = torch.arange(timestamps_ms.shape[1]).unsqueeze(0)
    buckets[positions >= lengths.unsqueeze(1)] = 0
    return buckets.clamp(max=GAP_BUCKETS - 1)


class ItemEncoder(nn.Module):
    """Item vectors from an id embedding, a projection of the item's text vector, or both.

    Items with no training interaction (``known`` False) take their text projection alone, so
    a new item is scorable from its text; ``gate`` mixes id and text per item and dimension.
    """

    known: torch.Tensor  # bool per item: had training events
    text: torch.Tensor  # (n_items × text dim) language-model vectors

    def __init__(
        self,
        n_items: int,
        dim: int,
        repr_: ItemRepr,
        text: torch.Tensor | None,
        id_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.repr = repr_
        self.id_dropout = id_dropout
        self.uses_ids = repr_ != "text"
        self.uses_text = repr_ != "id"
        self.register_buffer("known", torch.ones(n_items, dtype=torch.bool))
        if self.uses_ids:
            self.ids = nn.Embedding(n_items, dim)
            nn.init.normal_(self.ids.weight, std=0.02)
        if self.uses_text:
            assert text is not None, "a text-aware item encoder needs the item text vectors"
            self.register_buffer("text", text.float().clone())
            self.project = nn.Linear(text.shape[1], dim)
        if repr_ == "gate":
            self.gate = nn.Linear(2 * dim, dim)

    def forward(self) -> torch.Tensor:
        """(n_items × dim) representation of every item."""
        if not self.uses_text:
            out: torch.Tensor = self.ids.weight
            return out
        text: torch.Tensor = self.project(self.text)
        if not self.uses_ids:
            return text
        ids = self.ids.weight
        if self.repr == "sum":
            both = ids + text
        else:
            g = torch.sigmoid(self.gate(torch.cat([ids, text], dim=1)))
            both = g * ids + (1 - g) * text
        known = self.known
        if self.training and self.id_dropout > 0:
            # Train some items as if new, so text-only vectors learn to compete with the rest.
            known = known & (torch.rand(known.shape) >= self.id_dropout)
        return torch.where(known.unsqueeze(1), both, text)


class Block(nn.Module):
    """Causal self-attention and feed-forward, each with a residual.

    ``pre``: each sub-layer reads a normalised input (x + f(norm(x))); ``post``: the original
    Transformer's (and SASRec's reference code's) norm(x + f(x)).
    """

    def __init__(
        self, dim: int, heads: int, inner: int, dropout: float, norm: Norm, inner_dropout: bool
    ) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.post = norm == "post"
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(
            nn.Linear(dim, inner),
            nn.GELU(),
            nn.Dropout(dropout if inner_dropout else 0.0),
            nn.Linear(inner, dim),
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor
        if self.post:
            x = self.norm1(x + self.drop(self._attend(x)))
            out = self.norm2(x + self.drop(self.ff(x)))
        else:
            x = x + self.drop(self._attend(self.norm1(x)))
            out = x + self.drop(self.ff(self.norm2(x)))
        return out

    def _attend(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).unbind(2)
        attended = F.scaled_dot_product_attention(
            q.transpose(1, 2),
            k.transpose(1, 2),
            v.transpose(1, 2),
            is_causal=True,
            dropout_p=self.dropout if self.training else 0.0,
        )
        out: torch.Tensor = self.out(attended.transpose(1, 2).reshape(b, n, d))
        return out


class SequenceNetwork(nn.Module):
    """Item representation + position (+ event type, + time gap) → causal blocks → states."""

    def __init__(
        self,
        *,
        n_items: int,
        n_types: int,
        dim: int,
        layers: int,
        heads: int,
        max_len: int,
        dropout: float,
        repr_: ItemRepr,
        text: torch.Tensor | None,
        event_types: bool,
        time_gaps: bool,
        temperature: float | None = None,
        id_dropout: float = 0.0,
        norm: Norm = "pre",
        init_std: float | None = None,
        inner_dropout: bool = True,
    ) -> None:
        super().__init__()
        self.items = ItemEncoder(n_items, dim, repr_, text, id_dropout)
        # With a temperature, scores are cosines / temperature (states and items unit-norm).
        self.scale = None if temperature is None else float(temperature) ** -0.5
        self.positions = nn.Embedding(max_len, dim)
        self.types = nn.Embedding(n_types, dim) if event_types else None
        self.gaps = nn.Embedding(GAP_BUCKETS, dim) if time_gaps else None
        for table in (self.positions, self.types, self.gaps):
            if table is not None:
                nn.init.normal_(table.weight, std=0.02)
        self.input_norm = nn.LayerNorm(dim)
        self.input_drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            Block(dim, heads, 4 * dim, dropout, norm, inner_dropout) for _ in range(layers)
        )
        # Post-norm blocks end normalised already.
        self.final_norm: nn.Module = nn.LayerNorm(dim) if norm == "pre" else nn.Identity()
        if init_std is not None:  # every linear map N(0, std), biases 0 (BERT's, RecBole's)
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    nn.init.normal_(module.weight, std=init_std)
                    nn.init.zeros_(module.bias)

    def table(self) -> torch.Tensor:
        """(n_items × dim) item representations, as the scores use them."""
        table: torch.Tensor = self.items()
        if self.scale is not None:
            table = F.normalize(table, dim=1) * self.scale
        return table

    def forward(
        self,
        items: torch.Tensor,
        types: torch.Tensor,
        gaps: torch.Tensor,
        table: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(batch × len × dim) states; ``items`` holds item index + 1 (0 = padding)."""
        if table is None:
            table = self.table()
        padded = torch.cat([table.new_zeros(1, table.shape[1]), table])
        x = padded[items] + self.positions.weight[: items.shape[1]].unsqueeze(0)
        if self.types is not None:
            x = x + self.types(types)
        if self.gaps is not None:
            x = x + self.gaps(gaps)
        x = self.input_drop(self.input_norm(x))
        for block in self.blocks:
            x = block(x)
        out: torch.Tensor = self.final_norm(x)
        if self.scale is not None:
            out = F.normalize(out, dim=-1) * self.scale
        return out
