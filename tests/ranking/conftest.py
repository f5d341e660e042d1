"""A small synthetic shop trained into a bundle the way `shopmind train` does it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shopmind.bundle import Bundle
from shopmind.catalog.store import Store
from shopmind.engine import Engine
from shopmind.synthetic import SyntheticConfig, SyntheticShop, generate, write_to_store
from shopmind.training.config import TrainConfig
from shopmind.training.train import train

SHOP = SyntheticConfig(seed=11, n_items=300, n_users=400, n_events=24_000)
MODELS: dict[str, dict[str, Any]] = {
    "pop": {},
    "itemknn": {"neighbors": 50, "shrink": 10.0, "recency_decay": 0.2},
    "content": {"recency_decay": 0.3},
}


@dataclass(frozen=True)
class Trained:
    shop: SyntheticShop
    url: str
    home: Path
    bundle: Bundle


def train_shop(shop: SyntheticShop, home: Path, **settings: Any) -> Trained:
    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{home / 'shop.sqlite'}"
    with Store(url) as store:
        write_to_store(shop, store)
        options = {"models": MODELS, "budget_seconds": 120, "max_validation_rows": 300}
        config = TrainConfig(**{**options, **settings})
        bundle = train(store, config, home=home)
    return Trained(shop, url, home, bundle)


@pytest.fixture(name="train_shop", scope="session")
def _train_shop() -> Callable[..., Trained]:
    """``train_shop(shop, home, **settings)``: train a shop into a bundle in ``home``."""
    return train_shop


@pytest.fixture(scope="session")
def planted() -> SyntheticShop:
    return generate(SHOP)


@pytest.fixture(scope="session")
def trained(planted: SyntheticShop, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return train_shop(planted, tmp_path_factory.mktemp("ranking"), scorer="lightgbm")


@pytest.fixture
def engine(trained: Trained) -> Iterator[Engine]:
    with Store(trained.url) as store:
        yield Engine.load(trained.bundle, store)
