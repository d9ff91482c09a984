"""services.authenticity: each warning fires above its threshold and not below, with its evidence."""

import json
from datetime import timedelta

import pytest

from extensions import db
from models import Visit, VisitWarning, utcnow
from services.photos.pipeline import phash_distance
from services.visits import authenticity
from services.visits.authenticity import MAX_LISTED_MATCHES, compute_warnings
from services.visits.inputs import LocationInput
from tests.factories import make_beneficiary, make_photo, make_visit, make_worker

DEGREE_PER_METRE = 1 / 111_195


def codes(visit) -> list[str]:
    return [warning.code for warning in visit.warnings]


def warning_of(visit, code):
    return next(warning for warning in visit.warnings if warning.code == code)


def location_north_of_home(beneficiary, metres, accuracy=10.0) -> LocationInput:
    return LocationInput(latitude=beneficiary.home_latitude + metres * DEGREE_PER_METRE,
                         longitude=beneficiary.home_longitude, accuracy=accuracy, coord_type="wgs84")


@pytest.fixture
def worker(app):
    return make_worker()


@pytest.fixture
def home(worker):
    return make_beneficiary(worker.station)


def test_a_clean_visit_has_no_warning(worker, home):
    visit = make_visit(worker, home)
    assert visit.warnings == [] and visit.warning_count == 0 and visit.warning_severity == 0


@pytest.mark.parametrize(("metres", "fires"), [(250, False), (350, True)])
def test_far_from_home(worker, home, metres, fires):
    visit = make_visit(worker, home, location=location_north_of_home(home, metres))
    assert ("far_from_home" in codes(visit)) is fires
    if fires:
        warning = warning_of(visit, "far_from_home")
        assert warning.evidence["distance_m"] == 350 and warning.evidence["threshold_m"] == 300
        assert warning.evidence["home"] == {"lat": home.home_latitude, "lon": home.home_longitude,
                                            "beneficiary_id": home.id}
        assert warning.evidence["checkin"]["lat"] == pytest.approx(visit.latitude)
        # 350 m against a 300 m threshold: just past it, a notice; the message is the evidence's sentence.
        assert warning.message == "打卡位置距登记住址 350 米（定位精度 10 米）" and warning.severity == 1


def test_far_from_home_threshold_comes_from_config(app, worker, home):
    app.config["WARN_FAR_FROM_HOME_M"] = 1000
    assert "far_from_home" not in codes(make_visit(worker, home, location=location_north_of_home(home, 350)))


def test_no_distance_warning_when_the_home_is_not_registered(worker):
    unplaced = make_beneficiary(worker.station, home_latitude=None, home_longitude=None)
    visit = make_visit(worker, unplaced)
    assert visit.distance_from_home_m is None and "far_from_home" not in codes(visit)


@pytest.mark.parametrize(("accuracy", "fires"), [(100.0, False), (150.0, True)])
def test_poor_accuracy(worker, home, accuracy, fires):
    visit = make_visit(worker, home, location=location_north_of_home(home, 0, accuracy=accuracy))
    assert ("poor_accuracy" in codes(visit)) is fires


@pytest.mark.parametrize(("metres", "fires"), [(200, False), (400, True)])
def test_photo_far_compares_exif_gps_with_the_checkin(worker, home, metres, fires):
    photo = make_photo(worker, gps_latitude=home.home_latitude + metres * DEGREE_PER_METRE,
                       gps_longitude=home.home_longitude)
    without_gps = make_photo(worker)
    visit = make_visit(worker, home, photo_ids=[photo.id, without_gps.id])
    assert ("photo_far" in codes(visit)) is fires
    if fires:
        evidence = warning_of(visit, "photo_far").evidence
        assert [item["photo_id"] for item in evidence["photos"]] == [photo.id]
        assert evidence["photos"][0]["distance_m"] == 400


def test_photo_far_uses_the_wgs84_value_of_a_gcj02_checkin(worker):
    # eviltransform's Shanghai pair: the phone reports GCJ-02, the photo's EXIF is the true WGS-84 point.
    beneficiary = make_beneficiary(worker.station, home_latitude=31.1774276, home_longitude=121.5272106)
    photo = make_photo(worker, gps_latitude=31.1774276, gps_longitude=121.5272106)
    visit = make_visit(worker, beneficiary, photo_ids=[photo.id],
                       location=LocationInput(latitude=31.17530398364597, longitude=121.531541859215,
                                              accuracy=10.0, coord_type="gcj02"))
    assert "photo_far" not in codes(visit) and "far_from_home" not in codes(visit)


@pytest.mark.parametrize(("hours_before_start", "fires"), [(11, False), (13, True)])
def test_photo_taken_long_before_the_visit(worker, home, hours_before_start, fires):
    started_at = utcnow() - timedelta(hours=1)
    photo = make_photo(worker, taken_at=started_at - timedelta(hours=hours_before_start))
    visit = make_visit(worker, home, started_at=started_at, photo_ids=[photo.id])
    assert ("photo_old" in codes(visit)) is fires
    if fires:
        evidence = warning_of(visit, "photo_old").evidence
        assert evidence["photos"][0]["hours_before_start"] == 13.0 and evidence["window_hours"] == 12


@pytest.mark.parametrize(("after_receipt", "fires"), [(timedelta(minutes=-1), False), (timedelta(hours=1), True)])
def test_photo_taken_after_the_visit_was_received(worker, home, after_receipt, fires):
    received_at = utcnow()
    photo = make_photo(worker, taken_at=received_at + after_receipt)
    visit = make_visit(worker, home, photo_ids=[photo.id], received_at=received_at)
    assert ("photo_old" in codes(visit)) is fires


def test_photo_reused_by_sha256_across_workers(worker, home):
    first = make_visit(worker, home)
    original = first.photos[0]
    colleague = make_worker(worker.station)
    same_bytes = make_photo(colleague, sha256=original.sha256, phash=original.phash)
    visit = make_visit(colleague, home, photo_ids=[same_bytes.id])
    warning = warning_of(visit, "photo_reused")
    assert warning.evidence["other_visit_ids"] == [first.id]
    match = warning.evidence["matches"][0]
    assert (match["photo_id"], match["other_photo_id"], match["match"]) == (same_bytes.id, original.id, "sha256")
    assert match["other_started_at"] == first.started_at.isoformat()
    assert warning.evidence["other_visit_count"] == 1 and f"#{first.id}" in warning.message
    assert warning.severity == 3 and visit.warning_severity == 3


def flip_bits(phash: str, *bits: int) -> str:
    value = int(phash, 16)
    for bit in bits:
        value ^= 1 << bit
    return f"{value:016x}"


@pytest.mark.parametrize(("bits", "fires"), [((1, 20, 40), True), ((0, 1, 2, 3), False), ((1, 17, 33, 49, 50), False)])
def test_photo_reused_by_near_perceptual_hash(worker, home, bits, fires):
    first = make_visit(worker, home, photo_ids=[make_photo(worker, phash="8f3c0a5566e1d2b4").id])
    near = make_photo(worker, phash=flip_bits("8f3c0a5566e1d2b4", *bits))
    assert phash_distance(near.phash, "8f3c0a5566e1d2b4") == len(bits)
    visit = make_visit(worker, home, photo_ids=[near.id])
    assert ("photo_reused" in codes(visit)) is fires
    if fires:
        match = warning_of(visit, "photo_reused").evidence["matches"][0]
        assert match == {**match, "match": "phash", "phash_distance": 3, "other_visit_id": first.id}


def test_the_same_bytes_outside_any_visit_are_not_reuse(worker, home):
    loose = make_photo(make_worker(worker.station))
    same_bytes = make_photo(worker, sha256=loose.sha256)
    assert "photo_reused" not in codes(make_visit(worker, home, photo_ids=[same_bytes.id]))


def test_fast_travel_since_the_previous_visit(worker, home):
    started = utcnow() - timedelta(hours=3)
    previous = make_visit(worker, home, started_at=started)  # ends at +30 min
    # 100 km north, 30 minutes after the previous visit ended: 200 km/h.
    far_person = make_beneficiary(worker.station, home_latitude=home.home_latitude + 100_000 * DEGREE_PER_METRE,
                                  home_longitude=home.home_longitude)
    visit = make_visit(worker, far_person, started_at=started + timedelta(minutes=60))
    warning = warning_of(visit, "fast_travel")
    assert warning.evidence["previous_visit"]["id"] == previous.id
    assert warning.evidence["distance_m"] == 100_000 and warning.evidence["gap_minutes"] == 30
    assert warning.evidence["speed_kmh"] == pytest.approx(200, abs=0.1)


def test_plausible_travel_is_not_flagged(worker, home):
    started = utcnow() - timedelta(hours=3)
    make_visit(worker, home, started_at=started)
    near_person = make_beneficiary(worker.station, home_latitude=home.home_latitude + 50_000 * DEGREE_PER_METRE,
                                   home_longitude=home.home_longitude)
    # 50 km in 30 minutes: 100 km/h, under 120.
    assert "fast_travel" not in codes(make_visit(worker, near_person, started_at=started + timedelta(minutes=60)))


def test_fast_travel_ignores_other_workers_and_later_visits(worker, home):
    started = utcnow() - timedelta(hours=3)
    far_person = make_beneficiary(worker.station, home_latitude=home.home_latitude + 100_000 * DEGREE_PER_METRE,
                                  home_longitude=home.home_longitude)
    make_visit(make_worker(worker.station), far_person, started_at=started)
    make_visit(worker, far_person, started_at=started + timedelta(hours=2))
    assert "fast_travel" not in codes(make_visit(worker, home, started_at=started + timedelta(minutes=60)))


@pytest.mark.parametrize(("kind", "minutes", "fires"), [("home_visit", 2, True), ("home_visit", 4, False),
                                                        ("case_service", 2, False)])
def test_too_short(worker, home, kind, minutes, fires):
    started_at = utcnow() - timedelta(hours=1)
    visit = make_visit(worker, home, kind=kind, started_at=started_at, ended_at=started_at + timedelta(minutes=minutes))
    assert ("too_short" in codes(visit)) is fires


@pytest.mark.parametrize(("skew", "fires"), [(timedelta(minutes=5), False), (timedelta(minutes=-20), True)])
def test_clock_skew_of_the_phone(worker, home, skew, fires):
    received_at = utcnow()
    visit = make_visit(worker, home, client_sent_at=received_at + skew, received_at=received_at)
    assert ("clock_skew" in codes(visit)) is fires
    if fires:
        assert warning_of(visit, "clock_skew").evidence["skew_minutes"] == -20


@pytest.mark.parametrize(("ahead", "fires"), [(timedelta(seconds=30), False), (timedelta(minutes=3), True)])
def test_clock_skew_when_the_visit_ends_after_its_receipt(worker, home, ahead, fires):
    received_at = utcnow()
    started_at = received_at - timedelta(minutes=20)
    visit = make_visit(worker, home, started_at=started_at, ended_at=received_at + ahead, received_at=received_at)
    assert ("clock_skew" in codes(visit)) is fires


@pytest.mark.parametrize("mock_location", [False, True])
def test_mock_location_reported_by_the_client(worker, home, mock_location):
    assert ("mock_location" in codes(make_visit(worker, home, mock_location=mock_location))) is mock_location


def test_queue_summary_counts_warnings_and_keeps_the_highest_severity(worker, home):
    started_at = utcnow() - timedelta(hours=1)
    visit = make_visit(worker, home, started_at=started_at, ended_at=started_at + timedelta(minutes=1),
                       location=location_north_of_home(home, 0, accuracy=500.0))
    assert sorted(codes(visit)) == ["poor_accuracy", "too_short"]
    # Accuracy 500 m (5× the limit) and a 1-minute visit (a third of the minimum) are both warnings.
    assert visit.warning_count == 2 and visit.warning_severity == 2
    for warning in visit.warnings:
        assert warning.message and warning.severity == 2


def test_compute_warnings_does_not_touch_the_visit(app, worker, home):
    visit = make_visit(worker, home, mock_location=True)
    fresh = compute_warnings(visit, visit.photos, app.config)
    assert [warning.code for warning in fresh] == ["mock_location"]
    assert visit.warning_count == 1


def _stored(owner, image, quality):
    import io

    from services.photos.intake import store_photo

    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    photo, _ = store_photo(owner, buffer.getvalue())
    return photo


def test_a_lightly_cropped_resaved_copy_is_caught_beyond_the_banded_index(worker, home):
    import random

    from tests.services.photos.similarity_corpus import drawn_scene, light_crop

    scene = drawn_scene(9)
    original = _stored(worker, scene, 92)
    first = make_visit(worker, home, photo_ids=[original.id])
    colleague = make_worker(worker.station)
    copy = _stored(colleague, light_crop(scene, 0.06, random.Random(3)), 60)
    assert phash_distance(original.phash, copy.phash) > 3  # out of the banded index's reach
    visit = make_visit(colleague, home, photo_ids=[copy.id])
    warning = warning_of(visit, "photo_reused")
    match = warning.evidence["matches"][0]
    assert (match["photo_id"], match["other_photo_id"], match["other_visit_id"], match["match"]) == \
        (copy.id, original.id, first.id, "cropped")
    assert warning.severity == 2


def test_an_honest_photo_of_the_same_doorway_a_month_later_is_not_warned(worker, home):
    import random

    from tests.services.photos.similarity_corpus import drawn_scene, honest_repeat

    rng = random.Random(7)
    before, _ = honest_repeat(drawn_scene(5), rng)
    _, after = honest_repeat(drawn_scene(5, moved=True), rng)
    earlier = _stored(worker, before, 90)
    make_visit(worker, home, photo_ids=[earlier.id], started_at=utcnow() - timedelta(days=5))
    later = _stored(worker, after, 85)
    assert 3 < phash_distance(earlier.phash, later.phash) <= 16  # close enough to be looked at, then cleared
    assert "photo_reused" not in codes(make_visit(worker, home, photo_ids=[later.id]))


def test_a_picture_reused_100_times_stores_every_check_in_each_warned(worker, home):
    """A common picture (a blank wall) must not block check-ins once it has many matches."""
    sha256, phash = "ab" * 32, "8f3c0a5566e1d2b4"
    workers = [worker] + [make_worker(worker.station) for _ in range(99)]
    visits = [make_visit(each, home, photo_ids=[make_photo(each, sha256=sha256, phash=phash).id])
              for each in workers]
    assert len({visit.id for visit in visits}) == 100
    assert all("photo_reused" in codes(visit) for visit in visits[1:])
    last = warning_of(visits[-1], "photo_reused")
    assert len(last.message) <= 255
    assert last.evidence["other_visit_count"] == 99
    assert len(last.evidence["matches"]) <= MAX_LISTED_MATCHES
    # The most recent matches first, each with its ids and time.
    newest = last.evidence["matches"][0]
    assert newest["other_visit_id"] == visits[-2].id
    assert newest["other_started_at"] == visits[-2].started_at.isoformat()


def test_stored_evidence_holds_data_not_api_urls(worker, home):
    first = make_visit(worker, home)
    colleague = make_worker(worker.station)
    photo = make_photo(colleague, sha256=first.photos[0].sha256, phash=first.photos[0].phash,
                       gps_latitude=home.home_latitude + 400 * DEGREE_PER_METRE, gps_longitude=home.home_longitude,
                       taken_at=utcnow() - timedelta(days=3))
    started = utcnow() - timedelta(hours=1)
    far_person = make_beneficiary(worker.station, home_latitude=home.home_latitude + 100_000 * DEGREE_PER_METRE,
                                  home_longitude=home.home_longitude)
    make_visit(colleague, far_person, started_at=started - timedelta(minutes=40))
    visit = make_visit(colleague, home, photo_ids=[photo.id], started_at=started)
    assert {"photo_reused", "photo_far", "photo_old", "fast_travel"} <= set(codes(visit))
    assert "/api/" not in json.dumps([warning.evidence for warning in visit.warnings])


def test_a_failing_check_is_logged_and_the_check_in_is_kept(worker, home, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("check exploded")

    monkeypatch.setattr(authenticity, "_far_from_home", broken)
    visit = make_visit(worker, home, location=location_north_of_home(home, 0, accuracy=500.0))
    assert visit.id is not None and codes(visit) == ["poor_accuracy"]
    assert "check exploded" in caplog.text


def test_a_warning_that_cannot_be_stored_does_not_lose_the_check_in(worker, home, monkeypatch, caplog):
    # A warning the database refuses (here: no code, NOT NULL) stands for any storage failure.
    monkeypatch.setattr(authenticity, "_mock_location",
                        lambda visit: VisitWarning(code=None, severity=1, message="x", evidence={}))
    visit = make_visit(worker, home)
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored is not None and stored.status == "submitted" and stored.warnings == []
    assert "could not store the warnings" in caplog.text
