"""POST/GET /visits, GET/PUT /visits/<id>: a worker's check-ins from the phone."""

from dataclasses import dataclass

from flask import jsonify, url_for
from marshmallow import EXCLUDE, fields, post_load

from api.parsing import load_json, load_query
from api.schema import ApiSchema, Length
from api.v1.blueprint import bp
from api.v1.schemas import NamedRefSchema, PageQuerySchema, PageSchema, PhotoSchema
from api.v1.security import current_user, token_required
from models.enums import (
    COORD_TYPES,
    DOMAINS,
    FINDING_AREAS,
    FINDING_VALUES,
    NEEDS,
    SERVICES,
    VISIT_KINDS,
    VISIT_STATUSES,
)
from services.geo import LATITUDE_RANGE, LONGITUDE_RANGE
from services.visits.inputs import FindingInput, LocationInput, VisitInput
from services.visits.submission import get_visit, list_visits_for_worker, resubmit_visit, submit_visit


def _enum(vocabulary, description: str | None = None, **more) -> dict:
    # Documentation only: services.visits validates the codes against the same vocabulary.
    metadata = {"enum": list(vocabulary), **more}
    if description:
        metadata["description"] = description
    return metadata


class _ForwardCompatibleSchema(ApiSchema):
    class Meta:
        # Unknown fields are ignored, not refused: a phone updated before the server would otherwise
        # have its queued offline check-ins refused forever. They never reach the database.
        unknown = EXCLUDE


class LocationInputSchema(_ForwardCompatibleSchema):
    """The check-in point as the phone's location API gave it."""

    # The range is checked by services.visits (services.geo's check), documented here.
    latitude = fields.Float(required=True, metadata={"minimum": LATITUDE_RANGE[0], "maximum": LATITUDE_RANGE[1],
                                                     "example": 21.6625})
    longitude = fields.Float(required=True, metadata={"minimum": LONGITUDE_RANGE[0], "maximum": LONGITUDE_RANGE[1],
                                                      "example": 110.9331})
    accuracy = fields.Float(load_default=None, allow_none=True,
                            metadata={"minimum": 0, "description": "Horizontal accuracy in metres", "example": 15})
    coord_type = fields.Str(required=True, metadata=_enum(COORD_TYPES, "wx.getLocation's type: wgs84 or gcj02",
                                                          example="gcj02"))

    @post_load
    def _to_input(self, data: dict, **_kwargs) -> LocationInput:
        return LocationInput(**data)


class FindingInputSchema(_ForwardCompatibleSchema):
    value = fields.Str(required=True, metadata=_enum(FINDING_VALUES))
    note = fields.Str(load_default="", metadata={"maxLength": 500})

    @post_load
    def _to_input(self, data: dict, **_kwargs) -> FindingInput:
        return FindingInput(**data)


class VisitUpdateSchema(_ForwardCompatibleSchema):
    """A visit body (PUT replaces every field). Unknown fields are ignored for forward compatibility.

    Times must carry an offset (naive times are refused). Rules (vocabularies, time window, beneficiary
    of the worker's station, own free photos, limits) are checked by services.visits and answered
    with 422 and per-field messages.
    """

    beneficiary_id = fields.Int(load_default=None, allow_none=True, strict=True,
                                metadata={"description": "Required for home_visit, case_service, care_call",
                                          "example": 12})
    kind = fields.Str(required=True, metadata=_enum(VISIT_KINDS, example="home_visit"))
    services = fields.List(fields.Str(metadata=_enum(SERVICES)), load_default=list,
                           metadata={"example": ["policy_implementation"]})
    domains = fields.List(fields.Str(metadata=_enum(DOMAINS)), load_default=list)
    # "{now-40m}": filled in when the OpenAPI document is served, so the example stays inside the visit window.
    started_at = fields.AwareDateTime(required=True, format="iso", metadata={"example": "{now-40m}"})
    ended_at = fields.AwareDateTime(required=True, format="iso", metadata={"example": "{now-15m}"})
    location = fields.Nested(LocationInputSchema, load_default=None, allow_none=True,
                             metadata={"description": "Required except for care_call, which has none"})
    notes = fields.Str(load_default="", metadata={"description": "One short note; at most MAX_NOTES_LENGTH (2000)",
                                                  "example": "老人身体尚可，反映屋顶漏水"})
    photo_ids = fields.List(fields.Int(strict=True), load_default=list,
                            metadata={"description": "Own uploaded photos, in display order; at least one for "
                                                     "home_visit, none for care_call, at most 9",
                                      "example": [31, 32, 33]})
    findings = fields.Dict(keys=fields.Str(metadata=_enum(FINDING_AREAS)), values=fields.Nested(FindingInputSchema),
                           load_default=dict)
    needs = fields.List(fields.Str(metadata=_enum(NEEDS)), load_default=list)
    follow_up_needed = fields.Bool(load_default=False)
    follow_up_due = fields.Date(load_default=None, allow_none=True)
    photo_consent = fields.Bool(load_default=False,
                                metadata={"description": "The person agreed to be photographed", "example": True})
    coworker_ids = fields.List(fields.Int(strict=True), load_default=list,
                               metadata={"description": "Other workers of the station present"})
    people_count = fields.Int(load_default=1, strict=True,
                              metadata={"minimum": 1, "maximum": 50,
                                        "description": "People served (人次); at most MAX_PEOPLE_COUNT (50)"})
    mock_location = fields.Bool(load_default=False, metadata={"description": "The OS reports a mock location"})
    client_sent_at = fields.AwareDateTime(load_default=None, allow_none=True, format="iso",
                                          metadata={"description": "The phone's clock when sending (not part of the "
                                                                   "idempotency comparison)"})

    @post_load
    def _to_input(self, data: dict, **_kwargs) -> VisitInput:
        return VisitInput(**data)


class VisitResubmitSchema(VisitUpdateSchema):
    """A returned visit sent back (PUT): the whole body again, and the worker's answer to the reviewer."""

    reply = fields.Str(load_default=None, allow_none=True, validate=Length(max=2000),
                       metadata={"description": "The worker's reply to the return comment, shown to the reviewer",
                                 "example": "已补充厨房照片"})

    @post_load
    def _to_input(self, data: dict, **_kwargs) -> "Resubmission":
        reply = data.pop("reply", None)
        return Resubmission(visit=VisitInput(**data), reply=reply)


@dataclass(frozen=True)
class Resubmission:
    """A loaded resubmission body: the visit input and the worker's reply."""

    visit: VisitInput
    reply: str | None


class VisitCreateSchema(VisitUpdateSchema):
    """A new check-in. `client_id` (a UUID made on the phone) makes retries safe: the same body again
    returns the stored visit (200), another body under the same client_id is 409 client_id_conflict.
    Unknown fields are ignored for forward compatibility."""

    client_id = fields.UUID(required=True, metadata={"example": "5b0e2c1e-8f8a-4b43-9a53-2f4f3d1f7c10"})


class VisitListQuerySchema(PageQuerySchema):
    """Query parameters of GET /visits; unknown parameters are ignored."""

    class Meta:
        unknown = EXCLUDE

    status = fields.Str(load_default=None, metadata=_enum(VISIT_STATUSES))
    updated_since = fields.AwareDateTime(load_default=None, format="iso",
                                         metadata={"description": "Only visits changed at or after this time "
                                                                  "(URL-encode the + of an offset, or use Z)"})


class WarningSchema(ApiSchema):
    code = fields.Str(metadata={"example": "poor_accuracy"})
    severity = fields.Int(metadata={"example": 1})
    message = fields.Str(metadata={"example": "定位精度 150 米，超过 100 米"})
    evidence = fields.Dict(metadata={"example": {"accuracy_m": 150, "threshold_m": 100}})


class ReviewSchema(ApiSchema):
    reviewer = fields.Str()
    reviewed_at = fields.DateTime()
    comment = fields.Str(allow_none=True)


def _sent_location(visit) -> dict | None:
    if visit.sent_latitude is None:
        return None
    return {"latitude": visit.sent_latitude, "longitude": visit.sent_longitude, "accuracy": visit.accuracy_m,
            "coord_type": visit.coord_type}


def _wgs84_location(visit) -> dict | None:
    if visit.latitude is None:
        return None
    return {"latitude": visit.latitude, "longitude": visit.longitude, "accuracy": visit.accuracy_m,
            "coord_type": "wgs84"}


def _review(visit) -> dict | None:
    if visit.reviewer_id is None:
        return None
    return _REVIEW_SCHEMA.dump({"reviewer": visit.reviewer.name, "reviewed_at": visit.reviewed_at,
                                "comment": visit.review_comment})


class VisitSchema(ApiSchema):
    """A visit as its worker sees it: what was sent, the WGS-84 point, warnings, photos and the last review."""

    id = fields.Int(metadata={"example": 7})
    client_id = fields.Str(metadata={"example": "5b0e2c1e-8f8a-4b43-9a53-2f4f3d1f7c10"})
    beneficiary = fields.Nested(NamedRefSchema, allow_none=True)
    kind = fields.Str(metadata={"example": "home_visit"})
    services = fields.List(fields.Str(), metadata={"example": ["policy_implementation"]})
    domains = fields.List(fields.Str(), metadata={"example": []})
    started_at = fields.DateTime(metadata={"example": "2024-05-06T01:30:00+00:00"})
    ended_at = fields.DateTime(metadata={"example": "2024-05-06T01:55:00+00:00"})
    location = fields.Function(_sent_location, metadata={"type": "object", "nullable": True, "example": {
        "latitude": 21.6625, "longitude": 110.9331, "accuracy": 15, "coord_type": "gcj02"}})
    location_wgs84 = fields.Function(_wgs84_location, metadata={"type": "object", "nullable": True, "example": {
        "latitude": 21.6653, "longitude": 110.9279, "accuracy": 15, "coord_type": "wgs84"}})
    distance_from_home_m = fields.Float(allow_none=True, metadata={"example": 41.3})
    mock_location = fields.Bool(metadata={"example": False})
    notes = fields.Str(metadata={"example": "老人身体尚可，反映屋顶漏水"})
    findings = fields.Dict(metadata={"example": {}})
    needs = fields.List(fields.Str(), metadata={"example": []})
    follow_up_needed = fields.Bool(metadata={"example": False})
    follow_up_due = fields.Date(allow_none=True, metadata={"example": None})
    photo_consent = fields.Bool(metadata={"example": True})
    coworkers = fields.List(fields.Nested(NamedRefSchema), metadata={"example": []})
    people_count = fields.Int(metadata={"example": 1})
    status = fields.Str(metadata={"example": "submitted"})
    revision = fields.Int(metadata={"example": 1})
    warning_count = fields.Int(metadata={"example": 1})
    warning_severity = fields.Int(metadata={"example": 1})
    warnings = fields.List(fields.Nested(WarningSchema))
    photos = fields.List(fields.Nested(PhotoSchema), metadata={"example": []})
    client_sent_at = fields.DateTime(allow_none=True, metadata={"example": None})
    received_at = fields.DateTime(metadata={"example": "2024-05-06T01:56:02+00:00"})
    updated_at = fields.DateTime(metadata={"example": "2024-05-06T01:56:02+00:00"})
    review = fields.Function(_review, metadata={
        "type": "object", "nullable": True, "description": "The last decision: {reviewer, reviewed_at, comment}",
        "example": None})


class VisitPageSchema(PageSchema):
    """One page of visits, newest first (by received_at, then id)."""

    items = fields.List(fields.Nested(VisitSchema))


# Made once: building a schema costs more than using it, and none keeps per-request state.
_VISIT_CREATE_SCHEMA = VisitCreateSchema()
_VISIT_UPDATE_SCHEMA = VisitUpdateSchema()
_VISIT_RESUBMIT_SCHEMA = VisitResubmitSchema()
_VISIT_LIST_QUERY_SCHEMA = VisitListQuerySchema()
_VISIT_SCHEMA = VisitSchema()
_VISIT_PAGE_SCHEMA = VisitPageSchema()
_REVIEW_SCHEMA = ReviewSchema()


@bp.post("/visits")
@token_required
def create_visit():
    """Submit a check-in.
    ---
    post:
      tags: [visits]
      summary: Submit a check-in (idempotent on client_id)
      description: >
        Upload the photos first (POST /photos), then send their ids here. Retrying after a dropped
        response is safe: the same client_id and body return the stored visit with 200. Unknown
        fields are ignored; naive times are refused.
      security: [{bearerAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: VisitCreateSchema
      responses:
        201:
          description: Stored
          headers: {Location: {schema: {type: string}, description: The visit's URL}}
          content: {application/json: {schema: VisitSchema}}
        200: {description: A retry of a stored check-in, content: {application/json: {schema: VisitSchema}}}
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        403: {$ref: '#/components/responses/Forbidden'}
        409: {$ref: '#/components/responses/Conflict'}
        413: {$ref: '#/components/responses/PayloadTooLarge'}
        422: {$ref: '#/components/responses/ValidationError'}
    """
    visit, created = submit_visit(current_user(), load_json(_VISIT_CREATE_SCHEMA))
    if not created:
        return jsonify(_VISIT_SCHEMA.dump(visit)), 200
    return jsonify(_VISIT_SCHEMA.dump(visit)), 201, {"Location": url_for("api_v1.show_visit", visit_id=visit.id)}


@bp.get("/visits")
@token_required
def list_visits():
    """List the worker's own visits.
    ---
    get:
      tags: [visits]
      summary: The worker's own visits, newest first (cursor pagination)
      security: [{bearerAuth: []}]
      parameters: [{in: query, schema: VisitListQuerySchema}]
      responses:
        200:
          description: One page
          content: {application/json: {schema: VisitPageSchema}}
        401: {$ref: '#/components/responses/Unauthorized'}
        422: {$ref: '#/components/responses/ValidationError'}
    """
    query = load_query(_VISIT_LIST_QUERY_SCHEMA)
    visits, next_cursor = list_visits_for_worker(current_user(), **query)
    return jsonify(_VISIT_PAGE_SCHEMA.dump({"items": visits, "next_cursor": next_cursor}))


@bp.get("/visits/<int:visit_id>")
@token_required
def show_visit(visit_id: int):
    """Read one visit.
    ---
    get:
      tags: [visits]
      summary: One of the worker's own visits, with photos, warnings and the reviewer's comment
      security: [{bearerAuth: []}]
      parameters: [{in: path, name: visit_id, required: true, schema: {type: integer}}]
      responses:
        200:
          description: The visit
          content: {application/json: {schema: VisitSchema}}
        401: {$ref: '#/components/responses/Unauthorized'}
        404: {$ref: '#/components/responses/NotFound'}
    """
    return jsonify(_VISIT_SCHEMA.dump(get_visit(current_user(), visit_id)))


@bp.put("/visits/<int:visit_id>")
@token_required
def update_visit(visit_id: int):
    """Resubmit a returned visit.
    ---
    put:
      tags: [visits]
      summary: Resubmit a returned visit with changed fields and photos (only while returned)
      description: >
        Replaces every field; photos left out become unattached. The revision increases, the status goes
        back to submitted and the warnings are recomputed. Any other status is 409 invalid_transition.
      security: [{bearerAuth: []}]
      parameters: [{in: path, name: visit_id, required: true, schema: {type: integer}}]
      requestBody:
        required: true
        content:
          application/json:
            schema: VisitResubmitSchema
      responses:
        200:
          description: Resubmitted
          content: {application/json: {schema: VisitSchema}}
        400: {$ref: '#/components/responses/BadRequest'}
        401: {$ref: '#/components/responses/Unauthorized'}
        404: {$ref: '#/components/responses/NotFound'}
        409: {$ref: '#/components/responses/Conflict'}
        413: {$ref: '#/components/responses/PayloadTooLarge'}
        422: {$ref: '#/components/responses/ValidationError'}
    """
    resubmission = load_json(_VISIT_RESUBMIT_SCHEMA)
    visit = resubmit_visit(current_user(), visit_id, resubmission.visit, reply=resubmission.reply)
    return jsonify(_VISIT_SCHEMA.dump(visit))
