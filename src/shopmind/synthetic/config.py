"""How big the synthetic shop is and how its shoppers behave."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shopmind.synthetic import vocabulary as vocab

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class SyntheticConfig(BaseModel):
    """How big the synthetic shop is and how its shoppers behave (round-trips through JSON)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 7
    #: The shop ``shopmind generate`` and ``shopmind demo`` build unless told otherwise.
    n_items: int = Field(3_000, ge=2 * len(vocab.LEAVES))
    n_users: int = Field(3_000, ge=1)
    #: Target total; the result is within ~1 % unless one session per shopper already exceeds it.
    n_events: int = Field(150_000, ge=100)
    n_segments: int = Field(5, ge=1, le=len(vocab.PERSONAS))
    start: datetime = datetime(2024, 3, 4, tzinfo=UTC)
    n_days: int = Field(56, ge=7)
    currency: str = "EUR"
    #: Zipf exponent of item popularity within a leaf.
    popularity_exponent: float = Field(1.1, gt=0.0)
    #: Sigma of log price within a leaf (each leaf has its own median).
    price_spread: float = Field(0.45, gt=0.0)
    #: Dirichlet weight of a segment's departments against 0.05 for every other one.
    segment_concentration: float = Field(20.0, gt=0.0)
    #: If set, each persona's first department gets this share of its weight (the others keep
    #: their proportions in the rest): a shop whose shoppers each have one clear department.
    #: ``None`` keeps the personas' own mixes (Fashion 0.5 / Beauty 0.5 and the like).
    primary_share: Probability | None = None
    #: Share of shoppers whose price band is their segment's (the rest draw one at random).
    band_loyalty: Probability = 0.8
    #: Share of views on a leaf drawn from the whole shop's mix rather than the shopper's taste.
    exploration: Probability = 0.06
    #: Share of a session's views in the session's focus leaf.
    session_focus: Probability = 0.7
    mean_views_per_session: float = Field(5.0, ge=1.0)
    #: Per view: a click before it; an add-to-cart after it; of carts, the share bought.
    click_rate: Probability = 0.3
    cart_rate: Probability = 0.12
    purchase_rate: Probability = 0.55
    #: Per session: a search (about the session's focus leaf) before the first view.
    search_rate: Probability = 0.35
    #: Per purchase: a rating 1-10 days later.
    rating_rate: Probability = 0.3
    #: Per purchase of an item with a planted partner: a view of the partner, and of those the
    #: share that goes on to cart and purchase.
    complement_rate: Probability = 0.6
    complement_purchase_rate: Probability = 0.45
    #: Per purchase of a consumable: the chance of buying it again each cycle.
    repeat_rate: Probability = 0.65
    #: Items that arrive in the last days and have no events.
    cold_item_fraction: Probability = 0.02

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @model_validator(mode="after")
    def _enough_users(self) -> SyntheticConfig:
        if self.n_users < self.n_segments:
            raise ValueError(f"n_users ({self.n_users}) must be >= n_segments ({self.n_segments})")
        return self
