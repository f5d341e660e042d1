"""Where the real benchmark datasets live (../shared/datasets beside the project)."""

import os
from pathlib import Path

import pytest

DATASETS = Path(
    os.environ.get("SHOPMIND_DATASETS", Path(__file__).parents[3] / "shared" / "datasets")
)


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        message = f"benchmark datasets not found at {DATASETS} (set SHOPMIND_DATASETS)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return DATASETS
