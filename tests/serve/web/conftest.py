"""The web UI's fixtures: a small trained shop, the real app served by uvicorn, headless Chromium.

The browser is Debian's chromium (Playwright's own browser download does not work here): tests are
skipped, saying why, only when /usr/bin/chromium is absent, and fail instead under CI=true;
`scripts/test.sh` installs it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shopmind.catalog.store import Store
from shopmind.synthetic import SyntheticConfig, generate, write_to_store

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: Small enough to train in seconds, big enough for planted structure and several categories.
SHOP = SyntheticConfig(seed=11, n_items=240, n_users=150, n_events=9_000)
READ_KEY = "web-test-read-key"
#: The storefront's key: read + ingest (listed under both), not admin.
STOREFRONT_KEY = "web-test-storefront-key"
ADMIN_KEY = "web-test-admin-key"


@dataclass(frozen=True)
class TrainedShop:
    """A store with the synthetic shop and an active bundle under ``home``."""

    home: Path
    store_url: str
    bundle: str


@pytest.fixture(scope="session")
def trained_shop(tmp_path_factory: pytest.TempPathFactory) -> TrainedShop:
    from shopmind.training.config import TrainConfig
    from shopmind.training.train import train

    home = tmp_path_factory.mktemp("web-shop")
    url = f"sqlite:///{home / 'shop.sqlite'}"
    config = TrainConfig(
        models={"pop": {}, "itemknn": {"neighbors": 50, "shrink": 10.0, "recency_decay": 0.2}},
        max_validation_rows=200,
        scorer="lightgbm",  # the dashboard shows its feature importances
    )
    with Store(url) as store:
        write_to_store(generate(SHOP), store)
        bundle = train(store, config, home=home)
    return TrainedShop(home, url, bundle.version)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(shop: TrainedShop, **settings: Any) -> Iterator[str]:
    """The real app (``create_app``) served by uvicorn on a free loopback port; yields its URL."""
    import uvicorn

    from shopmind.serve.app import create_app
    from shopmind.serve.settings import ServeSettings

    app = create_app(ServeSettings(store=shop.store_url, home=shop.home, **settings))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-web-tests", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start under uvicorn (see the log above)", pytrace=False)
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def base_url(trained_shop: TrainedShop) -> Iterator[str]:
    """The app running open (no API keys), as `shopmind demo` runs it on loopback."""
    with serving(trained_shop) as url:
        yield url


@pytest.fixture(scope="module")
def keyed_url(trained_shop: TrainedShop) -> Iterator[str]:
    """The app with keys on: a read key, the storefront's (read + ingest), an admin key."""
    with serving(
        trained_shop,
        read_keys=[READ_KEY, STOREFRONT_KEY],
        ingest_keys=[STOREFRONT_KEY],
        admin_keys=[ADMIN_KEY],
    ) as url:
        yield url


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = (
            f"{CHROMIUM} is absent: install it with "
            "apt-get install -y --no-install-recommends chromium chromium-driver"
        )
        # As for PostgreSQL: CI installs it (scripts/test.sh), so there a skip would hide a gap.
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"CI is set and the browser tests cannot run: {reason}", pytrace=False)
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (empty localStorage) and page; JS errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
