"""Which items may be recommended: category, price, brand and availability rules as one mask."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shopmind.data.dataset import ItemSide


class ItemFilter(BaseModel):
    """A rule over the catalogue; :meth:`mask` says which items pass it.

    Names match case-insensitively. A category matches an item when it equals any level of the
    item's category path (``"Cameras"`` matches ``Electronics > Cameras > Camera Lenses``).
    Exclusions win over inclusions; an item with an unknown price fails any price bound.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Keep only items with one of these at any level of their category path (empty: all).
    categories: tuple[str, ...] = ()
    #: Drop items with one of these at any level of their category path.
    exclude_categories: tuple[str, ...] = ()
    min_price: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    max_price: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    #: Keep only items of one of these brands (empty: all).
    brands: tuple[str, ...] = ()
    available_only: bool = True

    @field_validator("categories", "exclude_categories", "brands", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, str):  # one name given bare
            value = (value,)
        if isinstance(value, list | tuple):
            parts = tuple(str(part).strip() for part in value)
            if any(not part for part in parts):
                raise ValueError("names must be non-empty strings")
            return parts
        return value

    @model_validator(mode="after")
    def _price_range(self) -> ItemFilter:
        low, high = self.min_price, self.max_price
        if low is not None and high is not None and low > high:
            raise ValueError(
                f"min_price ({low}) is greater than max_price ({high}); swap them or drop one"
            )
        return self

    @property
    def is_empty(self) -> bool:
        """True when the filter constrains nothing but availability."""
        return not (
            self.categories
            or self.exclude_categories
            or self.brands
            or self.min_price is not None
            or self.max_price is not None
        )

    def mask(self, items: ItemSide) -> np.ndarray:
        """One bool per item: True when it passes every rule.

        The category and brand lookups of ``items`` are built once per ItemSide object and
        cached, so later calls cost a few vectorised passes over the catalogue.
        """
        n = len(items.price)
        keep = np.array(items.available, dtype=bool) if self.available_only else np.ones(n, bool)
        if self.min_price is not None:
            keep &= items.price >= self.min_price  # NaN compares False
        if self.max_price is not None:
            keep &= items.price <= self.max_price
        if self.is_empty:
            return keep
        lookup = _lookup(items)
        if self.categories:
            keep &= lookup.paths_with(self.categories)[lookup.path_code]
        if self.exclude_categories:
            keep &= ~lookup.paths_with(self.exclude_categories)[lookup.path_code]
        if self.brands:
            wanted = {_fold(b) for b in self.brands}
            match = np.array([b in wanted for b in lookup.brand_names], dtype=bool)
            keep &= match[lookup.brand_code]
        return keep


def _fold(name: str) -> str:
    return name.strip().casefold()


@dataclass(frozen=True)
class _Lookup:
    """Items coded by distinct category path and distinct brand (case-folded)."""

    path_code: np.ndarray  # int64 per item: index into path_levels
    path_levels: list[frozenset[str]]  # the folded levels of each distinct path
    brand_code: np.ndarray  # int64 per item: index into brand_names
    brand_names: list[str]  # distinct folded brands

    def paths_with(self, names: Sequence[str]) -> np.ndarray:
        """One bool per distinct path: True when any of its levels is one of ``names``."""
        wanted = {_fold(n) for n in names}
        return np.array([not levels.isdisjoint(wanted) for levels in self.path_levels], bool)

    @classmethod
    def build(cls, items: ItemSide) -> _Lookup:
        paths: dict[tuple[str, ...], int] = {}
        path_code = np.fromiter(
            (paths.setdefault(p, len(paths)) for p in items.category), np.int64, len(items.category)
        )
        brands: dict[str, int] = {}
        raw_code = np.fromiter(
            (brands.setdefault(b, len(brands)) for b in items.brand), np.int64, len(items.brand)
        )
        # Brands that differ only in case share one folded code.
        folded: dict[str, int] = {}
        fold_of = np.array([folded.setdefault(_fold(b), len(folded)) for b in brands], np.int64)
        return cls(
            path_code=path_code,
            path_levels=[frozenset(_fold(level) for level in p) for p in paths],
            brand_code=fold_of[raw_code] if len(raw_code) else raw_code,
            brand_names=list(folded),
        )


# Keyed by id() with a weak reference to check the object is still the one the entry was built
# for (ItemSide holds lists, so it is not hashable); an entry goes when its ItemSide is collected.
_CACHE: dict[int, tuple[weakref.ref[ItemSide], _Lookup]] = {}
_CACHE_LOCK = threading.Lock()


def _lookup(items: ItemSide) -> _Lookup:
    key = id(items)
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
    if entry is not None and entry[0]() is items:
        return entry[1]
    lookup = _Lookup.build(items)
    assert len(lookup.path_code) == len(items.price), "ItemSide columns differ in length"

    def forget(_: object, key: int = key) -> None:
        with _CACHE_LOCK:
            current = _CACHE.get(key)
            if current is not None and current[0]() is None:
                del _CACHE[key]

    with _CACHE_LOCK:
        _CACHE[key] = (weakref.ref(items, forget), lookup)
    return lookup
