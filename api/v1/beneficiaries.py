"""GET /beneficiaries: the people of the worker's station, searchable by name or pinyin initials, nearest first."""

from flask import jsonify
from marshmallow import EXCLUDE, ValidationError, fields, pre_dump

from api.parsing import load_query
from api.schema import ApiSchema, Length
from api.v1.blueprint import bp
from api.v1.schemas import GpsSchema, NamedRefSchema, PageQuerySchema, PageSchema
from api.v1.security import current_user, token_required
from models.enums import BENEFICIARY_CATEGORIES, GENDERS, RISK_TIERS
from services.geo import is_latitude, is_longitude
from services.registry.search import BeneficiaryHit, search_beneficiaries
from services.reporting.coverage import DueStatus


class LatLonField(fields.String):
    """A point given as "lat,lon" in WGS-84 degrees, loaded as a (lat, lon) tuple."""

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[float, float]:
        text = super()._deserialize(value, attr, data, **kwargs)
        parts = text.split(",")
        if len(parts) != 2:
            raise ValidationError("须为 WGS-84 经纬度“纬度,经度”，如 21.665,110.928")
        try:
            latitude, longitude = float(parts[0]), float(parts[1])
        except ValueError as error:
            raise ValidationError("纬度和经度须为数字") from error
        if not is_latitude(latitude):
            raise ValidationError("纬度须在 -90 到 90 之间")
        if not is_longitude(longitude):
            raise ValidationError("经度须在 -180 到 180 之间")
        return latitude, longitude


class BeneficiaryQuerySchema(PageQuerySchema):
    """Query parameters of GET /beneficiaries; unknown parameters are ignored."""

    class Meta:
        unknown = EXCLUDE

    q = fields.Str(load_default=None, validate=Length(max=64),
                   metadata={"description": "Part of the name, the start of its pinyin initials (zxm), a full ID "
                                            "number, or its last 4, 5 or 6 characters (1234, 01234X)"})
    near = LatLonField(load_default=None, metadata={"description": "WGS-84 lat,lon: sort by distance from home",
                                                    "example": "21.665,110.928"})
    due = fields.Bool(load_default=False, metadata={
        "description": "1: only the people due a visit — next due date today or earlier (Beijing calendar) — "
                       "most urgent first, or nearest first with `near`"})


class LabelledCodeSchema(ApiSchema):
    """A vocabulary code with its Chinese label."""

    code = fields.Str()
    zh = fields.Str()


class LastVisitSchema(ApiSchema):
    id = fields.Int(metadata={"example": 901})
    kind = fields.Str(metadata={"example": "home_visit"})
    started_at = fields.DateTime(metadata={"example": "2025-05-02T09:30:00+00:00"})
    status = fields.Str(metadata={"example": "submitted"})


class VisitScheduleSchema(ApiSchema):
    """Where a person stands against their required visit frequency; only approved visits count."""

    interval_days = fields.Int(metadata={"description": "Required interval: the strictest category, tightened by "
                                                        "the risk tier", "example": 30})
    last_approved_visit_at = fields.DateTime(allow_none=True, metadata={
        "description": "Start of the latest approved home visit, case service or care call; null if none",
        "example": "2025-03-28T02:10:00+00:00"})
    next_due_on = fields.Date(metadata={
        "description": "Local date the next visit is due: the last approved visit's date + interval, or the "
                       "registration date when never visited", "example": "2025-04-27"})
    days_overdue = fields.Int(metadata={
        "description": "Today minus next_due_on: positive when overdue, 0 when due today, negative when not yet due",
        "example": 8})
    pending_review = fields.Bool(metadata={
        "description": "A visit awaits review; it resets the schedule only once approved", "example": True})


def _schedule(status: DueStatus | None) -> dict | None:
    if status is None:
        return None
    return {
        "interval_days": status.interval_days,
        "last_approved_visit_at": status.last_approved_at,
        "next_due_on": status.next_due,
        "days_overdue": status.days_overdue,
        "pending_review": status.pending_review,
    }


def _labelled(code: str | None, vocabulary) -> dict | None:
    if code is None:
        return None
    return {"code": code, "zh": vocabulary[code]["zh"] if code in vocabulary else code}


class BeneficiaryItemSchema(ApiSchema):
    """One person as the phone lists them; the ID number only ever masked."""

    id = fields.Int(metadata={"example": 17})
    name = fields.Str(metadata={"example": "张小明"})
    gender = fields.Nested(LabelledCodeSchema, allow_none=True, metadata={"example": {"code": "male", "zh": "男"}})
    birth_year = fields.Int(allow_none=True, metadata={"example": 1948})
    age = fields.Int(allow_none=True, metadata={"example": 77})
    categories = fields.List(fields.Nested(LabelledCodeSchema), metadata={
        "example": [{"code": "elderly_alone", "zh": "独居老人"}, {"code": "tekun", "zh": "特困"}]})
    risk_tier = fields.Nested(LabelledCodeSchema, allow_none=True,
                              metadata={"example": {"code": "key", "zh": "重点（每月）"}})
    station = fields.Nested(NamedRefSchema, metadata={"example": {"id": 3, "name": "高州市石鼓镇社工站"}})
    service_point = fields.Nested(NamedRefSchema, allow_none=True,
                                  metadata={"example": {"id": 12, "name": "石鼓村服务点"}})
    address = fields.Str(metadata={"example": "石鼓村三队12号"})
    home = fields.Nested(GpsSchema, allow_none=True, metadata={"example": {"lat": 21.665, "lon": 110.928}})
    phone = fields.Str(allow_none=True, metadata={"example": "13800000000"})
    id_number_masked = fields.Str(metadata={"example": "440902********1234"})
    distance_m = fields.Float(allow_none=True, metadata={"description": "Metres from `near`; null without near",
                                                         "example": 182.4})
    last_visit = fields.Nested(LastVisitSchema, allow_none=True)
    schedule = fields.Nested(VisitScheduleSchema, allow_none=True)

    @pre_dump
    def from_hit(self, hit: BeneficiaryHit, **kwargs) -> dict:
        person = hit.beneficiary
        return {
            "id": person.id,
            "name": person.name,
            "gender": _labelled(person.gender, GENDERS),
            "birth_year": person.birth_date.year if person.birth_date else None,
            "age": hit.age,
            "categories": [_labelled(code, BENEFICIARY_CATEGORIES) for code in person.categories],
            "risk_tier": _labelled(person.risk_tier, RISK_TIERS),
            "station": person.station,
            "service_point": person.service_point,
            "address": person.address,
            "home": {"lat": person.home_latitude, "lon": person.home_longitude} if person.has_home_location else None,
            "phone": person.phone,
            "id_number_masked": person.id_number_masked,
            "distance_m": hit.distance_m,
            "last_visit": hit.last_visit,
            "schedule": _schedule(hit.schedule),
        }


class BeneficiaryPageSchema(PageSchema):
    """One page of people, in the order the query asked for."""

    items = fields.List(fields.Nested(BeneficiaryItemSchema))


@bp.get("/beneficiaries")
@token_required
def list_beneficiaries():
    """List the active beneficiaries in the caller's scope.
    ---
    get:
      tags: [beneficiaries]
      summary: Beneficiaries of the caller's station(s), by name or pinyin initials, nearest first, or those due a visit
      description: >
        A worker sees their station's people, a supervisor their stations', an admin everyone. Without `near`
        the order is by pinyin initials; with `near` by distance from the registered home, people without a
        home location last. Every item carries its visit `schedule` (only approved visits count).
        `due=1` lists only the people due a visit: next due date today or earlier in the Beijing calendar
        (overdue or due today); most urgent first — people with a visit awaiting review after the others,
        then the most overdue, then id — or, with `near`, nearest first with urgency breaking ties. People
        due soon are not in the due list; their `schedule.next_due_on` is in the normal list. ID numbers are
        always masked. Pages are keyset-paginated: pass `next_cursor` back as `cursor` with the same `near`
        and `due`; a cursor of another order is refused (422 invalid_cursor).
      security: [{bearerAuth: []}]
      parameters: [{in: query, schema: BeneficiaryQuerySchema}]
      responses:
        200:
          description: One page of people
          content:
            application/json:
              schema: BeneficiaryPageSchema
        401: {$ref: '#/components/responses/Unauthorized'}
        422: {$ref: '#/components/responses/ValidationError'}
    """
    query = load_query(BeneficiaryQuerySchema())
    page = search_beneficiaries(current_user(), q=query["q"], near=query["near"], due=query["due"],
                                limit=query["limit"], cursor=query["cursor"])
    return jsonify(BeneficiaryPageSchema().dump(page))
