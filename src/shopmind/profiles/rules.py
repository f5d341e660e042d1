"""Rule segments: shoppers picked by conditions a shop writes, sized at once.

A rule segment is a name and a list of conditions, all of which a shopper meets::

    {"name": "Outdoor buyers, premium",
     "rules": [{"bought_in": "Outdoor", "within_days": 90}, {"price_percentile": {"min": 70}}]}

Conditions (one kind each): ``bought_in`` a category (a name at any level of the path, or a
path "Outdoor > Tents"), optionally ``within_days``; ``engaged_with`` a category with at
least ``min_share`` of the shopper's attention at its level; ``price_percentile``,
``recency_days``, ``purchases`` or ``monetary`` within a range (``min`` / ``max``);
``lifecycle`` one of the stages; ``segment`` a found segment's id. They are evaluated over the
facts of the active bundle's training snapshot (:class:`ShopperFacts`), so a rule's size is
known the moment it is posted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shopmind.catalog.schema import DAY_MS
from shopmind.files import atomic_write
from shopmind.profiles.profile import Lifecycle, Profile

FACTS_FILE, KEYS_FILE = "facts.npz", "facts.json"
_KINDS = ("bought_in", "engaged_with", "price_percentile", "recency_days", "purchases",
          "monetary", "lifecycle", "segment")  # fmt: skip


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self

    def holds(self, values: np.ndarray) -> np.ndarray:
        ok: np.ndarray = ~np.isnan(values)
        if self.min is not None:
            ok &= values >= self.min
        if self.max is not None:
            ok &= values <= self.max
        return ok


class Condition(BaseModel):
    """One condition of a rule segment: exactly one kind, with its options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bought_in: str | None = Field(None, min_length=1, max_length=500)
    within_days: float | None = Field(None, gt=0, le=36_600)
    engaged_with: str | None = Field(None, min_length=1, max_length=500)
    min_share: float = Field(0.0, ge=0, le=1)
    price_percentile: Range | None = None
    recency_days: Range | None = None
    purchases: Range | None = None
    monetary: Range | None = None
    lifecycle: list[Lifecycle] | None = Field(None, min_length=1)
    segment: str | None = Field(None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        kinds = [k for k in _KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) or "none"
            raise ValueError(
                f"a condition names exactly one of {', '.join(_KINDS)} (found: {found})"
            )
        if self.within_days is not None and self.bought_in is None:
            raise ValueError("within_days goes with bought_in")
        return self


class RuleSegmentIn(BaseModel):
    """A rule segment as a shop posts it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    rules: list[Condition] = Field(min_length=1, max_length=50)


class RuleSegment(RuleSegmentIn):
    id: str
    kind: str = "rule"


@dataclass(frozen=True)
class ShopperFacts:
    """What rules read, per shopper of the training snapshot (rows aligned with ``users``)."""

    users: list[str]
    as_of_ms: float
    price_percentile: np.ndarray
    recency_days: np.ndarray
    purchases: np.ndarray
    monetary: np.ndarray
    lifecycle: list[str]
    segment: list[str]
    #: Category keys ("Outdoor", "Outdoor > Tents"), and per (shopper, key) the purchases
    #: there, the last one's time (epoch ms) and the share of attention at its level.
    keys: list[str]
    row: np.ndarray
    key: np.ndarray
    bought: np.ndarray
    last_bought_ms: np.ndarray
    share: np.ndarray

    @classmethod
    def build(
        cls,
        profiles: Mapping[str, Profile],
        segment_of: Mapping[str, str],
        purchases: Sequence[tuple[str, tuple[str, ...], int]],
        as_of_ms: float,
    ) -> ShopperFacts:
        """From the profiles, each shopper's segment id, and every purchase as (user id,
        category path, epoch ms)."""
        users = sorted(profiles)
        rows = {u: r for r, u in enumerate(users)}
        cells: dict[tuple[int, str], list[float]] = {}  # -> [bought, last ms, share]
        for user, path, ts in purchases:
            r = rows.get(user)
            if r is None:
                continue
            for depth in range(1, len(path) + 1):
                cell = cells.setdefault((r, " > ".join(path[:depth])), [0.0, np.nan, 0.0])
                cell[0] += 1
                cell[1] = ts if np.isnan(cell[1]) else max(cell[1], ts)
        for user, r in rows.items():
            for level in profiles[user].categories:
                for a in level.affinities:
                    cells.setdefault((r, a.key), [0.0, np.nan, 0.0])[2] = a.share
        keys = sorted({k for _, k in cells})
        code = {k: i for i, k in enumerate(keys)}
        order = sorted(cells)
        ps = [profiles[u] for u in users]
        return cls(
            users=users,
            as_of_ms=as_of_ms,
            price_percentile=_floats(p.price.percentile for p in ps),
            recency_days=_floats(p.activity.recency_days for p in ps),
            purchases=_floats(p.activity.purchases for p in ps),
            monetary=_floats(p.activity.monetary or 0.0 for p in ps),
            lifecycle=[p.activity.lifecycle for p in ps],
            segment=[segment_of.get(u, "") for u in users],
            keys=keys,
            row=np.array([r for r, _ in order], np.int64),
            key=np.array([code[k] for _, k in order], np.int64),
            bought=np.array([cells[c][0] for c in order], np.float64),
            last_bought_ms=np.array([cells[c][1] for c in order], np.float64),
            share=np.array([cells[c][2] for c in order], np.float64),
        )

    def matching(self, rules: Sequence[Condition]) -> np.ndarray:
        """The rows (shoppers) that meet every condition."""
        ok = np.ones(len(self.users), bool)
        for c in rules:
            ok &= self._holds(c)
        return np.flatnonzero(ok)

    def members(self, rules: Sequence[Condition]) -> list[str]:
        """The ids of the shoppers that meet every condition."""
        return [self.users[r] for r in self.matching(rules).tolist()]

    def _holds(self, c: Condition) -> np.ndarray:
        n = len(self.users)
        if c.bought_in is not None or c.engaged_with is not None:
            wanted = self._keys(c.bought_in or c.engaged_with or "")
            cell = np.isin(self.key, wanted)
            if c.bought_in is not None:
                cell &= self.bought > 0
                if c.within_days is not None:
                    since = self.as_of_ms - c.within_days * DAY_MS
                    cell &= self.last_bought_ms >= since
            else:
                cell &= (self.share >= c.min_share) & (self.share > 0)
            out = np.zeros(n, bool)
            out[self.row[cell]] = True
            return out
        for name in ("price_percentile", "recency_days", "purchases", "monetary"):
            bounds = getattr(c, name)
            if bounds is not None:
                held: np.ndarray = bounds.holds(getattr(self, name))
                return held
        if c.lifecycle is not None:
            return np.isin(np.array(self.lifecycle, dtype=object), list(c.lifecycle))
        return np.array([s == c.segment for s in self.segment], bool)

    def _keys(self, category: str) -> np.ndarray:
        """The key codes a category names: a path, or a name at any level (any case)."""
        want = _norm(category)
        hits = [
            i for i, k in enumerate(self.keys)
            if _norm(k) == want or _norm(k.rsplit(" > ", 1)[-1]) == want
        ]  # fmt: skip
        return np.array(hits, np.int64)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            folder / FACTS_FILE,
            price_percentile=self.price_percentile, recency_days=self.recency_days,
            purchases=self.purchases, monetary=self.monetary, row=self.row, key=self.key,
            bought=self.bought, last_bought_ms=self.last_bought_ms, share=self.share,
        )  # fmt: skip
        meta = {"users": self.users, "as_of_ms": self.as_of_ms, "lifecycle": self.lifecycle,
                "segment": self.segment, "keys": self.keys}  # fmt: skip
        (folder / KEYS_FILE).write_text(json.dumps(meta) + "\n")

    @classmethod
    def load(cls, folder: Path) -> ShopperFacts:
        meta = json.loads((folder / KEYS_FILE).read_text())
        with np.load(folder / FACTS_FILE, allow_pickle=False) as a:
            arrays = {k: a[k] for k in a.files}
        return cls(
            users=meta["users"], as_of_ms=float(meta["as_of_ms"]), lifecycle=meta["lifecycle"],
            segment=meta["segment"], keys=meta["keys"], **arrays,
        )  # fmt: skip


def _floats(values: Any) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], np.float64)


def _norm(text: str) -> str:
    return re.sub(r"\s*>\s*", " > ", text.strip()).casefold()


class RuleSegments:
    """The shop's rule segments, in ``<home>/segments/rules.json`` (written whole, atomically)."""

    def __init__(self, home: Path) -> None:
        self.path = home / "segments" / "rules.json"

    def all(self) -> list[RuleSegment]:
        if not self.path.exists():
            return []
        data = json.loads(self.path.read_text())
        return [RuleSegment.model_validate(s) for s in data.get("segments", [])]

    def get(self, segment_id: str) -> RuleSegment | None:
        return next((s for s in self.all() if s.id == segment_id), None)

    def add(self, posted: RuleSegmentIn) -> RuleSegment:
        kept = self.all()
        used = {s.id for s in kept}
        n = 1
        while f"r{n}" in used:
            n += 1
        segment = RuleSegment(id=f"r{n}", **posted.model_dump())
        self._write([*kept, segment])
        return segment

    def delete(self, segment_id: str) -> bool:
        kept = self.all()
        rest = [s for s in kept if s.id != segment_id]
        if len(rest) == len(kept):
            return False
        self._write(rest)
        return True

    def _write(self, segments: list[RuleSegment]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"version": 1, "segments": [s.model_dump(mode="json") for s in segments]}
        atomic_write(self.path, json.dumps(body, indent=2) + "\n")
