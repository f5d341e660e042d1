"""Histories as the network's input tensors: left-aligned, newest ``max_len`` events."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from shopmind.data.histories import Histories
from shopmind.models.sequential.network import gap_buckets


@dataclass(frozen=True)
class Sequences:
    """A batch of sequences as padded tensors (item index + 1, 0 = padding)."""

    items: torch.Tensor  # int64 (rows × len)
    types: torch.Tensor  # int64 (rows × len)
    gaps: torch.Tensor  # int64 (rows × len), log time-gap buckets
    lengths: torch.Tensor  # int64 (rows,)

    def __len__(self) -> int:
        return int(self.items.shape[0])

    def take(self, rows: torch.Tensor) -> Sequences:
        """The given rows, trimmed to their longest sequence."""
        lengths = self.lengths[rows]
        width = max(int(lengths.max()) if len(rows) else 1, 1)
        return Sequences(
            self.items[rows, :width], self.types[rows, :width], self.gaps[rows, :width], lengths
        )


def encode(histories: Histories, max_len: int, *, width: int | None = None) -> Sequences:
    """The newest ``max_len`` events of every history, oldest first, padded on the right.

    ``width`` fixes the padded length (scores then do not depend on the batch they came in).
    """
    recent = histories.last(max_len)
    lengths = recent.lengths
    n = len(recent)
    width = width or max(int(lengths.max()) if n else 1, 1)
    row = np.repeat(np.arange(n), lengths)
    col = np.arange(len(recent.items)) - np.repeat(recent.indptr[:-1], lengths)
    items = np.zeros((n, width), dtype=np.int64)
    types = np.zeros((n, width), dtype=np.int64)
    stamps = np.zeros((n, width), dtype=np.int64)
    items[row, col] = recent.items + 1
    types[row, col] = recent.types
    stamps[row, col] = recent.timestamps
    length_t = torch.from_numpy(lengths.astype(np.int64))
    return Sequences(
        torch.from_numpy(items),
        torch.from_numpy(types),
        gap_buckets(torch.from_numpy(stamps), length_t),
        length_t,
    )
