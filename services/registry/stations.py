"""Regions, stations and service points: creating and editing them (admins, the CLI, the demo), audited."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from extensions import db
from models import Region, ServicePoint, Station, User
from models.enums import REGION_LEVELS
from services.audit import record_audit
from services.errors import Invalid
from services.geo import check_wgs84
from services.permissions import ensure_can_manage_organisation

LOOKUP_CHUNK = 500
MAX_CODE_LENGTH = 32
MAX_REGION_CODE_LENGTH = 12
MAX_NAME_LENGTH = 64


def _region(code: str, name: str, level: str, parent: Region | None) -> Region:
    """Find a region by its official code or create it; an unknown name shows as the code until one is given."""
    region = db.session.scalar(select(Region).where(Region.code == code))
    if region is None:
        region = Region(code=code, name=name or code, level=level, parent=parent)
        db.session.add(region)
    elif name and region.name in ("", region.code):
        region.name = name
    return region


def county_code_of(code: str) -> str | None:
    """The 6-digit county code inside an official township or village code (e.g. 440902 of 440902001)."""
    return code[:6] if code.isdigit() and len(code) >= 9 else None


def ensure_region_path(township_code: str, township_name: str, county_name: str | None) -> Region | None:
    """Find or create the township region and, from its official code, its county and city (flushes only)."""
    county_code = county_code_of(township_code)
    if county_code is None:
        return None
    city = _region(county_code[:4] + "00", "", "city", None)
    county = _region(county_code, county_name or "", "county", city)
    if county_name and county.name != county_name:
        county.name = county_name
    return _region(township_code[:9], township_name, "township", county)


def stations_by_code(codes: Iterable[str]) -> dict[str, Station]:
    """The stations with these codes, by code (codes that match none are absent); one query per 500 codes."""
    found, wanted = {}, sorted({code for code in codes if code})
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start:start + LOOKUP_CHUNK]
        found.update((station.code, station) for station in db.session.scalars(
            select(Station).where(Station.code.in_(chunk))))
    return found


def _check_location(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise Invalid("经纬度须同时提供", code="coordinates_incomplete",
                      fields={"lat": ["give both"], "lon": ["give both"]})
    if latitude is not None:
        check_wgs84(latitude, longitude)


def _check_name(value: str, limit: int = MAX_NAME_LENGTH) -> str:
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise Invalid(f"名称不能为空，且不超过 {limit} 个字符", code="name_invalid", params={"limit": limit},
                      fields={"name": [f"1-{limit} characters"]})
    return value


def add_station(code: str, name: str, *, county_name: str | None = None, region: Region | None = None,
                latitude: float | None = None, longitude: float | None = None,
                actor: User | None = None) -> Station:
    """Create a township station in one transaction, audited as `station_created`.

    Its region path (city > county > township) is derived from an official code; a station whose code is
    not one takes the region given (the admin's form offers it), else none.
    """
    ensure_can_manage_organisation(actor)
    code, name = (code or "").strip(), (name or "").strip()
    if not code or not name:
        raise Invalid("编码和名称不能为空", code="station_fields_missing")
    if len(code) > MAX_CODE_LENGTH:
        raise Invalid("编码无效", code="code_invalid", params={"limit": MAX_CODE_LENGTH},
                      fields={"code": [f"1-{MAX_CODE_LENGTH} characters"]})
    name = _check_name(name)
    _check_location(latitude, longitude)
    if code in stations_by_code([code]):
        raise Invalid(f"社工站 {code} 已存在", code="station_exists", params={"code": code})
    station = Station(code=code, name=name, latitude=latitude, longitude=longitude,
                      region=ensure_region_path(code, name, county_name) or region)
    db.session.add(station)
    db.session.flush()
    record_audit(actor, "station_created", station, code=code, name=name,
                 region=station.region.code if station.region else None)
    db.session.commit()
    return station


def update_station(station: Station, *, code: str, name: str, region: Region | None, latitude: float | None,
                   longitude: float | None, actor: User | None = None) -> Station:
    """Correct a station's code or name, its place or its region; audited as `station_changed`."""
    ensure_can_manage_organisation(actor)
    code = (code or "").strip()
    if not code or len(code) > MAX_CODE_LENGTH:
        raise Invalid("编码无效", code="code_invalid", params={"limit": MAX_CODE_LENGTH},
                      fields={"code": [f"1-{MAX_CODE_LENGTH} characters"]})
    holder = stations_by_code([code]).get(code)
    if holder is not None and holder.id != station.id:
        raise Invalid(f"社工站 {code} 已存在", code="station_exists", params={"code": code})
    values = {"code": code, "name": _check_name(name), "region": region, "latitude": latitude,
              "longitude": longitude}
    _check_location(latitude, longitude)
    _apply_audited(station, values, actor, "station_changed", created=False)
    db.session.commit()
    return station


def save_region(region: Region | None, *, code: str, name: str, level: str, parent: Region | None,
                actor: User | None = None) -> Region:
    """Create (region None) or edit a region of the tree; audited as `region_changed` with the fields changed."""
    ensure_can_manage_organisation(actor)
    code = (code or "").strip()
    if not code or len(code) > MAX_REGION_CODE_LENGTH:
        raise Invalid("行政区划编码无效", code="region_code_invalid", params={"limit": MAX_REGION_CODE_LENGTH},
                      fields={"code": [f"1-{MAX_REGION_CODE_LENGTH} characters"]})
    if level not in REGION_LEVELS:
        raise Invalid(f"未知层级 {level}", code="region_level_unknown", params={"level": level},
                      fields={"level": ["unknown level"]})
    taken = db.session.scalar(select(Region.id).where(Region.code == code))
    if taken is not None and (region is None or taken != region.id):
        raise Invalid(f"行政区划 {code} 已存在", code="region_exists", params={"code": code})
    ancestor = parent
    while ancestor is not None:
        if region is not None and ancestor.id == region.id:
            raise Invalid("上级区划不能是其本身或其下级", code="region_parent_cycle",
                          fields={"parent": ["cycle"]})
        ancestor = ancestor.parent
    creating = region is None
    region = region or Region()
    values = {"code": code, "name": _check_name(name), "level": level, "parent": parent}
    _apply_audited(region, values, actor, "region_changed", created=creating)
    db.session.commit()
    return region


def save_service_point(point: ServicePoint | None, *, name: str, station: Station | None, region: Region | None,
                       latitude: float | None, longitude: float | None,
                       actor: User | None = None) -> ServicePoint:
    """Create (point None) or edit a station's village service point; audited as `service_point_changed`."""
    ensure_can_manage_organisation(actor)
    if station is None:
        raise Invalid("请选择社工站", code="station_required", fields={"station": ["required"]})
    name = _check_name(name)
    _check_location(latitude, longitude)
    if region is not None:
        holder = db.session.scalar(select(ServicePoint.id).where(ServicePoint.region_id == region.id))
        if holder is not None and (point is None or holder != point.id):
            raise Invalid(f"行政区划 {region.code} 已有服务点", code="region_has_service_point",
                          params={"code": region.code}, fields={"region": ["taken"]})
    creating = point is None
    point = point or ServicePoint()
    values = {"name": name, "station": station, "region": region, "latitude": latitude, "longitude": longitude}
    _apply_audited(point, values, actor, "service_point_changed", created=creating)
    db.session.commit()
    return point


def _apply_audited(row, values: dict, actor: User | None, action: str, *, created: bool) -> None:
    """Set the values on the row, flush, and audit which fields changed (names only, as for people)."""
    changed = sorted(key for key, value in values.items() if created or getattr(row, key) != value)
    for key, value in values.items():
        setattr(row, key, value)
    db.session.add(row)
    db.session.flush()
    record_audit(actor, action, row, created=created, fields=changed)


def ensure_service_point(station: Station, village_name: str, *, village_code: str | None = None,
                         latitude: float | None = None, longitude: float | None = None) -> ServicePoint:
    """Find the station's service point for a village by name, creating it (and its region) if needed (flushes only)."""
    point = db.session.scalar(
        select(ServicePoint).where(ServicePoint.station_id == station.id, ServicePoint.name == village_name)
    )
    if point is None:
        region = None
        if village_code and station.region is not None:
            region = _region(village_code, village_name, "village", station.region)
        point = ServicePoint(station=station, name=village_name, region=region,
                             latitude=latitude, longitude=longitude)
        db.session.add(point)
        db.session.flush()
    return point
