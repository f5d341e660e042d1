"""Fine-tuning the encoder on co-interaction pairs of the synthetic shop.

The pair tests are pure numpy. One real fine-tune of the bundled MiniLM (a few steps, short
sequences) checks that trained pairs move closer; the selection logic runs on a tiny random
BERT built in a temporary folder, so several epochs cost seconds.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from shopmind.data import Dataset, leave_last_out
from shopmind.synthetic import SyntheticConfig, generate
from shopmind.text.encoder import (
    EncoderSettings,
    SentenceTransformerEncoder,
    model_fingerprint,
    resolve_model,
)
from shopmind.text.finetune import (
    MANIFEST,
    FineTuneResult,
    co_interaction_pairs,
    finetune_encoder,
    pair_hash,
)
from shopmind.text.item_text import item_texts

FOLDER_NAME = re.compile(r"^(?P<base>.+)-ft-\d{8}T\d{6}-[0-9a-f]{8}$")


@pytest.fixture(scope="module")
def train() -> Dataset:
    """The training part of a small synthetic shop (funnels, planted complements)."""
    shop = generate(SyntheticConfig(n_items=200, n_users=120, n_events=3_000, seed=5))
    data = Dataset.from_columns(shop.items, shop.users, shop.events)
    return leave_last_out(data).train


@pytest.fixture(scope="module")
def texts(train: Dataset) -> list[str]:
    return item_texts(train.item_side)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHOPMIND_HOME", str(tmp_path))
    return tmp_path


def brute_force_pairs(data: Dataset, texts: list[str], window: int) -> Counter[frozenset[int]]:
    """Unordered pair counts by the documented rule, one event at a time."""
    counts: Counter[frozenset[int]] = Counter()
    hist = data.histories()
    for r in range(len(hist)):
        lo, hi = hist.indptr[r], hist.indptr[r + 1]
        steps: list[int] = []
        for item, weight in zip(hist.items[lo:hi], hist.weights[lo:hi], strict=True):
            if weight > 0 and (not steps or steps[-1] != item):
                steps.append(int(item))
        for i in range(len(steps)):
            for j in range(i + 1, min(i + window + 1, len(steps))):
                a, b = steps[i], steps[j]
                if a != b and texts[a] != texts[b] and texts[a].strip() and texts[b].strip():
                    counts[frozenset((a, b))] += 1
    return counts


# --- pairs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("window", [1, 3])
def test_pairs_are_the_within_window_co_occurrences(
    train: Dataset, texts: list[str], window: int
) -> None:
    few = train.subset(np.isin(train.user, np.arange(12)))
    expected = brute_force_pairs(few, texts, window)
    pairs = co_interaction_pairs(few, window=window, texts=texts)
    assert pairs.dtype == np.int64 and pairs.shape[1] == 2
    assert len(expected) > 10
    got = [frozenset(map(int, p)) for p in pairs]
    assert len(got) == len(set(got)), "each unordered pair once"
    assert set(got) == set(expected)
    twice = co_interaction_pairs(few, window=window, texts=texts, min_count=2)
    assert {frozenset(map(int, p)) for p in twice} == {p for p, c in expected.items() if c >= 2}


def test_pairs_drop_self_same_text_and_blank_items(train: Dataset, texts: list[str]) -> None:
    pairs = co_interaction_pairs(train, texts=texts)
    assert len(pairs) > 100
    assert (pairs[:, 0] != pairs[:, 1]).all()
    busy = int(np.argmax(np.bincount(pairs.ravel())))
    partner = int(pairs[(pairs == busy).any(axis=1)][0].sum() - busy)
    blank = int(pairs[~np.isin(pairs, [busy, partner]).any(axis=1)][0, 0])
    twin = list(texts)
    twin[partner] = twin[busy]  # two items with one text: nothing to learn from the pair
    twin[blank] = "  "
    cleaned = co_interaction_pairs(train, texts=twin)
    assert frozenset((busy, partner)) not in {frozenset(map(int, p)) for p in cleaned}
    assert not (cleaned == blank).any()
    assert len(cleaned) < len(pairs)


def test_max_pairs_is_a_seeded_sample_of_the_full_set(train: Dataset, texts: list[str]) -> None:
    full = {frozenset(map(int, p)) for p in co_interaction_pairs(train, texts=texts)}
    first = co_interaction_pairs(train, texts=texts, max_pairs=50, seed=1)
    again = co_interaction_pairs(train, texts=texts, max_pairs=50, seed=1)
    other = co_interaction_pairs(train, texts=texts, max_pairs=50, seed=2)
    assert len(first) == 50
    np.testing.assert_array_equal(first, again)
    assert {frozenset(map(int, p)) for p in first} <= full
    assert {frozenset(map(int, p)) for p in first} != {frozenset(map(int, p)) for p in other}
    assert pair_hash(first) == pair_hash(first[::-1, ::-1])


def test_pairs_reject_bad_arguments(train: Dataset, texts: list[str]) -> None:
    with pytest.raises(ValueError, match="window"):
        co_interaction_pairs(train, window=0, texts=texts)
    with pytest.raises(ValueError, match="texts"):
        co_interaction_pairs(train, texts=texts[:-1])


# --- a real fine-tune of the bundled model -------------------------------------------------------


def pair_figures(vectors: np.ndarray, pairs: np.ndarray) -> tuple[float, float]:
    """Mean cosine of the pairs, and the mean rank of each partner among all items."""
    cosine = vectors @ vectors.T
    np.fill_diagonal(cosine, -np.inf)
    own = cosine[pairs[:, 0], pairs[:, 1]]
    ranks = (cosine[pairs[:, 0]] > own[:, None]).sum(axis=1)
    return float(own.mean()), float(ranks.mean())


MINILM_PAIRS = 64
SHORT = 24  # tokens: enough of the title to learn from, cheap on a CPU


@pytest.fixture(scope="module")
def minilm_run(
    train: Dataset, texts: list[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FineTuneResult, list[Path], Path]]:
    home = tmp_path_factory.mktemp("home")
    calls: list[Path] = []
    scripted = iter([0.10, 0.20])

    def select(folder: Path) -> float:
        calls.append(folder)
        assert (folder / "modules.json").exists()
        return next(scripted)

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHOPMIND_HOME", str(home))
        result = finetune_encoder(
            train,
            texts,
            base=EncoderSettings(backend="torch", max_seq_length=SHORT),
            method="full",
            batch_size=32,
            learning_rate=1e-4,
            max_pairs=MINILM_PAIRS,
            select=select,
            progress=False,
        )
    yield result, calls, home


def test_finetune_saves_a_versioned_folder_with_a_manifest(
    minilm_run: tuple[FineTuneResult, list[Path], Path],
) -> None:
    result, _, home = minilm_run
    assert result.path.parent == home / "encoders"
    match = FOLDER_NAME.match(result.path.name)
    assert match and match["base"] == "all-MiniLM-L6-v2"
    assert sorted(p.name for p in result.path.parent.iterdir()) == [result.path.name], "no staging"
    manifest = json.loads((result.path / MANIFEST).read_text())
    assert manifest["base_model"] == "all-MiniLM-L6-v2"
    assert manifest["pairs"] == result.n_pairs == MINILM_PAIRS
    assert result.path.name.endswith(manifest["pair_hash"])
    assert manifest["scores"] == [{"epoch": 0, "valid": 0.1}, {"epoch": 1, "valid": 0.2}]
    assert manifest["chosen_epoch"] == manifest["saved_epoch"] == 1
    assert manifest["improved"] is True
    assert {"epochs", "learning_rate", "batch_size", "window", "created", "wall_seconds"} <= set(
        manifest
    )
    assert {"sentence-transformers", "transformers", "torch"} <= set(manifest["versions"])


def test_finetuned_folder_loads_and_encodes(
    minilm_run: tuple[FineTuneResult, list[Path], Path],
) -> None:
    result, _, _ = minilm_run
    encoder = SentenceTransformerEncoder(EncoderSettings(model=str(result.path), backend="torch"))
    vectors = encoder.encode(["a red running shoe", "a jigsaw puzzle"])
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert result.settings().model == str(result.path)


def test_select_scores_the_base_then_each_epoch(
    minilm_run: tuple[FineTuneResult, list[Path], Path],
) -> None:
    result, calls, _ = minilm_run
    assert len(calls) == 2
    assert calls[0] == resolve_model("all-MiniLM-L6-v2")
    assert result.chosen_epoch == 1 and result.improved
    assert result.scores == [{"epoch": 0, "valid": 0.1}, {"epoch": 1, "valid": 0.2}]


def test_trained_pairs_move_closer(
    minilm_run: tuple[FineTuneResult, list[Path], Path], train: Dataset, texts: list[str]
) -> None:
    result, _, _ = minilm_run
    pairs = co_interaction_pairs(train, max_pairs=MINILM_PAIRS, texts=texts)
    settings = EncoderSettings(backend="torch", max_seq_length=SHORT)
    before = SentenceTransformerEncoder(settings).encode(texts)
    tuned = settings.model_copy(update={"model": str(result.path)})
    after = SentenceTransformerEncoder(tuned).encode(texts)
    cosine_before, rank_before = pair_figures(before, pairs)
    cosine_after, rank_after = pair_figures(after, pairs)
    assert cosine_after > cosine_before + 0.02
    # Not just everything drawn together: the partner climbs among all items.
    assert rank_after < rank_before


# --- selection on a tiny random model ------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-layer, 32-wide random BERT with MiniLM's tokenizer, as a sentence-transformer."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertConfig, BertModel

    root = tmp_path_factory.mktemp("tiny")
    source = resolve_model("all-MiniLM-L6-v2")
    torch.manual_seed(0)
    config = BertConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    BertModel(config).save_pretrained(root / "bert")
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(source / name, root / "bert" / name)
    model = SentenceTransformer(
        modules=[Transformer(str(root / "bert"), max_seq_length=16), Pooling(32, "mean")],
        device="cpu",
    )
    model.save(str(root / "tiny"), create_model_card=False)
    return root / "tiny"


def weights_digest(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def run_tiny(
    train: Dataset, texts: list[str], tiny_model: Path, script: list[float] | None, epochs: int
) -> tuple[FineTuneResult, list[tuple[Path, str]]]:
    calls: list[tuple[Path, str]] = []
    scores = iter(script or [])

    def select(folder: Path) -> float:
        calls.append((folder, weights_digest(folder)))
        return next(scores)

    result = finetune_encoder(
        train,
        texts,
        base=EncoderSettings(model=str(tiny_model), backend="torch", max_seq_length=16),
        method="full",
        epochs=epochs,
        batch_size=16,
        learning_rate=1e-3,
        max_pairs=32,
        select=select if script is not None else None,
        progress=False,
    )
    return result, calls


def test_the_best_validation_epoch_is_kept(
    train: Dataset, texts: list[str], tiny_model: Path, home: Path
) -> None:
    result, calls = run_tiny(train, texts, tiny_model, [0.1, 0.5, 0.2], epochs=2)
    assert calls[0][0] == tiny_model
    assert len(calls) == 3, "the base, then once per epoch"
    assert len({digest for _, digest in calls}) == 3, "every epoch is a new model"
    assert result.chosen_epoch == 1 and result.improved
    assert [s["epoch"] for s in result.scores] == [0, 1, 2]
    assert weights_digest(result.path) == calls[1][1], "the folder holds epoch 1's weights"
    assert FOLDER_NAME.match(result.path.name)["base"] == "tiny"  # type: ignore[index]
    assert result.path.parent == home / "encoders"
    assert [p.name for p in result.path.parent.iterdir()] == [result.path.name]


def test_no_fine_tuning_can_win(train: Dataset, texts: list[str], tiny_model: Path) -> None:
    result, calls = run_tiny(train, texts, tiny_model, [0.9, 0.3, 0.4], epochs=2)
    assert result.chosen_epoch == 0 and not result.improved
    assert result.settings().model == str(tiny_model), "keep the base encoder"
    manifest = json.loads((result.path / MANIFEST).read_text())
    assert manifest["chosen_epoch"] == 0 and manifest["saved_epoch"] == 2
    assert weights_digest(result.path) == calls[2][1], "the best fine-tuned epoch, for reference"


def test_without_select_the_last_epoch_is_kept(
    train: Dataset, texts: list[str], tiny_model: Path, tmp_path: Path
) -> None:
    result, calls = run_tiny(train, texts, tiny_model, None, epochs=2)
    assert calls == [] and result.scores == []
    assert result.chosen_epoch == 2 and result.improved
    assert json.loads((result.path / MANIFEST).read_text())["saved_epoch"] == 2


def test_a_failing_select_leaves_nothing_behind(
    train: Dataset, texts: list[str], tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "elsewhere"

    def select(folder: Path) -> float:
        if folder != tiny_model:
            raise RuntimeError("validation broke")
        return 0.0

    with pytest.raises(RuntimeError, match="validation broke"):
        finetune_encoder(
            train,
            texts,
            base=EncoderSettings(model=str(tiny_model), backend="torch", max_seq_length=16),
            method="full",
            max_pairs=32,
            batch_size=16,
            select=select,
            out_dir=out,
            progress=False,
        )
    assert list(out.iterdir()) == []


def test_finetune_rejects_zero_epochs_and_unknown_methods(train: Dataset, texts: list[str]) -> None:
    with pytest.raises(ValueError, match="epochs"):
        finetune_encoder(train, texts, epochs=0)
    with pytest.raises(ValueError, match="adapter, full"):
        finetune_encoder(train, texts, method="lora")  # type: ignore[arg-type]


# --- the adapter: a linear map learned on the frozen encoder's embeddings -------------------------


@pytest.fixture(scope="module")
def adapter_run(
    train: Dataset, texts: list[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FineTuneResult, list[Path], Path]]:
    home = tmp_path_factory.mktemp("adapter-home")
    calls: list[Path] = []

    def select(folder: Path) -> float:
        calls.append(folder)
        return float(len(calls))  # every candidate beats the last: the last epoch wins

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHOPMIND_HOME", str(home))
        result = finetune_encoder(
            train,
            texts,
            base=EncoderSettings(backend="torch", max_seq_length=SHORT),
            epochs=6,
            select=select,
            progress=False,
        )
    yield result, calls, home


def test_adapter_is_scored_at_doubling_epochs_and_the_last(
    adapter_run: tuple[FineTuneResult, list[Path], Path], train: Dataset, texts: list[str]
) -> None:
    result, calls, _ = adapter_run
    assert [s["epoch"] for s in result.scores] == [0, 1, 2, 4, 6]
    assert calls[0] == resolve_model("all-MiniLM-L6-v2")
    assert result.chosen_epoch == 6 and result.improved
    manifest = json.loads((result.path / MANIFEST).read_text())
    assert manifest["method"] == "adapter" and manifest["epochs"] == 6
    assert manifest["pairs"] == len(co_interaction_pairs(train, texts=texts)), "every pair"


def test_adapter_folder_is_the_base_plus_a_linear_map(
    adapter_run: tuple[FineTuneResult, list[Path], Path],
) -> None:
    result, _, _ = adapter_run
    modules = json.loads((result.path / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == [
        "Transformer", "Pooling", "Normalize", "Dense", "Normalize"
    ]  # fmt: skip
    base = resolve_model("all-MiniLM-L6-v2")
    from safetensors.numpy import load_file

    tuned_weights = load_file(result.path / "model.safetensors")
    base_weights = load_file(base / "model.safetensors")
    assert len(tuned_weights) > 50
    for name, tensor in tuned_weights.items():  # the transformer is frozen
        np.testing.assert_array_equal(tensor, base_weights[name], err_msg=name)
    assert model_fingerprint(result.path) != model_fingerprint(base), "new vectors, new id"


def test_adapter_pulls_pairs_together_and_ranks_partners_higher(
    adapter_run: tuple[FineTuneResult, list[Path], Path], train: Dataset, texts: list[str]
) -> None:
    result, _, _ = adapter_run
    pairs = co_interaction_pairs(train, texts=texts)
    settings = EncoderSettings(backend="torch", max_seq_length=SHORT)
    before = SentenceTransformerEncoder(settings).encode(texts)
    tuned = settings.model_copy(update={"model": str(result.path)})
    after = SentenceTransformerEncoder(tuned).encode(texts)
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), 1.0, rtol=1e-5)
    cosine_before, rank_before = pair_figures(before, pairs)
    cosine_after, rank_after = pair_figures(after, pairs)
    assert cosine_after > cosine_before + 0.05
    assert rank_after < 0.8 * rank_before
    # The map is held near the identity: the geometry is the base model's, refined.
    assert float(np.mean(np.sum(before * after, axis=1))) > 0.7


def test_adapter_folder_runs_on_the_onnx_path(
    adapter_run: tuple[FineTuneResult, list[Path], Path], texts: list[str]
) -> None:
    result, _, home = adapter_run
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHOPMIND_HOME", str(home))
        settings = EncoderSettings(model=str(result.path), max_seq_length=SHORT)
        torch_vectors = SentenceTransformerEncoder(
            settings.model_copy(update={"backend": "torch"})
        ).encode(texts[:20])
        onnx_vectors = SentenceTransformerEncoder(
            settings.model_copy(update={"backend": "onnx"})
        ).encode(texts[:20])
    assert float(np.min(np.sum(torch_vectors * onnx_vectors, axis=1))) > 0.999


def test_adapter_embeddings_are_cached_without_encoding(
    adapter_run: tuple[FineTuneResult, list[Path], Path], texts: list[str]
) -> None:
    from shopmind.text.cache import EmbeddingCache
    from shopmind.text.embed import default_cache_root

    result, _, home = adapter_run
    settings = EncoderSettings(model=str(result.path), backend="torch", max_seq_length=SHORT)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHOPMIND_HOME", str(home))
        encoder = SentenceTransformerEncoder(settings)
        cache = EmbeddingCache(default_cache_root(), encoder.model_id, encoder.dim)
        cached, found = cache.get(texts)
    assert found.all(), "the published folder's catalogue is in the cache already"
    np.testing.assert_allclose(cached, encoder.encode(texts), atol=1e-5)
