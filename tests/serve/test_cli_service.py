"""`shopmind train`, `shopmind bundles` and `shopmind serve`'s refusal to run open off loopback."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from shopmind.bundle import BundleStore
from shopmind.cli import app

runner = CliRunner()


def test_train_then_list_and_roll_back(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'shop.sqlite'}"
    generated = runner.invoke(
        app, ["generate", "--store", store, "--items", "160", "--users", "80", "--events", "3000"]
    )
    assert generated.exit_code == 0, generated.output
    home = ["--home", str(tmp_path)]
    first = runner.invoke(app, ["train", "--store", store, "--models", "pop,itemknn", *home])
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        app, ["train", "--store", store, "--models", "pop", "--no-validate", *home]
    )
    assert second.exit_code == 0, second.output
    bundles = BundleStore(tmp_path)
    older, newer = bundles.versions()
    assert bundles.active_version() == newer
    assert Path(bundles.root / older / "models" / "itemknn" / "model.json").exists()

    listing = runner.invoke(app, ["bundles", *home], env={"COLUMNS": "200"})
    assert listing.exit_code == 0 and older in listing.output and newer in listing.output
    rolled = runner.invoke(app, ["bundles", "--rollback", *home])
    assert rolled.exit_code == 0, rolled.output
    assert BundleStore(tmp_path).active_version() == older
    again = runner.invoke(app, ["bundles", "--rollback", *home])
    assert again.exit_code != 0 and "no older bundle" in again.output
    unknown = runner.invoke(app, ["bundles", "--activate", "nope", *home])
    assert unknown.exit_code != 0


def test_train_says_what_is_wrong_with_an_empty_store(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    result = runner.invoke(app, ["train", "--store", store, "--home", str(tmp_path)])
    assert result.exit_code != 0 and "no events" in result.output


def test_serve_refuses_an_open_api_off_loopback(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["serve", "--host", "0.0.0.0", "--home", str(tmp_path)], env={"SHOPMIND_READ_KEYS": ""}
    )
    assert result.exit_code != 0 and "refusing to serve an open API" in result.output
