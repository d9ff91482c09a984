"""Browser tests: the app served by gunicorn on loopback, driven by Debian's Chromium through Selenium.

One server per test session, against its own database built by the migrations (SQLite in a temporary
folder; a fresh PostgreSQL database when TEST_DATABASE_URL is set), seeded through tests/factories and
the real services (photo pipeline, submission with its warnings). Nothing is fetched from the network:
the map's tiles are pointed at a static file of the app itself.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from flask_migrate import upgrade

from extensions import db
from factory import MIGRATIONS_DIR, create_app
from tests.conftest import _create_postgres_database
from tests.servers import gunicorn_command, server_process

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
REPO_ROOT = Path(__file__).resolve().parents[3]
DESKTOP = (1366, 900)
PHONE = (390, 844)
SERVER_START_SECONDS = 40


@pytest.fixture(scope="session")
def browser_database(tmp_path_factory):
    """(database URL, upload folder) of a database of its own, built by the migrations."""
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -r requirements-dev.txt)")
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("Chromium is not installed: apt-get install -y chromium chromium-driver")
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        url, drop = _create_postgres_database(base)
    else:
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'browser.db'}", lambda: None
    uploads = tmp_path_factory.mktemp("browser-uploads")
    yield url, uploads
    drop()


@pytest.fixture(scope="session")
def scene(browser_database):
    """The seeded county: a supervisor's queue with warned, resubmitted and clean records (ids by role)."""
    from tests.admin.browser.seed import seed_review_scene

    url, uploads = browser_database
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(uploads),
                      "SECRET_KEY": "browser-seed-" + uuid.uuid4().hex})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
        ids = seed_review_scene()
        db.session.remove()
        db.engine.dispose()
    return ids


@pytest.fixture(scope="session")
def live_server(browser_database, scene, tmp_path_factory):
    """The base URL of gunicorn serving the app on a free loopback port; stopped at the end of the session."""
    url, uploads = browser_database
    environment = {
        "DATABASE_URL": url,
        "UPLOAD_DIR": str(uploads),
        "SECRET_KEY": "browser-" + uuid.uuid4().hex,
        # Same-origin tiles: the test never leaves loopback and the CSP's img-src stays 'self'.
        "MAP_TILE_URL": "/admin/review/static/vendor/leaflet/images/layers.png?z={z}&x={x}&y={y}",
        "MAP_TILE_SUBDOMAINS": "a",
        "TIMEZONE": "Asia/Shanghai",
    }
    command = gunicorn_command("--workers", "1", "--threads", "4")
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with server_process(command, log, env=environment, start_seconds=SERVER_START_SECONDS,
                        stop_seconds=15) as server:
        yield server.base_url


def _chrome(size: tuple[int, int], *, mobile: bool):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--disable-extensions", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--lang=zh-CN",
                     f"--window-size={size[0]},{size[1]}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    # The page's viewport exactly this size (the window's own frame would otherwise take some of it).
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": mobile})
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="module")
def desktop(live_server):
    """Chromium at 1366×900."""
    driver = _chrome(DESKTOP, mobile=False)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def phone(live_server):
    """Chromium at 390×844, as a phone."""
    driver = _chrome(PHONE, mobile=True)
    yield driver
    driver.quit()


def screenshot(driver, name: str) -> None:
    """Keep a screenshot for the README in docs/screenshots when UPDATE_SCREENSHOTS=1 (`make screenshots`)."""
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return
    target = REPO_ROOT / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    temporary = target / f".{name}.png"
    driver.save_screenshot(str(temporary))
    shutil.move(temporary, target / f"{name}.png")

