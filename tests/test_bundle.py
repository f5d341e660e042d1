"""Bundles on disk: versioned folders, a manifest, no pickle, an atomic active pointer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shopmind.bundle import Bundle, BundleStore
from shopmind.catalog.store import Store
from shopmind.synthetic import SyntheticConfig, generate, write_to_store
from shopmind.training.config import TrainConfig
from shopmind.training.train import train

FAST = TrainConfig(
    models={"pop": {}, "itemknn": {"neighbors": 20}}, max_validation_rows=100, keep=2
)


@pytest.fixture(scope="module")
def shop_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('bundle-shop') / 'shop.sqlite'}"
    with Store(url) as store:
        write_to_store(
            generate(SyntheticConfig(seed=2, n_items=160, n_users=120, n_events=5_000)), store
        )
    return url


def test_train_writes_a_complete_bundle_and_activates_it(shop_store: str, tmp_path: Path) -> None:
    with Store(shop_store) as store:
        bundle = train(store, FAST, home=tmp_path)
    folder = tmp_path / "bundles" / bundle.version
    assert bundle.path == folder
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest) >= {
        "version",
        "created",
        "config",
        "data",
        "metrics",
        "blend",
        "libraries",
    }
    assert manifest["data"]["items"] == 160 and manifest["data"]["users"] == 120
    assert TrainConfig.model_validate(manifest["config"]) == FAST
    assert set(manifest["metrics"]) == {"pop", "itemknn", "blend", "served"}
    assert sum(manifest["blend"].values()) == pytest.approx(1.0, abs=1e-3)
    # Everything a server loads is JSON or arrays, readable without pickle.
    for arrays in folder.rglob("*.npz"):
        with np.load(arrays, allow_pickle=False) as loaded:
            assert loaded.files
    assert not list(folder.rglob("*.pkl")) and not list(folder.rglob("*.pickle"))
    assert BundleStore(tmp_path).active_version() == bundle.version
    assert Bundle.load(folder).model_names == ["pop", "itemknn"]


def test_activate_previous_and_prune_keep_the_newest_and_the_active(
    shop_store: str, tmp_path: Path
) -> None:
    with Store(shop_store) as store:
        versions = [train(store, FAST, home=tmp_path, activate=False).version for _ in range(3)]
    bundles = BundleStore(tmp_path, keep=2)
    # keep=2: training the third pruned the first.
    assert bundles.versions() == versions[1:]
    assert bundles.active_version() is None and bundles.previous() == versions[2]
    bundles.activate(versions[1])
    assert bundles.previous() is None
    bundles.activate(versions[2])
    assert bundles.previous() == versions[1]
    pointer = (tmp_path / "bundles" / "active").read_text().strip()
    assert pointer == versions[2]
    assert not [p for p in (tmp_path / "bundles").iterdir() if p.name.startswith(".")]
    with pytest.raises(KeyError):
        bundles.activate("20200101T000000Z-000000")
    with pytest.raises(KeyError):
        bundles.get("../escape")


def test_a_pointer_to_a_missing_bundle_means_none_active(shop_store: str, tmp_path: Path) -> None:
    with Store(shop_store) as store:
        train(store, FAST, home=tmp_path)
    (tmp_path / "bundles" / "active").write_text("20990101T000000Z-ffffff\n")
    assert BundleStore(tmp_path).active() is None


def test_an_empty_store_cannot_be_trained(tmp_path: Path) -> None:
    with (
        Store(f"sqlite:///{tmp_path / 'empty.sqlite'}") as store,
        pytest.raises(ValueError, match="no events"),
    ):
        train(store, FAST, home=tmp_path)
    assert BundleStore(tmp_path).versions() == []
