"""Inference paths for an encoder folder: plain PyTorch, ONNX Runtime, ONNX int8.

The ONNX paths need an exported copy of the model. It is made once per model (keyed by the
model's fingerprint) under ``$SHOPMIND_HOME/encoders/`` and reused afterwards; the source folder
is only read (the default model lives inside an installed package). Every write goes to a
temporary sibling first and is moved into place with one :func:`os.replace`, so a crash or a
concurrent process never leaves a half-written model where a loader would pick it up.

Nothing here downloads anything: the export runs from the local weights, offline.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import shutil
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shopmind.config import data_home
from shopmind.text.encoder import model_fingerprint

log = logging.getLogger(__name__)

#: The inference paths :func:`prepare_backend` knows.
BACKENDS = ("torch", "onnx", "onnx-int8")
#: The float32 ONNX graph, relative to the exported folder.
ONNX_FILE = "onnx/model.onnx"
#: Weight files of the source that the exported folder does not need.
_WEIGHT_FILES = frozenset(
    {"model.safetensors", "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack", "rust_model.ot"}
)
#: Sub-folders of the source that are not copied (other runtimes' exports, VCS metadata).
_SKIP_DIRS = frozenset({"onnx", "openvino", ".git", ".cache"})
#: Temporary folders older than this are left-overs of a crashed export and are removed.
_STALE_SECONDS = 3600.0
_INSTALL_HINT = "pip install 'sentence-transformers[onnx]'"
#: One export at a time in a process (another process is kept apart by the atomic rename).
_EXPORTING = threading.Lock()


class BackendUnavailable(ImportError):
    """An ONNX backend was asked for but ONNX Runtime / Optimum are not installed."""


def prepare_backend(source: Path, backend: str) -> tuple[Path, dict[str, Any]]:
    """The folder and SentenceTransformer keyword arguments that load ``source`` on ``backend``.

    ``torch`` loads the source as it is. ``onnx`` and ``onnx-int8`` export the model to ONNX
    (and quantise it to int8) on first use, under ``$SHOPMIND_HOME/encoders``, and load the
    exported file afterwards without exporting again.
    """
    if backend == "torch":
        return source, {}
    if backend not in BACKENDS:
        raise ValueError(
            f"unknown encoder backend {backend!r}: choose one of {', '.join(BACKENDS)}"
        )
    _require_onnx()
    # torch's ONNX exporter holds process-wide state: two threads exporting at once (a
    # service warming its search encoder while a request encodes a new item) break both.
    with _EXPORTING:
        folder = export_onnx(source)
        file_name = ONNX_FILE if backend == "onnx" else quantize_int8(folder)
    return folder, onnx_load_kwargs(file_name)


def onnx_load_kwargs(file_name: str) -> dict[str, Any]:
    """SentenceTransformer keyword arguments that load ``file_name`` of an exported folder."""
    return {
        "backend": "onnx",
        "model_kwargs": {"file_name": file_name, "provider": "CPUExecutionProvider"},
    }


def onnx_folder(source: Path) -> Path:
    """Where the ONNX export of ``source`` lives (it may not exist yet)."""
    return data_home() / "encoders" / f"{source.name}-{model_fingerprint(source)}-onnx"


def export_onnx(source: Path) -> Path:
    """The exported ONNX folder of ``source``, made on first use."""
    target = onnx_folder(source)
    if (target / ONNX_FILE).is_file():
        return target
    # The folder only ever appears complete (by rename), so one without the graph is damage.
    if target.is_dir():
        log.warning("removing the incomplete encoder export %s", target)
        _remove(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale(target)
    tmp = _temp_sibling(target)
    try:
        started = time.perf_counter()
        log.info("exporting the encoder %s to ONNX in %s (once)", source, target)
        _copy_model_files(source, tmp)
        if (source / ONNX_FILE).is_file():  # the model ships its own export
            shutil.copy2(source / ONNX_FILE, tmp / ONNX_FILE)
        else:
            from sentence_transformers import SentenceTransformer

            with _quiet():
                model = SentenceTransformer(str(source), device="cpu", backend="onnx")
                # Writes config.json and onnx/model.onnx next to the copied tokenizer files.
                model.transformers_model.save_pretrained(str(tmp))
        if not (tmp / ONNX_FILE).is_file():
            raise RuntimeError(f"exporting {source} to ONNX produced no {ONNX_FILE}")
        _publish_folder(tmp, target)
        log.info("exported in %.1fs", time.perf_counter() - started)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def quantize_int8(folder: Path) -> str:
    """The int8 graph of an exported folder (relative file name), quantised on first use."""
    config_name = quantization_target()
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    config = getattr(AutoQuantizationConfig, config_name)(is_static=False)
    suffix = f"{config.weights_dtype.name.lower()}_{config_name}"
    file_name = f"onnx/model_{suffix}.onnx"
    if (folder / file_name).is_file():
        return file_name
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.backend import export_dynamic_quantized_onnx_model

    tmp = _temp_sibling(folder)
    try:
        started = time.perf_counter()
        log.info("quantising %s to int8 (%s, once)", folder, config_name)
        with _quiet():
            model = SentenceTransformer(str(folder), device="cpu", **onnx_load_kwargs(ONNX_FILE))
            # Writes tmp/onnx/model_<suffix>.onnx; the folder itself is not touched.
            export_dynamic_quantized_onnx_model(model, config, str(tmp), file_suffix=suffix)
        written = tmp / file_name
        if not written.is_file():
            raise RuntimeError(f"quantising {folder} produced no {file_name}")
        os.replace(written, folder / file_name)  # atomic: same file system
        log.info("quantised in %.1fs", time.perf_counter() - started)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return file_name


def quantization_target() -> str:
    """The ONNX Runtime int8 preset for this CPU: arm64, avx512_vnni, avx512 or avx2."""
    if platform.machine().lower() in {"arm64", "aarch64"}:
        return "arm64"
    flags = _cpu_flags()
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags and "avx512bw" in flags:
        return "avx512"
    return "avx2"


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _require_onnx() -> None:
    try:
        import onnxruntime  # noqa: F401
        import optimum.onnxruntime  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailable(
            f"the ONNX encoder backends need ONNX Runtime and Optimum ({exc}): run "
            f"`{_INSTALL_HINT}`, or set the encoder backend to 'torch'"
        ) from exc


def _copy_model_files(source: Path, dest: Path) -> None:
    """Everything the ONNX folder needs from ``source``: configs, tokenizer, module folders."""
    for entry in source.iterdir():
        if entry.name in _WEIGHT_FILES or entry.name in _SKIP_DIRS:
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name)
        elif entry.is_file():
            shutil.copy2(entry, dest / entry.name)


def _publish_folder(tmp: Path, target: Path) -> None:
    """Move a finished folder into place; if another process got there first, keep theirs."""
    if (target / ONNX_FILE).is_file():
        return
    try:
        os.replace(tmp, target)
    except OSError:
        if not (target / ONNX_FILE).is_file():
            raise


def _temp_sibling(target: Path) -> Path:
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))


def _remove(folder: Path) -> None:
    """Delete a folder by first renaming it aside, so no loader sees it half-deleted."""
    aside = _temp_sibling(folder)
    with contextlib.suppress(OSError):  # gone already, or replaced by a complete one meanwhile
        os.replace(folder, aside)
    shutil.rmtree(aside, ignore_errors=True)


def _sweep_stale(target: Path) -> None:
    now = time.time()
    for leftover in target.parent.glob(f".{target.name}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > _STALE_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the export's tracer warnings, its advice to save (we do save) and the
    quantiser's per-tensor notes (ONNX Runtime logs those on the root logger)."""
    loggers = [logging.getLogger(name) for name in ("", "sentence_transformers", "transformers")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.level, logging.ERROR))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
