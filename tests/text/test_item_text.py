"""Item text templates and the embedding cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopmind.data.dataset import ItemSide
from shopmind.text.cache import MAX_SHARDS, EmbeddingCache, encode_cached, text_key
from shopmind.text.item_text import TextTemplate, item_texts


def test_default_template_reads_every_field_in_order() -> None:
    text = TextTemplate(attributes=("colour",)).render(
        title="Trail tent 2P",
        brand="Alpina",
        category=("Outdoor", "Camping", "Tents"),
        description="A light tent.",
        attributes={"colour": "green", "sku": "X1"},
    )
    assert text == "Trail tent 2P. Alpina. Outdoor > Camping > Tents. colour: green. A light tent"


def test_empty_fields_leave_no_stray_separators() -> None:
    assert TextTemplate().render(title="Mug") == "Mug"
    assert TextTemplate(pattern=("{leaf}", "{title}")).render(title="Mug", category=("A", "B")) == (
        "B. Mug"
    )


def test_description_is_cut_at_a_word_boundary() -> None:
    text = TextTemplate(pattern=("{description}",), description_chars=20).render(
        description="stainless steel staples for heavy duty staple guns"
    )
    assert text == "stainless steel"


def test_item_texts_follow_index_order() -> None:
    side = ItemSide(
        title=["A", "B"],
        description=["", "long"],
        brand=["x", ""],
        category=[("c",), ()],
        price=np.array([1.0, np.nan]),
        available=np.array([True, True]),
        attributes=[{}, {}],
    )
    assert item_texts(side) == ["A. x. c", "B. long"]


class CountingEncoder:
    """A fake encoder that records what it was asked to encode."""

    model_id = "fake/1"
    dim = 4

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.seen += list(texts)
        out = np.array([[len(t), t.count("a"), 1.0, 0.0] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_cache_encodes_only_new_or_changed_text(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    cache = EmbeddingCache(tmp_path, encoder.model_id, encoder.dim)
    first, fresh = encode_cached(encoder, ["apple", "pear", "apple"], cache)
    assert fresh == 2 and encoder.seen == ["apple", "pear"]
    np.testing.assert_array_equal(first[0], first[2])

    # A new process (a new cache object) finds them on disk; only the changed text is encoded.
    encoder.seen.clear()
    again = EmbeddingCache(tmp_path, encoder.model_id, encoder.dim)
    second, fresh = encode_cached(encoder, ["apple", "pear (new)", "pear"], again)
    assert fresh == 1 and encoder.seen == ["pear (new)"]
    np.testing.assert_array_equal(second[0], first[0])
    np.testing.assert_array_equal(second[2], first[1])
    assert len(again) == 3 and "pear (new)" in again


def test_cache_is_per_model(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    encode_cached(encoder, ["apple"], EmbeddingCache(tmp_path, "fake/1", 4))
    other = EmbeddingCache(tmp_path, "fake/2", 4)
    assert "apple" not in other


def test_cache_merges_shards_and_keeps_everything(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    cache = EmbeddingCache(tmp_path, encoder.model_id, encoder.dim)
    texts = [f"text {'a' * n}" for n in range(MAX_SHARDS + 5)]
    for text in texts:  # one write (one shard) each
        encode_cached(encoder, [text], cache)
    shards = sorted(p.name for p in cache.folder.glob("shard-*.npy"))
    assert len(shards) <= MAX_SHARDS
    reloaded = EmbeddingCache(tmp_path, encoder.model_id, encoder.dim)
    vectors, found = reloaded.get(texts)
    assert found.all()
    np.testing.assert_allclose(vectors, encoder.encode(texts), rtol=1e-6)
    assert not list(cache.folder.glob("*.tmp"))


def test_cache_files_hold_no_pickle_and_name_the_model(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    cache = EmbeddingCache(tmp_path, encoder.model_id, encoder.dim)
    encode_cached(encoder, ["apple"], cache)
    manifest = (cache.folder / "manifest.json").read_text()
    assert '"model_id": "fake/1"' in manifest
    for array in cache.folder.glob("*.npy"):
        np.load(array, allow_pickle=False)
    assert text_key("apple") in (cache.folder / "shard-00000.keys").read_text()


def test_cache_refuses_a_folder_of_another_dimension(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    cache = EmbeddingCache(tmp_path, encoder.model_id, encoder.dim)
    encode_cached(encoder, ["apple"], cache)
    manifest = cache.folder / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"dim": 4', '"dim": 8'))
    with pytest.raises(ValueError, match="delete the folder"):
        EmbeddingCache(tmp_path, encoder.model_id, encoder.dim)
