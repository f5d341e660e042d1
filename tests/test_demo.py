"""`shopmind demo`: a shop in a data directory, evaluated, trained into an active bundle, served."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from shopmind import cli
from shopmind.bundle import BundleStore
from shopmind.catalog.store import Store

SMALL_SHOP = ["--items", "300", "--users", "300", "--events", "15000"]
FAST = ["--models", "pop,itemknn", "--bundle-models", "pop,itemknn"]


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMIND_HOME", str(tmp_path / "default-home"))
    monkeypatch.delenv("SHOPMIND_STORE", raising=False)
    monkeypatch.setattr(cli, "console", Console(width=500))
    monkeypatch.setattr(cli, "err", Console(stderr=True, width=500))


def run(*args: str | Path, code: int = 0) -> Result:
    result = CliRunner().invoke(cli.app, [str(a) for a in args])
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result


def _table(out: str, title: str) -> dict[str, list[float]]:
    """The rows (model -> numbers) of the Rich table printed under ``title``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if title in line)
    rows = {}
    for line in lines[start + 1 :]:
        if line.startswith("└"):
            break
        if line.startswith("│"):
            cells = [c.strip() for c in line.split("│")[1:-1]]
            rows[cells[0]] = [float(c) for c in cells[1:5]]
    return rows


def test_demo_builds_the_shop_in_the_data_directory_and_activates_a_bundle(
    tmp_path: Path,
) -> None:
    home = tmp_path / "demo-home"
    out = run("demo", "--home", home, *SMALL_SHOP, *FAST, "--no-serve").stdout

    with Store(f"sqlite:///{home / 'shopmind.sqlite'}") as store:
        counts = store.counts()
    assert (counts["items"], counts["users"]) == (300, 300)
    bundles = BundleStore(home)
    active = bundles.active()
    assert active is not None
    # Training keeps the models that help: item-kNN always does here; popularity is kept
    # or left out (and said so) by its validation score.
    assert "itemknn" in active.model_names and set(active.model_names) <= {"pop", "itemknn"}
    assert ("pop" in active.model_names) != ("left out pop" in out)
    assert f"bundle {active.version} is active" in out

    test_rows = _table(out, "synthetic shop: models compared on the test split")
    assert set(test_rows) == {"pop", "itemknn"}
    assert test_rows["itemknn"][1] > test_rows["pop"][1]  # ndcg@10: the shop has structure
    valid_rows = _table(out, "the bundle on validation")
    assert set(valid_rows) == {*active.model_names, "blend", "served"}
    for model, values in valid_rows.items():
        assert values == pytest.approx(
            [active.metrics[model][m] for m in ("recall@10", "ndcg@10", "recall@20", "ndcg@20")],
            abs=5e-5,
        )
    assert "not serving (--no-serve)" in out

    # Again on the same directory: the shop is reused (not generated twice), a new bundle is
    # trained and made active, the first is kept.
    again = run("demo", "--home", home, *SMALL_SHOP, *FAST, "--no-serve").stdout
    assert "already holds a shop" in again
    with Store(f"sqlite:///{home / 'shopmind.sqlite'}") as store:
        assert store.counts() == counts
    assert len(bundles.versions()) == 2
    assert bundles.active_version() == bundles.versions()[-1] != active.version


def test_demo_imports_a_benchmark_folder_with_data(tmp_path: Path, unisrec_toy: Path) -> None:
    home = tmp_path / "demo-home"
    out = run(
        "demo",
        "--home",
        home,
        "--data",
        unisrec_toy,
        "--models",
        "pop",
        "--bundle-models",
        "pop",
        "--no-serve",
    ).stdout
    assert "Toy (" in out and "5 items, 2 shoppers" in out
    assert f"{unisrec_toy.name}: models compared on the test split" in out
    with Store(f"sqlite:///{home / 'shopmind.sqlite'}") as store:
        assert store.counts()["items"] == 5
    assert BundleStore(home).active() is not None


def test_demo_imports_a_folder_of_shop_files(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    items = [{"id": f"P{k}", "title": f"Product {k}", "category_path": "A > B"} for k in range(8)]
    (folder / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    events = [
        {
            "id": f"e{u}-{j}",
            "user_id": f"U{u}",
            "item_id": f"P{(u + j) % 8}",
            "type": "purchase",
            "timestamp": 1_700_000_000 + 60 * j,
        }
        for u in range(6)
        for j in range(4)
    ]
    (folder / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    home = tmp_path / "demo-home"
    out = run(
        "demo",
        "--home",
        home,
        "--data",
        folder,
        "--models",
        "pop",
        "--bundle-models",
        "pop",
        "--no-serve",
    ).stdout
    assert "8 of 8 rows loaded" in out and "24 of 24 rows loaded" in out
    assert "shop: models compared on the test split" in out
    assert BundleStore(home).active() is not None


def test_demo_refuses_a_data_path_that_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("id\n1\n")
    result = run("demo", "--home", tmp_path / "h", "--data", tmp_path / "x.csv", code=2)
    assert "give a folder" in result.stderr


def test_demo_refuses_a_taken_port_before_doing_any_work(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = run("demo", "--home", tmp_path / "h", *SMALL_SHOP, "--port", port, code=2)
    assert f"port {port}" in result.stderr and "--port" in result.stderr
    assert not (tmp_path / "h" / "shopmind.sqlite").exists()


def test_demo_serves_the_api_and_the_ui_and_prints_their_urls(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "demo.log"
    command = [
        sys.executable,
        "-c",
        "from shopmind.cli import app; app()",
        "demo",
        "--home",
        str(tmp_path / "h"),
        *SMALL_SHOP,
        *FAST,
        "--port",
        str(port),
    ]
    with log.open("w") as out:
        demo = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"}
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while "API docs" not in log.read_text():
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        text = log.read_text()
        for url in (f"{base}/", f"{base}/dashboard", f"{base}/docs"):
            assert re.search(rf"{re.escape(url)}\s", text), text
        assert "open on loopback" in text
        health = httpx.get(f"{base}/health", timeout=10).json()
        assert health["status"] == "ok"
        assert health["bundle"] == BundleStore(tmp_path / "h").active_version()
        assert 'data-testid="shopper-select"' in httpx.get(f"{base}/", timeout=10).text
        assert httpx.get(f"{base}/docs", timeout=10).status_code == 200
    finally:
        demo.terminate()
        demo.wait(timeout=30)
