"""Coordinates: validation, GCJ-02 to WGS-84, distances. Every distance is computed on WGS-84."""

from __future__ import annotations

import math

import prcoords

from services.errors import Invalid

EARTH_RADIUS_M = 6_371_008.8


LATITUDE_RANGE = (-90, 90)
LONGITUDE_RANGE = (-180, 180)


def is_latitude(value: float) -> bool:
    """A finite number of degrees between -90 and 90: the one latitude check of the API, admin and imports."""
    return math.isfinite(value) and LATITUDE_RANGE[0] <= value <= LATITUDE_RANGE[1]


def is_longitude(value: float) -> bool:
    """A finite number of degrees between -180 and 180: the one longitude check of the API, admin and imports."""
    return math.isfinite(value) and LONGITUDE_RANGE[0] <= value <= LONGITUDE_RANGE[1]


def check_wgs84(latitude: float, longitude: float) -> None:
    """Refuse coordinates outside the globe."""
    fields = {}
    if not is_latitude(latitude):
        fields["latitude"] = ["must be between -90 and 90"]
    if not is_longitude(longitude):
        fields["longitude"] = ["must be between -180 and 180"]
    if fields:
        raise Invalid("坐标超出范围", fields=fields)


def to_wgs84(latitude: float, longitude: float, coord_type: str) -> tuple[float, float]:
    """Convert a phone's coordinates to WGS-84; GCJ-02 applies only inside China (prcoords knows the border)."""
    if coord_type == "wgs84":
        return latitude, longitude
    if coord_type == "gcj02":
        point = prcoords.Coords(latitude, longitude)
        if not prcoords.sanity_in_china_p(point):
            return latitude, longitude
        wgs = prcoords.gcj_wgs_bored(point, check_china=False)
        return wgs.lat, wgs.lon
    raise Invalid(f"未知坐标系 {coord_type}", fields={"coord_type": ["wgs84 or gcj02"]})


def to_gcj02(latitude: float, longitude: float) -> tuple[float, float]:
    """Convert WGS-84 to GCJ-02, for display on Chinese map tiles."""
    point = prcoords.Coords(latitude, longitude)
    if not prcoords.sanity_in_china_p(point):
        return latitude, longitude
    gcj = prcoords.wgs_gcj(point, check_china=False)
    return gcj.lat, gcj.lon


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine) between two WGS-84 points."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))
