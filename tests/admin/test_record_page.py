"""The record page over HTTP: fields, photos at display size, EXIF facts, map data, warnings, history, neighbours."""

import html as html_lib
import io
import json
import re
from datetime import UTC, datetime, timedelta

from PIL import Image

from extensions import db
from models import VisitWarning, utcnow
from services.geo import to_gcj02
from services.photos.intake import store_photo
from services.visits.review import approve_visit
from tests.factories import (
    make_admin,
    make_beneficiary,
    make_reviewable_visit,
    make_station,
    make_supervisor,
    make_worker,
)

MAP_DATA = re.compile(r'id="review-map"[^>]*data-map="([^"]*)"')


def photo_with_exif(owner, taken: str = "2024:05:02 09:30:00"):
    """A stored JPEG whose EXIF gives a capture time, a camera and a GPS position."""
    image = Image.new("RGB", (800, 600), (90, 140, 200))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Huawei", "P60"
    exif.get_ifd(0x8769)[0x9003] = taken
    exif.get_ifd(0x8825).update({1: "N", 2: (21.0, 40.0, 0.0), 3: "E", 4: (110.0, 55.0, 12.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    photo, _ = store_photo(owner, buffer.getvalue())
    return photo


def map_data(page: str) -> dict:
    return json.loads(html_lib.unescape(MAP_DATA.search(page).group(1)))


def test_another_stations_record_is_not_found(client, login_as):
    visit = make_reviewable_visit(make_worker(make_station()))
    login_as(make_supervisor(make_station()))
    assert client.get(f"/admin/review/visit/{visit.id}").status_code == 404
    assert client.get("/admin/review/visit/999999").status_code == 404


def test_record_shows_fields_photos_exif_and_map(app, client, login_as):
    app.config["MAP_TILE_COORD_TYPE"] = "gcj02"
    station = make_station(name="羊角镇")
    worker = make_worker(station, display_name="黄社工")
    person = make_beneficiary(station, name="林伯", home_latitude=21.67, home_longitude=110.93)
    visit = make_reviewable_visit(worker, person, services=["resource_linking"], notes="屋顶漏水，已联系村委",
                                  findings={"safety": {"value": "concern", "note": "电线老化"}},
                                  started_at=datetime(2024, 5, 2, 1, 0, tzinfo=UTC))
    photo = photo_with_exif(worker)
    photo.visit_id = visit.id
    db.session.commit()
    login_as(make_supervisor(station))

    page = client.get(f"/admin/review/visit/{visit.id}").get_data(as_text=True)

    for text in ("羊角镇", "黄社工", "林伯", "资源链接", "屋顶漏水", "电线老化", "有问题", "入户走访", "Huawei P60",
                 "2024-05-02 09:00", "2024-05-02 09:30"):
        assert text in page, text
    assert person.id_number_masked in page and person.id_number not in page
    assert f'/admin/review/photo/{photo.id}/display' in page
    assert photo.storage_key not in page
    display = client.get(f"/admin/review/photo/{photo.id}/display")
    assert display.status_code == 200 and Image.open(io.BytesIO(display.data)).size == (800, 600)

    data = map_data(page)
    assert data["tileUrl"] == app.config["MAP_TILE_URL"]
    points = {point["kind"]: point for point in data["points"]}
    assert (points["home"]["lat"], points["home"]["lon"]) == tuple(to_gcj02(21.67, 110.93))
    assert points["checkin"]["radius_m"] == 15.0
    assert points["photo"]["lat"] == to_gcj02(photo.gps_latitude, photo.gps_longitude)[0]
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert any(src.endswith("vendor/leaflet/leaflet.js") for src in scripts)
    assert all(src.startswith("/") and not src.startswith("//") for src in scripts)


def test_map_points_are_sent_unchanged_for_wgs84_tiles(app, client, login_as):
    app.config["MAP_TILE_COORD_TYPE"] = "wgs84"
    station = make_station()
    visit = make_reviewable_visit(make_worker(station), latitude=21.6651, longitude=110.9281)
    login_as(make_supervisor(station))
    points = map_data(client.get(f"/admin/review/visit/{visit.id}").get_data(as_text=True))["points"]
    assert (points[0]["lat"], points[0]["lon"]) == (21.6651, 110.9281)


def test_leaflet_is_served_from_the_apps_own_static_files(client, login_as):
    login_as(make_supervisor())
    script = client.get("/admin/review/static/vendor/leaflet/leaflet.js")
    assert script.status_code == 200 and b"Leaflet" in script.data[:500]
    assert client.get("/admin/review/static/vendor/leaflet/leaflet.css").status_code == 200


def test_warnings_show_evidence_as_a_sentence_and_link_reused_photos_to_the_other_visit(client, login_as):
    station = make_station()
    worker = make_worker(station)
    person = make_beneficiary(station, name="王芳")
    earlier = make_reviewable_visit(worker, person)
    visit = make_reviewable_visit(worker)
    visit.warnings.append(VisitWarning(code="photo_reused", severity=3, message=f"照片与 #{earlier.id} 相同",
                                       evidence={"other_visit_ids": [earlier.id], "max_phash_distance": 0}))
    db.session.commit()
    login_as(make_supervisor(station))
    page = client.get(f"/admin/review/visit/{visit.id}").get_data(as_text=True)
    assert "照片重复使用" in page and "严重" in page
    assert f"与 #{earlier.id}（王芳，" in page and "）的照片几乎相同" in page
    # No raw evidence dump: no English keys, no dict reprs.
    assert "max_phash_distance" not in page and "{&#39;" not in page
    assert f'href="/admin/review/visit/{earlier.id}"' in page


def test_history_and_the_workers_previous_and_next_visits(client, login_as):
    station = make_station()
    worker = make_worker(station)
    base = utcnow() - timedelta(days=1)
    previous = make_reviewable_visit(worker, started_at=base)
    visit = make_reviewable_visit(worker, started_at=base + timedelta(hours=2))
    following = make_reviewable_visit(worker, started_at=base + timedelta(hours=4))
    approve_visit(make_admin(display_name="王主任"), previous.id, "情况属实")
    login_as(make_supervisor(station))

    page = client.get(f"/admin/review/visit/{visit.id}").get_data(as_text=True)
    assert f'href="/admin/review/visit/{previous.id}" rel="prev"' in page
    assert f'href="/admin/review/visit/{following.id}" rel="next"' in page
    history = client.get(f"/admin/review/visit/{previous.id}").get_data(as_text=True)
    assert "王主任" in history and "情况属实" in history and "重新打开" in history


def test_a_care_call_without_person_place_or_photos_still_renders(client, login_as):
    station = make_station()
    visit = make_reviewable_visit(make_worker(station), kind="care_call", latitude=None, longitude=None,
                                  accuracy_m=None)
    login_as(make_supervisor(station))
    response = client.get(f"/admin/review/visit/{visit.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "电话/视频探访" in page and map_data(page)["points"] == []


def test_warnings_and_photos_come_before_the_fields_and_the_decision_bar_has_shortcuts(client, login_as):
    station = make_station()
    visit = make_reviewable_visit(make_worker(station), warnings=["far_from_home"])
    login_as(make_supervisor(station))
    page = client.get(f"/admin/review/visit/{visit.id}").get_data(as_text=True)
    assert page.index('id="review-warnings"') < page.index("review-fields") < page.index('id="review-decision-bar"')
    assert 'data-shortcut="a"' in page and 'data-shortcut="r"' in page and 'data-shortcut="x"' in page
    assert "/admin/review/static/review/record.js" in page and "<script>" not in page
    assert " on" + "click=" not in page


def test_the_record_shows_its_place_in_the_queue_and_links_to_its_neighbours(client, login_as):
    station = make_station()
    worker = make_worker(station)
    serious = make_reviewable_visit(worker, warnings=["mock_location"])
    middle = make_reviewable_visit(worker, warnings=["too_short"])
    last = make_reviewable_visit(worker)
    login_as(make_supervisor(station))
    page = client.get(f"/admin/review/visit/{middle.id}").get_data(as_text=True)
    assert "第 2 / 3 条" in page
    assert f'id="review-queue-previous" href="/admin/review/visit/{serious.id}"' in page
    assert f'id="review-queue-next" href="/admin/review/visit/{last.id}"' in page
    first = client.get(f"/admin/review/visit/{serious.id}").get_data(as_text=True)
    assert "第 1 / 3 条" in first and 'id="review-queue-previous"' not in first


def test_a_resubmitted_record_shows_what_changed_and_the_reply(client, login_as):
    from services.visits.review import return_visit
    from services.visits.submission import resubmit_visit
    from tests.factories import make_photo, make_visit, visit_body

    station = make_station()
    worker = make_worker(station)
    person = make_beneficiary(station)
    visit = make_visit(worker, person, notes="未见老人")
    supervisor = make_supervisor(station)
    return_visit(supervisor, visit.id, "请补拍厨房")
    body = visit_body(worker, person, notes="已见到老人，补拍厨房", photo_ids=[make_photo(worker).id])
    resubmit_visit(worker, visit.id, body, reply="已补拍")
    login_as(supervisor)
    page = client.get(f"/admin/review/visit/{visit.id}").get_data(as_text=True)
    assert "重新提交" in page and "已补拍" in page
    assert "<del>未见老人</del> → <ins>已见到老人，补拍厨房</ins>" in page
    assert "新增照片 1 张，移除 1 张" in page
    queue = client.get("/admin/review/").get_data(as_text=True)
    assert "重新提交" in queue
