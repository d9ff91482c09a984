"""One person of the registry: the admin's save, revealing a full ID number.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from enum import Enum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Beneficiary, ServicePoint, Station, User
from models.enums import BENEFICIARY_STATUSES, BeneficiaryStatus
from services.audit import record_audit
from services.errors import Invalid, NotFound
from services.permissions import MAX_REVEAL_REASON_LENGTH, can_reveal_id_number, ensure_can_edit_registry
from services.registry.fields import (
    MAX_ADDRESS_LENGTH,
    bounded_text,
    clean_text,
    fill_from_id_number,
    name_initials,
    parse_categories,
    parse_date,
    parse_gender,
    parse_home_location,
    parse_name,
    parse_phone,
    parse_risk_tier,
    validate_id_number,
)
from services.validation import FieldErrors

# --- the admin's form ---------------------------------------------------------------------------------------------


class Unchanged(Enum):
    """The value of a BeneficiaryChanges field that is not given: the person's current value stays."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@dataclass(frozen=True)
class BeneficiaryChanges:
    """What to set on a person, as given; save_beneficiary checks and normalises every value.

    A field left UNCHANGED keeps the current value on edit; on creation name, id_number, categories and
    station are required and the others take their defaults. A blank gender or birth date is taken from the
    ID number.
    """

    name: str | None | Unchanged = UNCHANGED
    id_number: str | None | Unchanged = UNCHANGED
    gender: str | None | Unchanged = UNCHANGED  # male/female, or 男/女
    birth_date: date | str | None | Unchanged = UNCHANGED  # a date, or text such as 1950年3月1日
    categories: tuple[str, ...] | Unchanged = UNCHANGED  # codes or Chinese labels
    station: Station | None | Unchanged = UNCHANGED
    service_point: ServicePoint | None | Unchanged = UNCHANGED
    address: str | None | Unchanged = UNCHANGED
    home_latitude: float | None | Unchanged = UNCHANGED  # WGS-84; both or neither
    home_longitude: float | None | Unchanged = UNCHANGED
    phone: str | None | Unchanged = UNCHANGED
    risk_tier: str | None | Unchanged = UNCHANGED
    status: str | Unchanged = UNCHANGED

    def given(self) -> dict:
        """The fields that are not UNCHANGED, by name."""
        return {item.name: getattr(self, item.name) for item in fields(self)
                if getattr(self, item.name) is not UNCHANGED}


def save_beneficiary(beneficiary: Beneficiary | None, changes: BeneficiaryChanges, actor: User | None) -> Beneficiary:
    """Create (beneficiary None) or edit a person from the admin's form, validate everything, audit, commit.

    Raises Invalid with every refused field in .fields.
    """
    ensure_can_edit_registry(actor)
    creating = beneficiary is None
    data = changes.given()
    checker = FieldErrors("服务对象信息有误", code="beneficiary_invalid")
    values = {}
    if creating or "name" in data:
        values["name"] = checker.run("name", parse_name, data.get("name"))
    id_number = beneficiary.id_number if beneficiary is not None else None
    if creating or "id_number" in data:
        id_number = values["id_number"] = checker.run("id_number", validate_id_number, data.get("id_number"))
    if creating or "categories" in data:
        values["categories"] = checker.run("categories", parse_categories, data.get("categories"))
    for key, parse in (("gender", parse_gender), ("birth_date", parse_date)):
        if creating or key in data:
            values[key] = checker.run(key, parse, data.get(key))
    fill_from_id_number(values, id_number)
    if "home_latitude" in data or "home_longitude" in data:
        current = (beneficiary.home_latitude, beneficiary.home_longitude) if beneficiary else (None, None)
        location = checker.run("home_latitude", parse_home_location, data.get("home_latitude", current[0]),
                               data.get("home_longitude", current[1]))
        values["home_latitude"], values["home_longitude"] = location or (None, None)
    for key, parse in (("address", lambda v: bounded_text(v, MAX_ADDRESS_LENGTH, "地址")),
                       ("phone", parse_phone), ("risk_tier", parse_risk_tier)):
        if key in data:
            values[key] = checker.run(key, parse, data.get(key))
    if "status" in data:
        if data["status"] in BENEFICIARY_STATUSES:
            values["status"] = data["status"]
        else:
            checker.add("status", "状态无效", "status")
    if creating or "station" in data:
        values["station"] = data.get("station")
        if values["station"] is None:
            checker.add("station", "请选择社工站", "missing")
    if "service_point" in data:
        values["service_point"] = data["service_point"]
    _check_service_point_belongs(beneficiary, values, checker)
    if values.get("id_number") and _id_number_taken(values["id_number"], beneficiary):
        checker.add("id_number", "该身份证号已登记", "id_number_taken")
    checker.raise_if_any()
    return _write_beneficiary(beneficiary, values, actor)


def _check_service_point_belongs(beneficiary: Beneficiary | None, values: dict, checker: FieldErrors) -> None:
    station = values.get("station", beneficiary.station if beneficiary else None)
    point = values.get("service_point", beneficiary.service_point if beneficiary else None)
    if station is not None and point is not None and point.station_id != station.id:
        checker.add("service_point", f"服务点“{point.name}”不属于{station.name}", "service_point_station")


def _id_number_taken(number: str, beneficiary: Beneficiary | None) -> bool:
    statement = select(Beneficiary.id).where(Beneficiary.id_number == number)
    if beneficiary is not None:
        statement = statement.where(Beneficiary.id != beneficiary.id)
    return db.session.scalar(statement) is not None


def _write_beneficiary(beneficiary: Beneficiary | None, values: dict, actor: User | None) -> Beneficiary:
    creating = beneficiary is None
    if creating:
        beneficiary = Beneficiary(status=BeneficiaryStatus.ACTIVE)
    changed = sorted(key for key, value in values.items() if creating or getattr(beneficiary, key) != value)
    for key, value in values.items():
        setattr(beneficiary, key, value)
    beneficiary.name_initials = name_initials(beneficiary.name)
    db.session.add(beneficiary)
    try:
        db.session.flush()
    except IntegrityError:
        raise Invalid("该身份证号已登记", code="id_number_taken", fields={"id_number": ["该身份证号已登记"]}) from None
    # Field names only: the audit log must not become a second copy of people's ID numbers.
    record_audit(actor, "beneficiary_changed", beneficiary, created=creating, fields=changed)
    db.session.commit()
    return beneficiary


# --- revealing an ID number ---------------------------------------------------------------------------------------


def reveal_id_number(user: User, beneficiary: Beneficiary, reason: str) -> str:
    """The full ID number, for a supervisor of the person's station or an admin who gives a reason; audited."""
    if not can_reveal_id_number(user, beneficiary):
        raise NotFound("服务对象不存在", code="beneficiary_not_found")
    reason = clean_text(reason)
    if not reason:
        raise Invalid("请填写查看原因", code="reason_required", fields={"reason": ["required"]})
    if len(reason) > MAX_REVEAL_REASON_LENGTH:
        raise Invalid("查看原因过长", code="reason_too_long", params={"limit": MAX_REVEAL_REASON_LENGTH},
                      fields={"reason": [f"at most {MAX_REVEAL_REASON_LENGTH} characters"]})
    record_audit(user, "id_number_revealed", beneficiary, reason=reason)
    db.session.commit()
    return beneficiary.id_number


