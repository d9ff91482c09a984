"""A worker's day in the phone client, in a real Chromium: check-in at the door, approval, offline, corrections."""

import hashlib

import pytest
from sqlalchemy import select

from extensions import db
from models import Visit
from services.photos.intake import store_photo
from services.visits.review import approve_visit, return_visit
from tests.factories import expire_tokens, make_beneficiary, make_station, make_supervisor, make_visit, make_worker

HOME = (21.7603, 110.9412)


def _visits_of(worker) -> list[Visit]:
    db.session.expire_all()
    return list(db.session.scalars(select(Visit).where(Visit.worker_id == worker.id)))


@pytest.fixture
def village(server_app):
    """A station with a worker, their supervisor and one person due a visit, living at HOME."""
    station = make_station(name="金塘镇社工站")
    worker = make_worker(station, display_name="李伟")
    supervisor = make_supervisor(station)
    person = make_beneficiary(station, name="张小明", home_latitude=HOME[0], home_longitude=HOME[1],
                              address="金塘镇牙象村3队12号", categories=["elderly_alone", "dibao"])
    # Neighbours further away, so the due list has an order to show.
    make_beneficiary(station, name="李秀英", name_initials="lxy", home_latitude=HOME[0] + 0.004,
                     home_longitude=HOME[1] + 0.003,
                     address="金塘镇牙象村1队2号", categories=["tekun"])
    make_beneficiary(station, name="王桂兰", home_latitude=HOME[0] + 0.012, home_longitude=HOME[1] - 0.008,
                     address="金塘镇山阁村5队8号", categories=["left_behind_elderly", "disabled"])
    return worker, supervisor, person


def test_check_in_with_two_photos_at_home_then_approved(browser, village, real_photos):
    worker, supervisor, person = village
    browser.allow_location(*HOME, accuracy=8)
    browser.open()
    browser.login(worker.username)
    browser.wait_for_text("今日待访（3）")
    # Nearest first once the position is known.
    browser.wait(lambda _: browser.person_names() == ["张小明", "李秀英", "王桂兰"],
                 "the due list is not nearest first")

    browser.click(f'[data-person-id="{person.id}"] .person')
    browser.click_button("开始走访")
    browser.wait_for_text("已定位，精度约 8 米")
    browser.add_photos(*real_photos[:2])
    browser.tick("政策落实")
    browser.tick("正常")
    browser.tick("精神慰藉")
    browser.tick("服务对象同意拍照")
    browser.driver.execute_script("window.scrollTo(0, 0)")
    browser.screenshot("checkin.png")
    browser.click_button("结束并提交")
    browser.wait(lambda _: browser.outbox_empty(), "the outbox never emptied")

    (visit,) = _visits_of(worker)
    assert visit.kind == "home_visit" and visit.beneficiary_id == person.id
    assert visit.coord_type == "wgs84" and visit.accuracy_m == 8
    assert visit.distance_from_home_m < 1
    assert "far_from_home" not in {warning.code for warning in visit.warnings}
    assert visit.services == ["policy_implementation"] and visit.needs == ["emotional_support"]
    assert visit.findings["basic_living"]["value"] == "ok" and visit.photo_consent
    # The originals reached the server byte for byte (their EXIF is the evidence).
    assert [photo.sha256 for photo in visit.photos] == [
        hashlib.sha256(path.read_bytes()).hexdigest() for path in real_photos[:2]]

    approve_visit(supervisor, visit.id)
    browser.open("/m/#/visits")
    browser.find(f'[data-visit-id="{visit.id}"][data-status="approved"]')
    assert "已通过" in browser.text()


def test_the_token_never_appears_in_a_url(browser, village, live_server):
    worker, _, person = village
    browser.deny_location()
    browser.open()
    browser.login(worker.username)
    browser.click(f'[data-person-id="{person.id}"] .person')
    browser.click_button("电话/视频探访")
    browser.click_button("结束并提交")
    browser.wait(lambda _: browser.outbox_empty(), "the outbox never emptied")
    browser.open("/m/#/visits")
    browser.find("[data-visit-id]")

    token = browser.driver.execute_script("return localStorage.getItem('zoufang.token')")
    assert token
    requests = live_server.access_log.read_text()
    assert "/api/v1/visits" in requests and token not in requests


def test_offline_check_in_survives_a_reload_and_is_sent_once(browser, village, generated_photos):
    worker, _, person = village
    browser.allow_location(*HOME, accuracy=12)
    browser.open()
    browser.login(worker.username)
    browser.wait_for_text("张小明")
    # The shell is cached once the service worker controls the page.
    browser.wait(lambda driver: driver.execute_script("return navigator.serviceWorker.controller !== null"),
                 "the service worker never took control")

    browser.set_online(False)
    browser.click(f'[data-person-id="{person.id}"] .person')
    browser.click_button("开始走访")
    browser.wait_for_text("已定位，精度约 12 米")
    browser.add_photos(generated_photos[0])
    browser.tick("资源链接")
    browser.click_button("结束并提交")
    browser.wait_for_text("1 条待上传")

    browser.driver.refresh()
    browser.wait_for_text("1 条待上传")
    browser.find('.outbox-item[data-state="retry"]')
    browser.wait_for_text("离线：显示上次联网时的名单")
    browser.wait_for_text("王桂兰")
    browser.screenshot("home.png")
    assert _visits_of(worker) == []

    # A village uplink: the photo takes a few seconds, and the progress bar shows it.
    browser.set_online(True, upload_bytes_per_second=16_000)
    browser.wait(lambda driver: driver.execute_script(
        "const bar = document.querySelector('.outbox-item progress');"
        "return bar !== null && !bar.hidden && bar.value > 0 && bar.value < 1"), "no upload progress was shown")
    assert "正在上传照片 1/1" in browser.text()
    browser.wait(lambda _: browser.outbox_empty(), "the outbox never emptied once online")
    (visit,) = _visits_of(worker)
    assert [photo.sha256 for photo in visit.photos] == [hashlib.sha256(generated_photos[0].read_bytes()).hexdigest()]
    assert visit.services == ["resource_linking"]


def test_returned_visit_is_corrected_and_resubmitted(browser, village, generated_photos):
    worker, supervisor, person = village
    photo, _ = store_photo(worker, generated_photos[0].read_bytes())
    visit = make_visit(worker, person, photo_ids=[photo.id])
    return_visit(supervisor, visit.id, "请补充厨房照片")
    browser.allow_location(*HOME)
    browser.open()
    browser.login(worker.username)
    browser.find(f'.returned-visit[data-visit-id="{visit.id}"]')
    browser.wait_for_text("督导意见：请补充厨房照片")

    browser.click_button("修改并重新提交")
    browser.wait(lambda driver: driver.execute_script(
        "const image = document.querySelector('#photos img');"
        "return image !== null && image.complete && image.naturalWidth > 0"), "the visit's stored photo was not shown")
    browser.add_photos(generated_photos[1])
    browser.tick("康复护理")
    browser.click_button("重新提交")
    browser.wait(lambda _: browser.outbox_empty(), "the outbox never emptied")

    (resubmitted,) = _visits_of(worker)
    assert resubmitted.status == "submitted" and resubmitted.revision == 2
    assert "rehabilitation" in resubmitted.needs
    assert [item.sha256 for item in resubmitted.photos] == [
        hashlib.sha256(path.read_bytes()).hexdigest() for path in generated_photos[:2]]
    browser.wait(lambda driver: not driver.find_elements("css selector", ".returned-visit"),
                 "the corrected visit is still listed as returned")


def test_care_call_in_three_taps_without_location(browser, village):
    worker, _, person = village
    browser.deny_location()
    browser.open()
    browser.login(worker.username)
    browser.find('input[type="search"]').send_keys("lxy")
    browser.wait(lambda _: browser.person_names() == ["李秀英"], "the search by pinyin initials failed")
    browser.find('input[type="search"]').clear()
    browser.find('input[type="search"]').send_keys("张")
    browser.wait_for_text("搜索“张”")

    browser.click(f'[data-person-id="{person.id}"] .person')
    browser.click_button("电话/视频探访")
    browser.click_button("结束并提交")
    browser.wait(lambda _: browser.outbox_empty(), "the outbox never emptied")

    (visit,) = _visits_of(worker)
    assert visit.kind == "care_call" and visit.beneficiary_id == person.id
    assert visit.sent_latitude is None and visit.latitude is None and visit.photos == []


def test_expired_token_keeps_the_queued_visit_until_the_next_login(browser, village):
    worker, _, person = village
    browser.deny_location()
    browser.open()
    browser.login(worker.username)
    expire_tokens(worker)

    browser.click(f'[data-person-id="{person.id}"] .person')
    browser.click_button("电话/视频探访")
    browser.click_button("结束并提交")
    browser.find("#login-password")
    assert _visits_of(worker) == []

    browser.driver.refresh()
    browser.login(worker.username)
    browser.wait(lambda _: browser.outbox_empty(), "the queued visit was not sent after logging in again")
    assert len(_visits_of(worker)) == 1


def test_refused_visit_shows_the_server_message_next_to_the_field(browser, village):
    worker, _, person = village
    browser.deny_location()
    browser.open()
    browser.login(worker.username)
    browser.click(f'[data-person-id="{person.id}"] .person')
    person.status = "closed"  # closed by an admin while the worker was on the way
    db.session.commit()

    browser.click_button("电话/视频探访")
    browser.click_button("结束并提交")
    browser.find('.outbox-item[data-state="error"]')
    browser.wait_for_text("未能提交：走访记录有误，请检查后重新提交")
    browser.click_button("修改")
    error = browser.find('[data-error-for="beneficiary_id"] .field-error')
    assert error.text == "服务对象已销档"

    browser.click_button("返回（不保存修改）")
    browser.click_button("删除")
    browser.driver.switch_to.alert.accept()
    browser.wait(lambda _: browser.outbox_empty(), "the refused visit was not deleted")
    assert _visits_of(worker) == []
