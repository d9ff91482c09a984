"""GET /meta: every vocabulary with Chinese and English labels, and the limits a phone must respect.

Public: nothing here is personal, and a mini-program can label its login and offline screens before a token exists.
"""

from flask import current_app, jsonify
from marshmallow import fields, pre_dump

from api.schema import ApiSchema
from api.v1.blueprint import bp
from models import enums
from services.photos.pipeline import MIME_TYPES as PHOTO_MIME_TYPES

# Response key → vocabulary of models/enums.py; the warning codes carry a severity besides their labels.
VOCABULARIES = {
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


class VocabularyEntrySchema(ApiSchema):
    code = fields.Str()
    zh = fields.Str()
    en = fields.Str()


class WarningCodeSchema(VocabularyEntrySchema):
    severity = fields.Int(metadata={"description": "Higher is looked at first by reviewers"})


class KindRulesSchema(ApiSchema):
    """Which visit kinds need what, so a phone can shape its form."""

    with_beneficiary = fields.List(fields.Str())
    without_location = fields.List(fields.Str())
    requiring_photo = fields.List(fields.Str())
    duty = fields.List(fields.Str())


class LimitsSchema(ApiSchema):
    max_photo_bytes = fields.Int()
    max_photo_pixels = fields.Int()
    max_photos_per_visit = fields.Int()
    visit_max_age_days = fields.Int()
    visit_max_future_minutes = fields.Int()
    max_notes_length = fields.Int()
    accepted_photo_types = fields.List(fields.Str(), metadata={"description": "Judged by content; HEIF covers HEIC"})


class MetaSchema(ApiSchema):
    """The vocabularies as lists of {code, zh, en}, in their defined order, and the limits."""

    roles = fields.List(fields.Nested(VocabularyEntrySchema))
    region_levels = fields.List(fields.Nested(VocabularyEntrySchema))
    genders = fields.List(fields.Nested(VocabularyEntrySchema))
    beneficiary_categories = fields.List(fields.Nested(VocabularyEntrySchema))
    beneficiary_statuses = fields.List(fields.Nested(VocabularyEntrySchema))
    risk_tiers = fields.List(fields.Nested(VocabularyEntrySchema))
    visit_kinds = fields.List(fields.Nested(VocabularyEntrySchema))
    services = fields.List(fields.Nested(VocabularyEntrySchema))
    domains = fields.List(fields.Nested(VocabularyEntrySchema))
    needs = fields.List(fields.Nested(VocabularyEntrySchema))
    finding_areas = fields.List(fields.Nested(VocabularyEntrySchema))
    finding_values = fields.List(fields.Nested(VocabularyEntrySchema))
    visit_statuses = fields.List(fields.Nested(VocabularyEntrySchema))
    review_actions = fields.List(fields.Nested(VocabularyEntrySchema))
    coord_types = fields.List(fields.Nested(VocabularyEntrySchema))
    warning_codes = fields.List(fields.Nested(WarningCodeSchema))
    kind_rules = fields.Nested(KindRulesSchema)
    limits = fields.Nested(LimitsSchema)

    @pre_dump
    def from_config(self, config, **kwargs) -> dict:
        meta = {key: _entries(vocabulary) for key, vocabulary in VOCABULARIES.items()}
        meta["warning_codes"] = _entries(enums.WARNING_CODES)
        meta["kind_rules"] = {
            "with_beneficiary": _in_kind_order(enums.KINDS_WITH_BENEFICIARY),
            "without_location": _in_kind_order(enums.KINDS_WITHOUT_LOCATION),
            "requiring_photo": _in_kind_order(enums.KINDS_REQUIRING_PHOTO),
            "duty": _in_kind_order(enums.DUTY_KINDS),
        }
        meta["limits"] = {
            "max_photo_bytes": config["MAX_PHOTO_BYTES"],
            "max_photo_pixels": config["MAX_PHOTO_PIXELS"],
            "max_photos_per_visit": config["MAX_PHOTOS_PER_VISIT"],
            "visit_max_age_days": config["VISIT_MAX_AGE"].days,
            "visit_max_future_minutes": int(config["VISIT_MAX_FUTURE"].total_seconds() // 60),
            "max_notes_length": config["MAX_NOTES_LENGTH"],
            "accepted_photo_types": list(dict.fromkeys(PHOTO_MIME_TYPES.values())),
        }
        return meta


def _entries(vocabulary) -> list[dict]:
    return [{"code": code, **labels} for code, labels in vocabulary.items()]


def _in_kind_order(kinds: frozenset[str]) -> list[str]:
    return [kind for kind in enums.VISIT_KINDS if kind in kinds]


@bp.get("/meta")
def meta():
    """Vocabularies and limits.
    ---
    get:
      tags: [meta]
      summary: Every vocabulary with Chinese and English labels, and the upload and visit limits (public)
      responses:
        200:
          description: The vocabularies and limits
          content:
            application/json:
              schema: MetaSchema
              example:
                visit_kinds:
                  - {code: home_visit, zh: 入户走访, en: Home visit}
                  - {code: care_call, zh: 电话/视频探访, en: Phone or video call}
                services: [{code: resource_linking, zh: 资源链接, en: Resource linking}]
                coord_types:
                  - {code: wgs84, zh: WGS-84（GPS）, en: WGS-84 (GPS)}
                  - {code: gcj02, zh: GCJ-02（国测局）, en: GCJ-02}
                warning_codes: [{code: far_from_home, zh: 距离登记住址过远, en: Far from registered home, severity: 3}]
                kind_rules:
                  with_beneficiary: [home_visit, case_service, care_call]
                  without_location: [care_call]
                  requiring_photo: [home_visit]
                  duty: [disaster_relief, epidemic_response]
                limits:
                  max_photo_bytes: 20971520
                  max_photo_pixels: 64000000
                  max_photos_per_visit: 9
                  visit_max_age_days: 7
                  visit_max_future_minutes: 5
                  max_notes_length: 2000
                  accepted_photo_types: [image/jpeg, image/png, image/webp, image/heif]
    """
    return jsonify(MetaSchema().dump(current_app.config))
