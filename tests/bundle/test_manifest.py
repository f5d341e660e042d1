"""The typed manifest: written and read back validated, and format-1 manifests written before
it was typed still load."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from shopmind.bundle import Bundle, Manifest, SimilarBlend
from shopmind.training.config import TrainConfig

#: A manifest.json exactly as the untyped code wrote it (a 300-item demo bundle, pop + itemknn).
OLD_MANIFEST: dict[str, Any] = {
    "format": 1,
    "version": "20261201T082548688479Z-dacff1",
    "created": "2026-12-01T08:25:48+00:00",
    "config": {
        "models": {"pop": {}, "itemknn": {"neighbors": 100, "shrink": 20.0, "recency_decay": 0.2}},
        "validate_models": True,
        "target_types": ["purchase"],
        "max_validation_rows": 2000,
        "ks": [10, 20],
        "keep": 5,
    },
    "data": {
        "users": 300,
        "items": 300,
        "events": 7487,
        "searches": 344,
        "items_with_events": 293,
        "store": "sqlite:////tmp/tmp.wAr1KrTrL2/shopmind.sqlite",
    },
    "models": ["pop", "itemknn"],
    "blend": {"pop": 0.203, "itemknn": 0.797},
    "similar_blend": {},
    "metrics": {
        "pop": {"recall@10": 0.1053, "ndcg@10": 0.0576, "recall@20": 0.2281, "ndcg@20": 0.0888,
                "rows": 57.0},
        "itemknn": {"recall@10": 0.4912, "ndcg@10": 0.2261, "recall@20": 0.6842,
                    "ndcg@20": 0.275, "rows": 57.0},
        "blend": {"recall@10": 0.4386, "ndcg@10": 0.2079, "recall@20": 0.6667, "ndcg@20": 0.2671,
                  "rows": 57.0},
    },
    "libraries": {"shopmind": "0.1.0", "numpy": "2.4.6", "scipy": "1.17.1", "torch": "2.13.0+cpu",
                  "sentence-transformers": "5.7.0", "faiss-cpu": "1.15.1"},
}  # fmt: skip
#: The similar items' tuned weight, as a bundle with a text model wrote it.
TUNED = {
    "weight": 0.6,
    "ndcg@10_by_weight": {"0.0": 0.11, "0.2": 0.14, "0.4": 0.15, "0.6": 0.16, "0.8": 0.1},
}


def _written(folder: Path, manifest: dict[str, Any]) -> Path:
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


def test_an_old_manifest_loads_typed_and_is_written_back_unchanged(tmp_path: Path) -> None:
    bundle = Bundle.load(_written(tmp_path / OLD_MANIFEST["version"], OLD_MANIFEST))
    manifest = bundle.manifest
    assert isinstance(manifest, Manifest)
    assert manifest.config == TrainConfig(
        models={"pop": {}, "itemknn": {"neighbors": 100, "shrink": 20.0, "recency_decay": 0.2}},
        max_validation_rows=2000,
    )
    assert manifest.ranking is None  # a bundle from before the ranker: the engine blends
    assert manifest.data.items == 300 and manifest.data.store.startswith("sqlite:///")
    assert manifest.similar_blend is None
    assert bundle.model_names == ["pop", "itemknn"]
    assert bundle.blend == {"pop": 0.203, "itemknn": 0.797}
    assert bundle.metrics["blend"]["ndcg@20"] == 0.2671
    # The same keys and values the API serves and the disk holds; settings added since
    # are written with their defaults.
    assert _keeps(manifest.to_json(), OLD_MANIFEST)


def test_a_tuned_similar_blend_reads_typed_and_keeps_its_key(tmp_path: Path) -> None:
    raw = {**OLD_MANIFEST, "similar_blend": TUNED}
    manifest = Bundle.load(_written(tmp_path / "b", raw)).manifest
    assert manifest.similar_blend == SimilarBlend(
        weight=0.6, ndcg_by_weight=TUNED["ndcg@10_by_weight"]
    )
    assert manifest.to_json()["similar_blend"] == TUNED


def test_a_manifest_from_before_the_similar_blend_still_loads(tmp_path: Path) -> None:
    raw = {k: v for k, v in OLD_MANIFEST.items() if k != "similar_blend"}
    manifest = Bundle.load(_written(tmp_path / "b", raw)).manifest
    assert manifest.similar_blend is None
    assert _keeps(manifest.to_json(), OLD_MANIFEST)  # written back with the empty {} of today


def _keeps(written: dict[str, Any], old: dict[str, Any]) -> bool:
    """Every key of ``old`` is in ``written`` with its value, in its order; only the config
    may hold more (the settings added since, at their defaults)."""
    if list(written) != list(old):
        return False
    config = written["config"]
    extra = set(config) - set(old["config"])
    defaults = TrainConfig().model_dump(mode="json")
    same_old = all(config[k] == v for k, v in old["config"].items())
    return (
        same_old
        and all(config[k] == defaults[k] for k in extra)
        and all(written[k] == v for k, v in old.items() if k != "config")
    )


def test_the_manifest_round_trips_through_json() -> None:
    manifest = Manifest.model_validate({**OLD_MANIFEST, "similar_blend": TUNED})
    again = Manifest.model_validate_json(json.dumps(manifest.to_json()))
    assert again == manifest
    assert list(manifest.to_json()) == list(OLD_MANIFEST)  # the keys, in the order written


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda m: m["config"].update(epochs=3), "config.epochs"),
        (lambda m: m.pop("blend"), "blend"),
        (lambda m: m.update(version="latest"), "version"),
        (lambda m: m["data"].pop("items"), "data.items"),
    ],
)
def test_a_broken_manifest_is_refused_naming_the_field(
    tmp_path: Path, change: Any, named: str
) -> None:
    raw = copy.deepcopy(OLD_MANIFEST)
    change(raw)
    with pytest.raises(ValueError, match=rf"not a valid manifest \(.*{named}"):
        Bundle.load(_written(tmp_path / "b", raw))


def test_another_format_is_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"bundle format 2.*shopmind train"):
        Bundle.load(_written(tmp_path / "b", {**OLD_MANIFEST, "format": 2}))


def test_the_train_config_is_frozen_strict_and_round_trips() -> None:
    config = TrainConfig.for_models(["pop", "itemknn", "ease"], keep=3)
    assert config.models["itemknn"] == {"neighbors": 100, "shrink": 20.0, "recency_decay": 0.2}
    assert config.models["ease"] == {}  # a model no default bundle serves: its own defaults
    assert TrainConfig.model_validate_json(config.model_dump_json()) == config
    with pytest.raises(ValidationError):
        TrainConfig(modles={})  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        config.keep = 4  # type: ignore[misc]
    # The defaults are copies: changing one config's parameters changes no other.
    TrainConfig().models["pop"]["half_life_days"] = 1.0
    assert TrainConfig().models["pop"] == {}
