"""Browser tests of the phone client: Debian's Chromium at a phone viewport against gunicorn on loopback.

The server runs in its own process on the run's database (built by the migrations, SQLite or PostgreSQL
as the rest of the suite); the test process seeds it through the factories and services, sharing the
server's photo folder, and reads the results back from the same database.
"""

from __future__ import annotations

import csv
import os
import shutil
import uuid
from pathlib import Path
from typing import NamedTuple

import pytest

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # the browser tests are skipped, saying why
    webdriver = None

from extensions import db
from factory import create_app
from tests.conftest import SHARED_PHOTOS, _empty_all_tables, _test_config
from tests.factories import PASSWORD, image_bytes
from tests.servers import gunicorn_command, server_process

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
PHONE = {"width": 360, "height": 640, "pixelRatio": 2}
# WeChat's built-in browser on Android, as the page will meet it.
WECHAT_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 "
    "MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)
# Real photos without GPS or a capture time, so they raise no photo warning of their own.
SHARED_PHOTO_NAMES = ("orientation/landscape_1.jpg", "orientation/portrait_1.jpg", "formats/no_exif.jpg")
SCREENSHOTS = REPO / "docs" / "screenshots"
# The README's screenshots are rewritten only on request (make screenshots), so a test run leaves the tree clean.
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
MAX_SCREENSHOT_BYTES = 300 * 1024
WAIT_SECONDS = 20


def _browser_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is not installed (apt-get install chromium chromium-driver)"
    if webdriver is None:
        return "selenium is not installed (pip install -r requirements-dev.txt)"
    return None


def pytest_collection_modifyitems(items):
    reason = _browser_missing()
    if reason is None:
        return
    for item in items:
        if "browser" in item.fixturenames:
            item.add_marker(pytest.mark.skip(reason=reason))


class LiveServer(NamedTuple):
    base_url: str
    upload_dir: Path
    access_log: Path


@pytest.fixture(scope="session")
def live_server(database_url, tmp_path_factory) -> LiveServer:
    """gunicorn serving the app on a free loopback port, logging every request line to access_log."""
    upload_dir = tmp_path_factory.mktemp("server-uploads")
    instance_dir = tmp_path_factory.mktemp("server-instance")
    log_dir = tmp_path_factory.mktemp("server-log")
    env = {"DATABASE_URL": database_url, "UPLOAD_DIR": str(upload_dir),
           "INSTANCE_DIR": str(instance_dir), "SECRET_KEY": "browser-" + uuid.uuid4().hex}
    # Threads: a browser's idle pre-opened connections would each hold a sync worker until its timeout.
    command = gunicorn_command("--workers", "2", "--threads", "4", "--log-level", "warning",
                               "--access-logfile", str(log_dir / "access.log"))
    with server_process(command, log_dir / "gunicorn.log", env=env, start_seconds=30, stop_seconds=10) as server:
        yield LiveServer(server.base_url, upload_dir, log_dir / "access.log")


@pytest.fixture
def server_app(live_server, database_url, tmp_path):
    """An app in the test process on the server's database and photo folder; tables are emptied afterwards."""
    app = create_app({**_test_config(database_url, tmp_path / "unused"), "UPLOAD_DIR": str(live_server.upload_dir)})
    with app.app_context():
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


class Phone:
    """A Chromium at a phone's size driven through Selenium, with helpers for the client's screens."""

    def __init__(self, driver, base_url: str, screenshot_dir: Path):
        self.driver = driver
        self.base_url = base_url
        self.screenshot_dir = screenshot_dir

    def open(self, path: str = "/m/") -> None:
        self.driver.get(self.base_url + path)

    def allow_location(self, latitude: float, longitude: float, accuracy: float = 10) -> None:
        self.driver.execute_cdp_cmd("Browser.grantPermissions",
                                    {"origin": self.base_url, "permissions": ["geolocation"]})
        self.driver.execute_cdp_cmd("Emulation.setGeolocationOverride",
                                    {"latitude": latitude, "longitude": longitude, "accuracy": accuracy})

    def deny_location(self) -> None:
        self.driver.execute_cdp_cmd("Browser.setPermission", {
            "origin": self.base_url, "permission": {"name": "geolocation"}, "setting": "denied"})

    def set_online(self, online: bool, upload_bytes_per_second: int = -1) -> None:
        """Switch the page's network off or on (optionally with a slow uplink), as DevTools does."""
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
            "offline": not online, "latency": 0, "downloadThroughput": -1,
            "uploadThroughput": upload_bytes_per_second})

    def wait(self, condition, message: str = "", seconds: float = WAIT_SECONDS):
        return WebDriverWait(self.driver, seconds, poll_frequency=0.1).until(condition, message)

    def find(self, css: str):
        return self.wait(lambda driver: next(iter(driver.find_elements(By.CSS_SELECTOR, css)), None),
                         f"nothing matches {css}")

    def click(self, css: str) -> None:
        """Click the first element matching css, looking it up again if the page redrew it meanwhile."""
        def clicked(_):
            try:
                self.find(css).click()
            except StaleElementReferenceException:
                return False
            return True

        self.wait(clicked, f"could not click {css}")

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self) -> str:
        return self.driver.find_element("tag name", "body").text

    def wait_for_text(self, text: str, seconds: float = WAIT_SECONDS) -> None:
        self.wait(lambda driver: text in driver.find_element("tag name", "body").text,
                  f"the page never showed {text!r}", seconds)

    def click_button(self, text: str, within: str = "body") -> None:
        """Click the visible button (or link) whose text is exactly `text`."""
        def button(driver):
            for element in driver.find_elements(By.CSS_SELECTOR, f"{within} button, {within} a"):
                if element.is_displayed() and element.text.strip() == text:
                    return element
            return None

        def clicked(driver):
            try:
                element = button(driver)
                if element is None:
                    return False
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
                element.click()
            except StaleElementReferenceException:
                return False
            return True

        self.wait(clicked, f"no visible button {text!r}")

    def tick(self, text: str) -> None:
        """Tick the check box or radio button labelled `text` (the first one with that label)."""
        def ticked(driver):
            try:
                label = next((element for element in driver.find_elements(By.CSS_SELECTOR, "label.choice")
                              if element.text.strip() == text), None)
                if label is None:
                    return False
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", label)
                label.click()
            except StaleElementReferenceException:
                return False
            return True

        self.wait(ticked, f"no choice {text!r}")

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.find("#login-username").clear()
        self.find("#login-username").send_keys(username)
        self.find("#login-password").send_keys(password)
        self.click_button("登录")
        self.find("#people")

    def add_photos(self, *paths: Path) -> None:
        before = len(self.find_all("#photos .photo"))
        self.find("#photo-input").send_keys("\n".join(str(path) for path in paths))
        self.wait(lambda driver: len(self.find_all("#photos .photo")) == before + len(paths), "photos not shown")

    def person_names(self) -> list[str]:
        """The names in the people list, in order (read in the page, so a redraw cannot make them stale)."""
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll('#people .name'), (node) => node.textContent)")

    def outbox_empty(self) -> bool:
        """Whether the home screen has read the outbox and found it empty."""
        return bool(self.driver.execute_script(
            "const box = document.getElementById('outbox'); return box !== null && box.dataset.count === '0';"))

    def screenshot(self, name: str) -> Path:
        """A PNG of the phone's screen: into docs/screenshots with UPDATE_SCREENSHOTS=1, else the test's tmp dir."""
        from PIL import Image

        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        path = self.screenshot_dir / name
        self.driver.save_screenshot(str(path))
        with Image.open(path) as shot:
            # 256 colours keep a phone screen readable at a fraction of the size.
            shot.convert("RGB").quantize(256).save(path, optimize=True)
        assert path.stat().st_size < MAX_SCREENSHOT_BYTES, f"{name} is {path.stat().st_size} bytes"
        return path


@pytest.fixture
def browser(live_server, tmp_path):
    """A fresh phone browser (its own profile: no token, no outbox, no cached shell)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                     "--disable-extensions", "--lang=zh-CN", "--hide-scrollbars",
                     f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(argument)
    options.add_experimental_option("mobileEmulation", {"deviceMetrics": PHONE, "userAgent": WECHAT_USER_AGENT})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield Phone(driver, live_server.base_url, SCREENSHOTS if UPDATE_SCREENSHOTS else tmp_path / "screenshots")
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


@pytest.fixture(scope="session")
def real_photos() -> list[Path]:
    """Real camera photos from ../shared/testdata/photos, as listed in its MANIFEST; the test skips without them."""
    manifest = SHARED_PHOTOS / "MANIFEST.tsv"
    if not manifest.is_file():
        pytest.skip(f"real photos absent: {manifest} not found")
    with manifest.open(newline="") as handle:
        listed = {row["path"] for row in csv.DictReader(handle, delimiter="\t")}
    photos = [SHARED_PHOTOS / name for name in SHARED_PHOTO_NAMES]
    missing = [str(path) for path in photos if path.relative_to(SHARED_PHOTOS).as_posix() not in listed
               or not path.is_file()]
    if missing:
        pytest.skip(f"real photos absent: {', '.join(missing)}")
    return photos


@pytest.fixture
def generated_photos(tmp_path) -> list[Path]:
    """JPEG files made by Pillow, different in every test (so no photo_reused warning links two tests)."""
    paths = []
    for name in ("door.jpg", "kitchen.jpg", "yard.jpg"):
        path = tmp_path / name
        path.write_bytes(image_bytes("JPEG", (1200, 900), quality=90))
        paths.append(path)
    return paths
