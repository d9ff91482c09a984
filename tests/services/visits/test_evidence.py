"""Evidence sentences (services.visits.evidence) and warning grades (services.visits.authenticity.grade_warning)."""

from datetime import UTC, datetime, timedelta

import pytest

from services.visits.authenticity import grade_warning
from services.visits.evidence import (
    NOTICE,
    SERIOUS,
    WARNING,
    EvidenceContext,
    RelatedVisit,
    distance_words,
    evidence_sentence,
)

ZH = EvidenceContext(language="zh", photo_numbers={198: 2})
EN = EvidenceContext(language="en", photo_numbers={198: 2})


@pytest.mark.parametrize(("metres", "zh", "en"), [
    (12, "12 米", "12 m"), (850.4, "850 米", "850 m"), (1830, "1.8 公里", "1.8 km"),
    (18_400, "18 公里", "18 km"), (10_358_061, "10358 公里", "10,358 km"),
])
def test_distances_read_in_metres_or_kilometres(metres, zh, en):
    assert distance_words(metres, "zh") == zh and distance_words(metres, "en") == en


def test_far_from_home_names_the_distance_and_the_accuracy():
    evidence = {"distance_m": 1830, "threshold_m": 300, "checkin": {"accuracy_m": 12.0}}
    assert evidence_sentence("far_from_home", evidence, ZH) == "打卡位置距登记住址 1.8 公里（定位精度 12 米）"
    assert evidence_sentence("far_from_home", evidence, EN) == \
        "Check-in 1.8 km from the registered address (accuracy 12 m)"


def test_photo_old_gives_days_and_the_local_time():
    evidence = {"window_hours": 12, "photos": [
        {"photo_id": 198, "taken_at": "2026-11-28T06:02:00+00:00", "hours_before_start": 72.4,
         "taken_at_has_offset": True}]}
    assert evidence_sentence("photo_old", evidence, ZH) == "照片 2 拍摄于走访开始前 3 天（2026-11-28 14:02）"
    assert evidence_sentence("photo_old", evidence, EN) == \
        "Photo 2 was taken 3 days before the visit began (2026-11-28 14:02)"


def test_photo_old_says_when_the_camera_time_had_no_zone():
    evidence = {"photos": [{"photo_id": 198, "taken_at": "2026-11-28T06:02:00+00:00", "hours_before_start": 20,
                            "taken_at_has_offset": False}]}
    assert "相机时间无时区" in evidence_sentence("photo_old", evidence, ZH)


def test_photo_reused_names_the_other_visit_with_its_person_and_day():
    this_year = datetime.now(UTC).year
    context = EvidenceContext(language="zh", photo_numbers={198: 1}, related={
        34: RelatedVisit(id=34, beneficiary_name="王芳", worker_name="李伟",
                         started_at=datetime(this_year, 11, 2, 2, 0, tzinfo=UTC))})
    evidence = {"matches": [{"photo_id": 198, "other_visit_id": 34, "other_photo_id": 7, "match": "phash"}]}
    assert evidence_sentence("photo_reused", evidence, context) == "照片 1 与 #34（王芳，11月2日）的照片几乎相同"


def test_photo_reused_works_from_ids_and_times_alone_and_counts_the_rest():
    evidence = {"matches": [
        {"photo_id": 5, "other_visit_id": visit_id, "match": "sha256",
         "other_started_at": (datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=visit_id)).isoformat()}
        for visit_id in (41, 40, 39, 38)], "total_matches": 9}
    sentence = evidence_sentence("photo_reused", evidence, EvidenceContext())
    assert sentence.startswith("照片与 #41（2025年2月11日）、#40（2025年2月10日）、#39（2025年2月9日）的照片相同")
    assert sentence.endswith("（另有 6 条记录）")


@pytest.mark.parametrize("code", ["far_from_home", "poor_accuracy", "photo_far", "photo_old", "photo_reused",
                                  "fast_travel", "too_short", "clock_skew", "mock_location"])
def test_every_code_reads_without_evidence_and_with_odd_evidence(code):
    for evidence in ({}, None, {"photos": "nonsense", "matches": [1, None], "checkin": None}):
        for context in (ZH, EN):
            sentence = evidence_sentence(code, evidence, context)
            assert sentence and "{" not in sentence and "_" not in sentence


def test_fast_travel_and_clock_skew_read_in_local_words():
    travel = {"speed_kmh": 431.2, "threshold_kmh": 120, "distance_m": 21_560, "gap_minutes": 3.0,
              "previous_visit": {"id": 12, "ended_at": "2026-11-28T06:02:00+00:00"}}
    assert evidence_sentence("fast_travel", travel, ZH) == \
        "距上一次走访 #12（2026-11-28 14:02 结束） 22 公里，间隔 3 分钟，折合每小时 431 公里（上限 120）"
    assert evidence_sentence("clock_skew", {"skew_minutes": -45.0, "threshold_minutes": 10}, ZH) == \
        "手机时间比服务器慢 45 分钟"


@pytest.mark.parametrize(("code", "evidence", "grade"), [
    ("far_from_home", {"distance_m": 301, "threshold_m": 300}, NOTICE),
    ("far_from_home", {"distance_m": 1800, "threshold_m": 300}, WARNING),
    ("far_from_home", {"distance_m": 10_358_061, "threshold_m": 300}, SERIOUS),
    ("photo_far", {"threshold_m": 300, "photos": [{"distance_m": 400}, {"distance_m": 5000}]}, SERIOUS),
    ("poor_accuracy", {"accuracy_m": 150, "threshold_m": 100}, NOTICE),
    ("fast_travel", {"speed_kmh": 900, "threshold_kmh": 120}, SERIOUS),
    ("photo_old", {"window_hours": 12, "photos": [{"hours_before_start": 20}]}, NOTICE),
    ("photo_old", {"window_hours": 12, "photos": [{"hours_before_start": 72}]}, WARNING),
    ("photo_old", {"window_hours": 12, "photos": [{"hours_before_start": 24 * 30}]}, SERIOUS),
    ("photo_reused", {"matches": [{"match": "phash", "other_visit_id": 3}]}, WARNING),
    ("photo_reused", {"matches": [{"match": "sha256", "other_visit_id": 3}]}, SERIOUS),
    ("too_short", {"duration_minutes": 2.0, "threshold_minutes": 3}, NOTICE),
    ("too_short", {"duration_minutes": 0.2, "threshold_minutes": 3}, SERIOUS),
    ("clock_skew", {"skew_minutes": 15, "threshold_minutes": 10}, NOTICE),
    ("mock_location", {}, SERIOUS),
])
def test_grade_scales_with_how_far_past_the_threshold(code, evidence, grade):
    assert grade_warning(code, evidence) == grade
