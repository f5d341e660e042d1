"""The service's settings: the store URL has one name, SHOPMIND_STORE (the old one warns)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shopmind.serve.settings import ServeSettings


@pytest.fixture(autouse=True)
def no_store_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHOPMIND_STORE", "SHOPMIND_STORE_URL", "STORE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_the_store_comes_from_shopmind_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMIND_STORE", "sqlite:////data/shop.sqlite")
    monkeypatch.setenv("STORE_URL", "sqlite:////elsewhere.sqlite")  # no prefix: not ours
    assert ServeSettings().resolved_store_url() == "sqlite:////data/shop.sqlite"
    assert ServeSettings(store="sqlite:////given.sqlite").store == "sqlite:////given.sqlite"


def test_without_a_store_the_homes_sqlite_file_is_used(tmp_path: Path) -> None:
    settings = ServeSettings(home=tmp_path)
    assert settings.store is None
    assert settings.resolved_store_url() == f"sqlite:///{tmp_path / 'shopmind.sqlite'}"


def test_the_old_name_is_read_with_a_warning_naming_the_new_one(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SHOPMIND_STORE_URL", "sqlite:////old.sqlite")
    with caplog.at_level("WARNING", logger="shopmind.config"):
        assert ServeSettings().store == "sqlite:////old.sqlite"
    assert "SHOPMIND_STORE_URL is deprecated" in caplog.text
    assert "rename it to $SHOPMIND_STORE" in caplog.text
    caplog.clear()
    monkeypatch.setenv("SHOPMIND_STORE", "sqlite:////new.sqlite")
    with caplog.at_level("WARNING", logger="shopmind.config"):
        assert ServeSettings().store == "sqlite:////new.sqlite"
        assert ServeSettings(store=None).store == "sqlite:////new.sqlite"
    assert "SHOPMIND_STORE_URL is ignored" in caplog.text


def test_a_setting_by_another_name_is_refused() -> None:
    with pytest.raises(ValidationError, match="store_url"):
        ServeSettings(store_url="sqlite:////x.sqlite")  # type: ignore[call-arg]


def test_keys_of_each_scope_come_from_their_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPMIND_READ_KEYS", "r1, shop")
    monkeypatch.setenv("SHOPMIND_INGEST_KEYS", "shop,tracker")
    monkeypatch.setenv("SHOPMIND_ADMIN_KEYS", "boss")
    settings = ServeSettings()
    assert settings.ingest_keys == ["shop", "tracker"]
    assert settings.scopes_of("shop") == {"read", "ingest"}
    assert settings.scopes_of("tracker") == {"ingest"}
    assert settings.scopes_of("boss") == {"admin"}
    assert settings.scopes_of("stranger") == frozenset()


def test_an_ingest_key_alone_closes_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SHOPMIND_READ_KEYS", "SHOPMIND_INGEST_KEYS", "SHOPMIND_ADMIN_KEYS"):
        monkeypatch.delenv(name, raising=False)
    assert ServeSettings().is_open
    monkeypatch.setenv("SHOPMIND_INGEST_KEYS", "tracker")
    assert not ServeSettings().is_open
