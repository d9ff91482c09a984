"""The review queue over HTTP: scoping, ordering, filters, thumbnails, bulk approve, a constant query count."""

import io
import re
from datetime import timedelta

from PIL import Image
from sqlalchemy import func, select

from extensions import db
from models import ReviewEvent, Visit, utcnow
from services.photos.intake import store_photo
from tests.admin.conftest import csrf_token_from
from tests.factories import (
    make_beneficiary,
    make_reviewable_visit,
    make_station,
    make_supervisor,
    make_worker,
)

ROW_ID = re.compile(r'data-visit-id="(\d+)"')


def jpeg_bytes(colour=(200, 120, 40), size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


def attach_photo(visit: Visit, colour=(200, 120, 40)):
    """A real stored photo (original, display copy, thumbnail) attached to the visit."""
    photo, _ = store_photo(visit.worker, jpeg_bytes(colour))
    photo.visit_id = visit.id
    db.session.commit()
    return photo


def queue_ids(client, query: str = "") -> list[int]:
    response = client.get(f"/admin/review/{query}")
    assert response.status_code == 200
    return [int(found) for found in ROW_ID.findall(response.get_data(as_text=True))]


def test_queue_is_closed_to_anonymous_visitors(client):
    response = client.get("/admin/review/")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def test_two_supervisors_each_see_only_their_stations(client, login_as):
    north, south = make_station(), make_station()
    north_visit = make_reviewable_visit(make_worker(north))
    south_visit = make_reviewable_visit(make_worker(south))
    north_photo = attach_photo(north_visit)
    south_photo = attach_photo(south_visit, colour=(10, 200, 90))

    login_as(make_supervisor(north))
    assert queue_ids(client) == [north_visit.id]
    assert client.get(f"/admin/review/visit/{south_visit.id}").status_code == 404
    assert client.get(f"/admin/review/photo/{south_photo.id}/thumb").status_code == 404
    assert client.get(f"/admin/review/photo/{north_photo.id}/thumb").status_code == 200

    login_as(make_supervisor(south))
    assert queue_ids(client) == [south_visit.id]
    assert client.get(f"/admin/review/visit/{north_visit.id}").status_code == 404
    assert client.get(f"/admin/review/photo/{north_photo.id}/display").status_code == 404


def test_warned_visits_come_first_by_severity_then_count_then_the_oldest(client, login_as):
    station = make_station()
    worker = make_worker(station)
    now = utcnow()
    old_clean = make_reviewable_visit(worker, received_at=now - timedelta(hours=6))
    new_clean = make_reviewable_visit(worker, received_at=now - timedelta(hours=1))
    minor = make_reviewable_visit(worker, warnings=["too_short"], received_at=now - timedelta(hours=8))
    two_minor = make_reviewable_visit(worker, warnings=["too_short", "clock_skew"], received_at=now)
    severe = make_reviewable_visit(worker, warnings=["photo_reused"], received_at=now)
    make_reviewable_visit(worker, status="approved")
    login_as(make_supervisor(station))
    assert queue_ids(client) == [severe.id, two_minor.id, minor.id, old_clean.id, new_clean.id]


def test_filters_narrow_the_queue(client, login_as):
    station = make_station()
    worker = make_worker(station)
    zhang = make_beneficiary(station, name="张小明", name_initials="zxm")
    reused = make_reviewable_visit(worker, zhang, warnings=["photo_reused"])
    far = make_reviewable_visit(worker, warnings=["far_from_home"], kind="case_service")
    clean = make_reviewable_visit(worker)
    login_as(make_supervisor(station))

    assert queue_ids(client, "?warning_code=photo_reused") == [reused.id]
    assert queue_ids(client, "?has_warnings=0") == [clean.id]
    assert queue_ids(client, "?kind=case_service") == [far.id]
    assert queue_ids(client, "?q=小明") == [reused.id]
    assert queue_ids(client, f"?worker={worker.id}&station={station.id}&kind=&q=") == [reused.id, far.id, clean.id]
    today = utcnow().date()
    assert queue_ids(client, f"?received_from={today + timedelta(days=2)}") == []
    around_today = f"?received_from={today - timedelta(days=1)}&received_to={today + timedelta(days=1)}"
    assert len(queue_ids(client, around_today)) == 3
    assert client.get("/admin/review/?warning_code=nonsense").status_code == 400


def test_rows_show_kind_label_warnings_and_lazy_thumbnails_only(client, login_as):
    station = make_station(name="茂南镇")
    worker = make_worker(station, display_name="李社工")
    visit = make_reviewable_visit(worker, make_beneficiary(station, name="陈阿婆"), warnings=["far_from_home"],
                                  distance_from_home_m=1234.0)
    photo = attach_photo(visit)
    login_as(make_supervisor(station))
    html = client.get("/admin/review/").get_data(as_text=True)
    for text in ("茂南镇", "李社工", "陈阿婆", "入户走访", "距离登记住址过远", "1.2 公里", "badge-danger"):
        assert text in html
    images = re.findall(r"<img[^>]*>", html)
    assert images and all('loading="lazy"' in tag for tag in images)
    assert f'/admin/review/photo/{photo.id}/thumb' in html
    assert "/display" not in html and photo.storage_key not in html
    thumb = client.get(f"/admin/review/photo/{photo.id}/thumb")
    assert Image.open(io.BytesIO(thumb.data)).size[0] <= 320


def test_queue_query_count_does_not_grow_with_rows(client, login_as, count_queries):
    station = make_station()
    workers = [make_worker(station) for _ in range(3)]
    login_as(make_supervisor(station))

    def add_rows(count: int, offset: int) -> None:
        for number in range(count):
            visit = make_reviewable_visit(workers[number % 3], make_beneficiary(station),
                                          warnings=["too_short"] if number % 2 else [])
            attach_photo(visit, colour=(number + offset, 50, 50))

    add_rows(3, 0)
    with count_queries() as few:
        assert len(queue_ids(client)) == 3
    add_rows(12, 100)
    with count_queries() as many:
        assert len(queue_ids(client)) == 15
    assert many.count == few.count


def test_bulk_approve_approves_the_clean_and_reports_the_skipped(client, login_as):
    station = make_station()
    worker = make_worker(station)
    clean = [make_reviewable_visit(worker) for _ in range(2)]
    warned = make_reviewable_visit(worker, warnings=["too_short"])
    elsewhere = make_reviewable_visit(make_worker(make_station()))
    login_as(make_supervisor(station))
    page = client.get("/admin/review/").get_data(as_text=True)
    ids = [str(visit.id) for visit in clean + [warned, elsewhere]]

    response = client.post("/admin/review/action/", data={"csrf_token": csrf_token_from(page),
                                                          "action": "bulk_approve", "rowid": ids},
                           follow_redirects=True)

    html = response.get_data(as_text=True)
    assert "已通过 2 条，跳过 2 条" in html and "有预警 1 条" in html
    db.session.expire_all()
    assert [db.session.get(Visit, visit.id).status for visit in clean] == ["approved", "approved"]
    assert db.session.get(Visit, warned.id).status == "submitted"
    assert db.session.get(Visit, elsewhere.id).status == "submitted"


def test_bulk_approve_without_csrf_token_changes_nothing(client, login_as):
    station = make_station()
    visit = make_reviewable_visit(make_worker(station))
    login_as(make_supervisor(station))
    response = client.post("/admin/review/action/", data={"action": "bulk_approve", "rowid": [str(visit.id)]})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "submitted"
    assert db.session.scalar(select(func.count()).select_from(ReviewEvent)) == 0


def test_no_queue_page_shows_a_full_id_number(client, login_as):
    station = make_station()
    person = make_beneficiary(station, name="赵大爷")
    make_reviewable_visit(make_worker(station), person)
    login_as(make_supervisor(station))
    html = client.get("/admin/review/?q=赵").get_data(as_text=True)
    assert "赵大爷" in html and person.id_number not in html


PAGER_LINK = re.compile(r'<a href="([^"]+)" class="btn btn-outline-secondary btn-sm">')


def test_the_pager_walks_keyset_pages_there_and_back(client, login_as, monkeypatch):
    monkeypatch.setattr("admin.review.QUEUE_PAGE_SIZE", 4)
    station = make_station()
    worker = make_worker(station)
    now = utcnow()
    visits = [make_reviewable_visit(worker, received_at=now - timedelta(minutes=60 - number)) for number in range(10)]
    login_as(make_supervisor(station))

    first = client.get("/admin/review/?kind=home_visit").get_data(as_text=True)
    assert "1 / 3" in first
    (next_link,) = PAGER_LINK.findall(first)
    assert "kind=home_visit" in next_link and "after=" in next_link
    second = client.get(next_link.replace("&amp;", "&")).get_data(as_text=True)
    assert "2 / 3" in second
    assert [int(found) for found in ROW_ID.findall(second)] == [visit.id for visit in visits[4:8]]
    previous_link, _next = PAGER_LINK.findall(second)
    back = client.get(previous_link.replace("&amp;", "&")).get_data(as_text=True)
    assert [int(found) for found in ROW_ID.findall(back)] == [visit.id for visit in visits[:4]]


def test_a_damaged_cursor_is_a_400_with_the_first_page(client, login_as):
    station = make_station()
    make_reviewable_visit(make_worker(station))
    login_as(make_supervisor(station))
    response = client.get("/admin/review/?after=not-a-cursor")
    assert response.status_code == 400
    assert len(ROW_ID.findall(response.get_data(as_text=True))) == 1
