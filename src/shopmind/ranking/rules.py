"""Business rules a shop sets at request time: filters, boosts and buries, pins and hides,
per-brand / per-category caps, diversity, and each placement's exclusion policy.

A :class:`RuleSet` is plain JSON (validated: an error names the rule and the field) kept in
versioned files under ``$SHOPMIND_HOME/rules/`` (:class:`RuleStore`) and set through the admin
API. Filters and hides decide which items may be served before any source proposes (so a list
stays full); boosts and buries move a candidate on the [0, 1] scale of its list's scores; pins
put an item at a position; caps, near-duplicate collapsing and MMR run in the diversity stage.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shopmind.data.idmap import IdMap
from shopmind.files import atomic_write
from shopmind.ranking.context import ItemArrays
from shopmind.ranking.slate import Placement as PlacementName
from shopmind.relations.cross import Permits

Operator = Literal["eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "contains"]
#: Item fields a condition may read; ``attributes.<name>`` reads an attribute.
FIELDS = (
    "id",
    "title",
    "brand",
    "category",
    "leaf",
    "price",
    "available",
    "age_days",
    "popularity",
)
PLACEMENTS = ("for_you", "similar", "complementary", "cross_category", "search")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """``field op value`` over one item field (``category`` matches any level of the path)."""

    field: str
    op: Operator = "eq"
    value: str | float | bool | list[str | float]

    @field_validator("field")
    @classmethod
    def _field(cls, value: str) -> str:
        if value in FIELDS or (value.startswith("attributes.") and len(value) > 11):
            return value
        raise ValueError(
            f"unknown field {value!r}: use one of {', '.join(FIELDS)} or attributes.NAME"
        )

    @model_validator(mode="after")
    def _operands(self) -> Condition:
        listed = isinstance(self.value, list)
        if self.op in ("in", "not_in") and not listed:
            raise ValueError(f'op {self.op!r} takes a list value, e.g. ["a", "b"]')
        if self.op not in ("in", "not_in") and listed:
            raise ValueError(f"op {self.op!r} takes one value, not a list (use 'in')")
        if self.op in ("lt", "le", "gt", "ge") and not _is_number(self.value):
            raise ValueError(f"op {self.op!r} compares numbers; {self.value!r} is not one")
        return self


class Rule(_Strict):
    """One rule; ``when`` conditions must all hold (none: every item)."""

    name: str = Field(min_length=1, max_length=80)
    action: Literal["filter", "hide", "boost", "bury", "pin"]
    when: list[Condition] = Field(default_factory=list)
    #: Item ids the rule is about (pins and hides by id; with ``when``, both must hold).
    items: list[str] = Field(default_factory=list)
    #: Boost / bury: how far an item moves on the [0, 1] scale of its list's scores.
    weight: float = Field(default=0.2, ge=0.0, le=10.0, allow_inf_nan=False)
    #: Pin: the 0-based position the item takes.
    position: int = Field(default=0, ge=0, le=1_000)
    #: Placements the rule applies to (empty: all).
    placements: list[PlacementName] = Field(default_factory=list)
    enabled: bool = True

    @model_validator(mode="after")
    def _targets(self) -> Rule:
        if self.action == "pin" and not self.items:
            raise ValueError("a pin names the item(s) it pins in 'items'")
        if self.action in ("filter", "hide") and not (self.when or self.items):
            raise ValueError(f"a {self.action} rule needs 'when' conditions or 'items'")
        return self

    def applies(self, placement: str) -> bool:
        return self.enabled and (not self.placements or placement in self.placements)


class Cap(_Strict):
    """At most ``max`` items of one brand (or category) in a served list."""

    by: Literal["brand", "leaf", "root"]
    max: int = Field(ge=1, le=1_000)
    placements: list[PlacementName] = Field(default_factory=list)


class Diversity(_Strict):
    """The diversity stage: near-duplicate collapsing and MMR re-ranking."""

    #: Two candidates whose text cosine reaches this are variants of one product: only the
    #: better-ranked is served (None: off).
    collapse: float | None = Field(default=0.95, gt=0.0, le=1.0)
    #: MMR trade-off λ: a candidate's score is (1-λ)·relevance - λ·(max similarity to the items
    #: already chosen); 0 turns it off.
    mmr: float = Field(default=0.0, ge=0.0, le=1.0)
    #: Candidates MMR re-ranks (the best by relevance).
    mmr_depth: int = Field(default=50, ge=1, le=1_000)


class Placement(_Strict):
    """What a placement leaves out of its lists besides purchases."""

    #: Items of the shopper's last ``recent`` events (any type) are not shown.
    recent: int = Field(default=0, ge=0, le=100)
    #: At least this share of the list comes from categories new to the shopper (the
    #: category graph's level), the best-ranked such candidates moving up; 0: no minimum.
    new_categories: float = Field(default=0.0, ge=0.0, le=1.0, allow_inf_nan=False)


class Transition(_Strict):
    """A category transition, each side matched on any level of the category path."""

    source: str = Field(min_length=1, max_length=200)
    target: str = Field(min_length=1, max_length=200)


class Transitions(_Strict):
    """Which category transitions complements and the cross-category row may make: none of
    ``block``; when ``allow`` lists any, only those."""

    allow: list[Transition] = Field(default_factory=list)
    block: list[Transition] = Field(default_factory=list)


def _default_placements() -> dict[PlacementName, Placement]:
    # "Recommended for you" does not lead with the product the shopper just viewed.
    return {
        "for_you": Placement(recent=1),
        "similar": Placement(),
        "complementary": Placement(),
        "cross_category": Placement(),
        "search": Placement(),
    }


class RuleSet(_Strict):
    """Everything a shop sets at request time (the defaults: see each field)."""

    rules: list[Rule] = Field(default_factory=list)
    caps: list[Cap] = Field(default_factory=list)
    diversity: Diversity = Field(default_factory=Diversity)
    placements: dict[PlacementName, Placement] = Field(default_factory=_default_placements)
    transitions: Transitions = Field(default_factory=Transitions)

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        names = [r.name for r in self.rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(twice)}")
        return self

    def placement(self, name: str) -> Placement:
        found: Placement | None = self.placements.get(name)  # type: ignore[call-overload]
        return found if found is not None else Placement()

    def active(self, placement: str) -> list[Rule]:
        return [r for r in self.rules if r.applies(placement)]

    def caps_for(self, placement: str) -> list[Cap]:
        return [c for c in self.caps if not c.placements or placement in c.placements]


class RulesError(ValueError):
    """A rules document that does not validate; the message names each rule and field."""


def parse_rules(document: Any) -> RuleSet:
    """Validate a rules document (parsed JSON) into a RuleSet, or raise RulesError naming
    every problem as ``rules[2] 'sale boost' .when[0].op: ...``."""
    try:
        return RuleSet.model_validate(document)
    except ValidationError as exc:
        raise RulesError("; ".join(_describe(document, e) for e in exc.errors())) from None


def _describe(document: Any, error: Any) -> str:
    loc = list(error["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] in ("rules", "caps") and isinstance(loc[1], int):
        where = f"{loc[0]}[{loc[1]}]"
        try:
            name = document[loc[0]][loc[1]].get("name")
        except (KeyError, IndexError, TypeError, AttributeError):
            name = None
        if name:
            where += f" {name!r}"
        loc = loc[2:]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}{path or ''}: {message}".lstrip()


# --- evaluating conditions over the catalogue ----------------------------------------------


class CompiledRules:
    """A rule set evaluated over one catalogue: each rule's item mask, computed once."""

    def __init__(self, rules: RuleSet, items: ItemArrays, ids: IdMap) -> None:
        self.rules = rules
        self.items = items
        self.masks = {rule.name: matches(rule, items, ids) for rule in rules.rules}
        t = rules.transitions
        self.permits = Permits(
            [(x.source, x.target) for x in t.allow], [(x.source, x.target) for x in t.block]
        )

    @classmethod
    def current(
        cls, found: CompiledRules | None, rules: RuleSet, items: ItemArrays, ids: IdMap
    ) -> CompiledRules:
        """``found`` while it is of these rules over this catalogue, else them compiled anew."""
        if found is not None and found.items is items and found.rules is rules:
            return found
        return cls(rules, items, ids)

    def mask(self, rule: Rule) -> np.ndarray:
        return self.masks[rule.name]


def matches(rule: Rule, items: ItemArrays, ids: IdMap) -> np.ndarray:
    """One bool per catalogue item: the rule's conditions and items all hold."""
    n = items.n
    out = np.ones(n, dtype=bool)
    if rule.items:
        index = ids.indices(rule.items)
        named = np.zeros(n, dtype=bool)
        named[index[(index >= 0) & (index < n)]] = True
        out &= named
    for condition in rule.when:
        out &= condition_mask(condition, items, ids)
    return out


def condition_mask(condition: Condition, items: ItemArrays, ids: IdMap) -> np.ndarray:
    values = _column(condition.field, items, ids)
    op, target = condition.op, condition.value
    if condition.field == "category":  # any level of the path
        paths = items.side.category
        wanted = {_fold(t) for t in (target if isinstance(target, list) else [target])}
        hit = np.fromiter(
            (any(_fold(p) in wanted for p in path) for path in paths), bool, len(paths)
        )
        if op in ("eq", "in"):
            return hit
        if op in ("ne", "not_in"):
            return ~hit
        if op == "contains":
            needle = _fold(str(target))
            return np.fromiter((any(needle in _fold(p) for p in path) for path in paths), bool)
        raise RulesError(f"category compares by eq, ne, in, not_in or contains, not {op}")
    if op in ("lt", "le", "gt", "ge"):
        numbers = np.array([_number(v) for v in values], np.float64)
        bound = float(target)  # type: ignore[arg-type]
        with np.errstate(invalid="ignore"):
            return {
                "lt": numbers < bound,
                "le": numbers <= bound,
                "gt": numbers > bound,
                "ge": numbers >= bound,
            }[op]
    folded = [_fold(v) for v in values]
    if op in ("in", "not_in"):
        wanted = {_fold(t) for t in target}  # type: ignore[union-attr]
        hit = np.fromiter((v in wanted for v in folded), bool, len(folded))
        return hit if op == "in" else ~hit
    if op == "contains":
        needle = _fold(target)
        return np.fromiter((needle in v for v in folded), bool, len(folded))
    hit = np.fromiter((v == _fold(target) for v in folded), bool, len(folded))
    return hit if op == "eq" else ~hit


def _column(name: str, items: ItemArrays, ids: IdMap) -> list[Any] | np.ndarray:
    side = items.side
    if name == "id":
        return ids.to_list()[: items.n]
    if name == "title":
        return side.title
    if name == "brand":
        return side.brand
    if name == "leaf":
        return [p[-1] if p else "" for p in side.category]
    if name == "price":
        return side.price
    if name == "available":
        return side.available
    if name == "age_days":
        return items.age_days(np.arange(items.n))
    if name == "popularity":
        return items.popularity
    key = name.removeprefix("attributes.")
    return [a.get(key) for a in side.attributes]


def _fold(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip().casefold() if value is not None else ""


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --- the versioned rules files -------------------------------------------------------------

_VERSION = re.compile(r"^\d{8}T\d{6}\d{6}Z$")


class RuleStore:
    """``$SHOPMIND_HOME/rules/<version>.json`` and an ``active`` pointer; no file: defaults."""

    def __init__(self, home: Path) -> None:
        self.root = Path(home) / "rules"

    def versions(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.stem for p in self.root.glob("*.json") if _VERSION.match(p.stem))

    def active_version(self) -> str | None:
        pointer = self.root / "active"
        if not pointer.exists():
            return None
        version = pointer.read_text().strip()
        return version if version in self.versions() else None

    def active(self) -> tuple[str | None, RuleSet]:
        """The active version and its rules (defaults when none was ever set)."""
        version = self.active_version()
        if version is None:
            return None, RuleSet()
        return version, self.get(version)

    def get(self, version: str) -> RuleSet:
        if not _VERSION.match(version) or not (self.root / f"{version}.json").exists():
            raise KeyError(f"no rules version {version!r}")
        return parse_rules(json.loads((self.root / f"{version}.json").read_text()))

    def activate(self, version: str) -> RuleSet:
        """Make a stored version the active one again (KeyError: no such version)."""
        rules = self.get(version)
        atomic_write(self.root / "active", version + "\n")
        return rules

    def put(self, document: Any) -> tuple[str, RuleSet]:
        """Validate, write a new version and make it active; returns it."""
        rules = parse_rules(document)
        self.root.mkdir(parents=True, exist_ok=True)
        version = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}Z"
        text = json.dumps(rules.model_dump(mode="json"), indent=2) + "\n"
        atomic_write(self.root / f"{version}.json", text)
        atomic_write(self.root / "active", version + "\n")
        return version, rules
