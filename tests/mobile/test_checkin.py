"""A worker's day in the phone client, in a real Chromium: check-in at the door, approval, offline, corrections."""

import hashlib

import pytest
from sqlalchemy import select

from extensions import db
from models import Visit
from services.visits.review import approve_visit
from tests.factories import make_beneficiary, make_station, make_supervisor, make_worker

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
    return worker, supervisor, person


def test_check_in_with_two_photos_at_home_then_approved(browser, village, real_photos):
    worker, supervisor, person = village
    browser.allow_location(*HOME, accuracy=8)
    browser.open()
    browser.login(worker.username)
    browser.wait_for_text("今日待访（1）")
    browser.wait_for_text("张小明")
    browser.screenshot("home.png")

    browser.find(f'[data-person-id="{person.id}"] .person').click()
    browser.click_button("开始走访")
    browser.wait_for_text("已定位，精度约 8 米")
    browser.add_photos(*real_photos[:2])
    browser.tick("政策落实")
    browser.tick("正常")
    browser.tick("精神慰藉")
    browser.tick("服务对象同意拍照")
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
