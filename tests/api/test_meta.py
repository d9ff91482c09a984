"""GET /api/v1/meta: the vocabularies of models.enums and the configured limits, public."""

import pytest

from models import enums
from services.photos.pipeline import MIME_TYPES

VOCABULARY_KEYS = {
    "roles": enums.ROLES,
    "region_levels": enums.REGION_LEVELS,
    "genders": enums.GENDERS,
    "beneficiary_categories": enums.BENEFICIARY_CATEGORIES,
    "beneficiary_statuses": enums.BENEFICIARY_STATUSES,
    "risk_tiers": enums.RISK_TIERS,
    "visit_kinds": enums.VISIT_KINDS,
    "services": enums.SERVICES,
    "domains": enums.DOMAINS,
    "needs": enums.NEEDS,
    "finding_areas": enums.FINDING_AREAS,
    "finding_values": enums.FINDING_VALUES,
    "visit_statuses": enums.VISIT_STATUSES,
    "review_actions": enums.REVIEW_ACTIONS,
    "coord_types": enums.COORD_TYPES,
}


@pytest.fixture
def meta(client):
    response = client.get("/api/v1/meta")
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize("key", sorted(VOCABULARY_KEYS))
def test_each_vocabulary_is_listed_in_order_with_both_labels(meta, key):
    vocabulary = VOCABULARY_KEYS[key]
    assert meta[key] == [{"code": code, "zh": labels["zh"], "en": labels["en"]} for code, labels in vocabulary.items()]


def test_warning_codes_carry_their_severity(meta):
    assert meta["warning_codes"] == [{"code": code, **labels} for code, labels in enums.WARNING_CODES.items()]
    assert all(isinstance(entry["severity"], int) for entry in meta["warning_codes"])


def test_visit_kind_rules_follow_the_enums(meta):
    assert set(meta["kind_rules"]["with_beneficiary"]) == enums.KINDS_WITH_BENEFICIARY
    assert set(meta["kind_rules"]["without_location"]) == enums.KINDS_WITHOUT_LOCATION
    assert set(meta["kind_rules"]["requiring_photo"]) == enums.KINDS_REQUIRING_PHOTO
    assert set(meta["kind_rules"]["duty"]) == enums.DUTY_KINDS


def test_the_limits_come_from_the_config(app, client):
    app.config.update(MAX_PHOTO_BYTES=1234, MAX_PHOTOS_PER_VISIT=4, MAX_NOTES_LENGTH=99)
    limits = client.get("/api/v1/meta").get_json()["limits"]
    assert limits["max_photo_bytes"] == 1234
    assert limits["max_photos_per_visit"] == 4
    assert limits["max_notes_length"] == 99
    assert limits["max_photo_pixels"] == app.config["MAX_PHOTO_PIXELS"]
    assert limits["visit_max_age_days"] == app.config["VISIT_MAX_AGE"].days
    assert limits["visit_max_future_minutes"] * 60 == app.config["VISIT_MAX_FUTURE"].total_seconds()
    assert set(limits["accepted_photo_types"]) == set(MIME_TYPES.values())
    assert "image/jpeg" in limits["accepted_photo_types"]


def test_the_audit_vocabulary_is_not_published(meta):
    assert "audit_actions" not in meta
