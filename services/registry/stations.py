"""Regions, stations and service points."""

from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Region, ServicePoint, Station, User
from services.errors import Invalid
from services.geo import check_wgs84


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
    """Find or create the township region and, from its official code, its county and city."""
    county_code = county_code_of(township_code)
    if county_code is None:
        return None
    city = _region(county_code[:4] + "00", "", "city", None)
    county = _region(county_code, county_name or "", "county", city)
    if county_name and county.name != county_name:
        county.name = county_name
    return _region(township_code[:9], township_name, "township", county)


def add_station(code: str, name: str, *, county_name: str | None = None, latitude: float | None = None,
                longitude: float | None = None,
                actor: User | None = None) -> Station:  # noqa: ARG001 (audited as station_created: engineer 8a)
    """Create a township station; its region path is derived from an official code when given one."""
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise Invalid("编码和名称不能为空")
    if (latitude is None) != (longitude is None):
        raise Invalid("经纬度须同时提供", fields={"lat": ["give both"], "lon": ["give both"]})
    if latitude is not None:
        check_wgs84(latitude, longitude)
    if db.session.scalar(select(Station.id).where(Station.code == code)):
        raise Invalid(f"社工站 {code} 已存在", code="station_exists")
    station = Station(code=code, name=name, latitude=latitude, longitude=longitude,
                      region=ensure_region_path(code, name, county_name))
    db.session.add(station)
    db.session.commit()
    return station


def ensure_service_point(station: Station, village_name: str, *, village_code: str | None = None,
                         latitude: float | None = None, longitude: float | None = None) -> ServicePoint:
    """Find the station's service point for a village by name, creating it (and its region) if needed."""
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
