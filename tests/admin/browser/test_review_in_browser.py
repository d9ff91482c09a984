"""A supervisor's day in a real browser: log in, the queue, a warned record, keyboard decisions, bulk approval,
the phone layout, and a clean console (no CSP violation, no error)."""

from __future__ import annotations

import pytest

from tests.admin.browser.conftest import DESKTOP, PHONE, screenshot
from tests.factories import PASSWORD


def _by(css: str):
    from selenium.webdriver.common.by import By

    return By.CSS_SELECTOR, css


def _wait(driver, condition, seconds: float = 10):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


def _console_problems(driver) -> list[str]:
    """Console errors and CSP reports since the last call (the log is drained on reading)."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" or "Content Security Policy" in entry["message"]]


def _log_in(driver, base_url: str, username: str) -> None:
    driver.get(f"{base_url}/admin/login")
    driver.find_element(*_by('input[name="username"]')).send_keys(username)
    driver.find_element(*_by('input[name="password"]')).send_keys(PASSWORD)
    driver.find_element(*_by('form button[type="submit"], form input[type="submit"]')).click()
    _wait(driver, lambda d: "/admin/login" not in d.current_url)


def _queue_ids(driver) -> list[int]:
    return [int(row.get_attribute("data-visit-id")) for row in driver.find_elements(*_by("tr[data-visit-id]"))]


def _flash(driver) -> str:
    return " ".join(element.text for element in driver.find_elements(*_by(".alert")))


def _no_horizontal_scroll(driver) -> bool:
    return driver.execute_script(
        "return document.documentElement.scrollWidth <= document.documentElement.clientWidth;")


def test_log_in_and_the_queue_shows_warned_records_first(desktop, live_server, scene):
    _log_in(desktop, live_server, scene["supervisor"])
    desktop.get(f"{live_server}/admin/review/")
    ids = _queue_ids(desktop)
    assert ids[0] == scene["far_and_reused"] and ids.index(scene["short"]) < ids.index(scene["clean"][0])
    first_row = desktop.find_element(*_by(f'tr[data-visit-id="{scene["far_and_reused"]}"]'))
    assert "严重" in first_row.text and "照片重复使用" in first_row.text
    resubmitted_row = desktop.find_element(*_by(f'tr[data-visit-id="{scene["resubmitted"]}"]'))
    assert "重新提交" in resubmitted_row.text
    assert _no_horizontal_scroll(desktop)
    screenshot(desktop, "queue")
    assert _console_problems(desktop) == []


def test_a_warned_record_shows_warnings_and_photos_above_the_fold(desktop, live_server, scene):
    desktop.get(f"{live_server}/admin/review/visit/{scene['far_and_reused']}")
    _wait(desktop, lambda d: d.execute_script(
        "return Array.from(document.querySelectorAll('.review-photo img')).every(i => i.complete);"))
    warnings = desktop.find_element(*_by("#review-warnings"))
    photo = desktop.find_element(*_by(".review-photo img"))
    bar = desktop.find_element(*_by("#review-decision-bar"))
    fold = DESKTOP[1]
    assert warnings.rect["y"] < fold and photo.rect["y"] < fold, (warnings.rect, photo.rect)
    assert "打卡位置距登记住址" in warnings.text and "公里" in warnings.text
    assert f"#{scene['earlier']}（王芳，" in warnings.text
    # The decision bar is in view before any scrolling, and stays in view at the bottom of the page.
    assert bar.rect["y"] + bar.rect["height"] <= fold + 1
    assert "第 1 / " in desktop.find_element(*_by(".review-position")).text
    assert desktop.find_element(*_by(".review-compare img")).is_displayed()
    screenshot(desktop, "record")
    desktop.execute_script("window.scrollTo(0, document.body.scrollHeight);")
    bar_top = desktop.execute_script(
        "return document.getElementById('review-decision-bar').getBoundingClientRect().bottom;")
    assert bar_top <= fold + 1
    photo.click()
    assert "review-enlarged" in photo.get_attribute("class")
    assert _console_problems(desktop) == []


def test_approve_with_the_keyboard_lands_on_the_next_record(desktop, live_server, scene):
    from selenium.webdriver.common.action_chains import ActionChains

    desktop.get(f"{live_server}/admin/review/visit/{scene['short']}")
    ActionChains(desktop).send_keys("a").perform()
    _wait(desktop, lambda d: f"/visit/{scene['short']}" not in d.current_url)
    assert "/admin/review/visit/" in desktop.current_url
    assert f"走访记录 #{scene['short']} 已通过" in _flash(desktop)
    assert _console_problems(desktop) == []


def test_a_warned_record_needs_a_second_key_to_approve(desktop, live_server, scene):
    from selenium.webdriver.common.action_chains import ActionChains

    assert "far_from_home" in scene["warning_codes"][scene["far"]]
    desktop.get(f"{live_server}/admin/review/visit/{scene['far']}")
    ActionChains(desktop).send_keys("a").perform()
    hint = desktop.find_element(*_by("#review-confirm-hint"))
    _wait(desktop, lambda d: hint.is_displayed())
    assert "再按 A" in hint.text
    assert f"/visit/{scene['far']}" in desktop.current_url
    ActionChains(desktop).send_keys("a").perform()
    _wait(desktop, lambda d: f"/visit/{scene['far']}" not in d.current_url)
    assert f"走访记录 #{scene['far']} 已通过" in _flash(desktop)
    assert _console_problems(desktop) == []


def test_return_with_a_comment(desktop, live_server, scene):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    target = scene["clean"][3]
    desktop.get(f"{live_server}/admin/review/visit/{target}")
    ActionChains(desktop).send_keys("r").perform()
    comment = desktop.find_element(*_by("#review-comment"))
    # No comment yet: the box asks for one instead of sending an empty return.
    assert desktop.switch_to.active_element == comment and "is-invalid" in comment.get_attribute("class")
    comment.send_keys("请补充老人的近照")
    comment.send_keys(Keys.CONTROL, Keys.ENTER)
    _wait(desktop, lambda d: f"/visit/{target}" not in d.current_url)
    assert f"走访记录 #{target} 已退回补充" in _flash(desktop)
    desktop.get(f"{live_server}/admin/review/visit/{target}")
    assert "请补充老人的近照" in desktop.find_element(*_by(".review-history")).text
    assert _console_problems(desktop) == []


def test_bulk_approve_skips_the_warned_records(desktop, live_server, scene):
    desktop.get(f"{live_server}/admin/review/")
    desktop.find_element(*_by(".review-select-all")).click()
    desktop.find_element(*_by('button[name="action"][value="bulk_approve"]')).click()
    _wait(desktop, lambda d: d.switch_to.alert).accept()
    _wait(desktop, lambda d: d.find_elements(*_by(".alert")))
    message = _flash(desktop)
    assert "已通过" in message and "有预警" in message, message
    remaining = _queue_ids(desktop)
    assert scene["far_and_reused"] in remaining
    assert not set(scene["clean"][:3]) & set(remaining)
    assert _console_problems(desktop) == []


@pytest.mark.parametrize("page", ["queue", "record", "resubmitted"])
def test_no_page_scrolls_sideways_on_a_phone(phone, live_server, scene, page):
    if not phone.get_cookies():
        _log_in(phone, live_server, scene["supervisor"])
    path = {"queue": "/admin/review/", "record": f"/admin/review/visit/{scene['far_and_reused']}",
            "resubmitted": f"/admin/review/visit/{scene['resubmitted']}"}[page]
    phone.get(live_server + path)
    assert phone.execute_script("return window.innerWidth;") == PHONE[0]
    assert _no_horizontal_scroll(phone), phone.execute_script(
        "return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > "
        "document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className);")
    if page == "queue":
        # Cards, not a table: the first record's card shows the person, the worker and a thumbnail.
        card = phone.find_element(*_by("tr[data-visit-id]"))
        assert card.rect["width"] <= PHONE[0] and card.find_element(*_by(".review-thumb")).is_displayed()
        assert not phone.find_element(*_by(".review-filters")).is_displayed()
        screenshot(phone, "queue_phone")
    assert _console_problems(phone) == []
