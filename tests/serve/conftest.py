"""The API's fixtures: a small synthetic shop trained once, and apps over copies of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shopmind.catalog.store import Store
from shopmind.synthetic import PlantedTruth, SyntheticConfig, generate, write_to_store
from shopmind.training.config import TrainConfig

SHOP = SyntheticConfig(seed=5, n_items=300, n_users=250, n_events=12_000)
#: Fast models plus the text-aware one (new items are served through it).
MODELS: dict[str, dict[str, Any]] = {
    "pop": {},
    "itemknn": {"neighbors": 50, "shrink": 10.0, "recency_decay": 0.2},
    "content": {"recency_decay": 0.3},
}


@dataclass(frozen=True)
class Shop:
    """A store holding the synthetic shop and a home with one active bundle."""

    home: Path
    url: str
    bundle: str
    truth: PlantedTruth

    def copy(self, to: Path) -> Shop:
        """An independent copy (store and bundles), for tests that change them."""
        shutil.copytree(self.home, to)
        return Shop(to, f"sqlite:///{to / 'shop.sqlite'}", self.bundle, self.truth)


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    from shopmind.training.train import train

    home = tmp_path_factory.mktemp("serve-shop")
    url = f"sqlite:///{home / 'shop.sqlite'}"
    generated = generate(SHOP)
    with Store(url) as store:
        write_to_store(generated, store)
        bundle = train(store, TrainConfig(models=MODELS, max_validation_rows=200), home=home)
    return Shop(home, url, bundle.version, generated.truth)


@pytest.fixture
def own_shop(shop: Shop, tmp_path: Path) -> Shop:
    return shop.copy(tmp_path / "shop")


def _client_for(shop: Shop, **settings: Any) -> TestClient:
    from shopmind.serve.app import create_app
    from shopmind.serve.settings import ServeSettings

    return TestClient(create_app(ServeSettings(store=shop.url, home=shop.home, **settings)))


@pytest.fixture
def client_for() -> Callable[..., TestClient]:
    """``client_for(shop, **settings)``: a TestClient of the app with those settings."""
    return _client_for


@pytest.fixture
def api(own_shop: Shop) -> Iterator[TestClient]:
    """The app, open (no keys), over a private copy of the shop."""
    with _client_for(own_shop) as client:
        yield client
