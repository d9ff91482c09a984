"""services.geo: GCJ-02 to WGS-84 against published point pairs, no offset outside China, distances."""

import pytest

from services.errors import Invalid
from services.geo import check_wgs84, distance_m, is_latitude, is_longitude, to_gcj02, to_wgs84
from services.registry.fields import parse_home_location
from services.validation import FieldProblem

# (wgs_lat, wgs_lon, gcj_lat, gcj_lon): the test pairs of googollee/eviltransform
# (python/test.py and the PHP port's EvilTransformTest.php: Shanghai, Shenzhen, Beijing).
EVILTRANSFORM_PAIRS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM_PAIRS)
def test_gcj02_converts_to_the_published_wgs84_point(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    latitude, longitude = to_wgs84(gcj_lat, gcj_lon, "gcj02")
    # The pairs are hundreds of metres apart before conversion; after it they agree within 0.5 m.
    assert distance_m(gcj_lat, gcj_lon, wgs_lat, wgs_lon) > 400
    assert distance_m(latitude, longitude, wgs_lat, wgs_lon) < 0.5


@pytest.mark.parametrize(("wgs_lat", "wgs_lon", "gcj_lat", "gcj_lon"), EVILTRANSFORM_PAIRS)
def test_wgs84_converts_to_the_published_gcj02_point(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    latitude, longitude = to_gcj02(wgs_lat, wgs_lon)
    assert distance_m(latitude, longitude, gcj_lat, gcj_lon) < 0.5


@pytest.mark.parametrize(("latitude", "longitude"), [(48.8566, 2.3522), (-33.8688, 151.2093), (40.7128, -74.006)])
def test_outside_china_there_is_no_offset(latitude, longitude):
    assert to_wgs84(latitude, longitude, "gcj02") == (latitude, longitude)
    assert to_gcj02(latitude, longitude) == (latitude, longitude)


def test_wgs84_is_returned_unchanged():
    assert to_wgs84(21.665, 110.928, "wgs84") == (21.665, 110.928)


def test_unknown_coordinate_system_is_refused():
    with pytest.raises(Invalid) as raised:
        to_wgs84(21.665, 110.928, "bd09")
    assert "coord_type" in raised.value.fields


def test_distance_matches_a_known_length():
    # One degree of latitude on the mean-radius sphere is 111.195 km.
    assert distance_m(21.0, 110.0, 22.0, 110.0) == pytest.approx(111_195, abs=1)
    assert distance_m(21.665, 110.928, 21.665, 110.928) == 0


@pytest.mark.parametrize(("latitude", "longitude", "field"), [(91, 0, "latitude"), (0, -181, "longitude")])
def test_coordinates_off_the_globe_are_refused(latitude, longitude, field):
    with pytest.raises(Invalid) as raised:
        check_wgs84(latitude, longitude)
    assert field in raised.value.fields


@pytest.mark.parametrize(("value", "latitude", "longitude"), [
    (0, True, True), (90, True, True), (-90, True, True), (90.0001, False, True), (-90.5, False, True),
    (180, False, True), (-180, False, True), (180.01, False, False), (float("nan"), False, False),
    (float("inf"), False, False), (float("-inf"), False, False),
])
def test_the_one_range_check_of_latitudes_and_longitudes(value, latitude, longitude):
    assert is_latitude(value) is latitude
    assert is_longitude(value) is longitude


@pytest.mark.parametrize(("latitude", "longitude"), [(91, 0), (0, 181), (float("nan"), 0)])
def test_imports_refuse_what_the_range_check_refuses(latitude, longitude):
    with pytest.raises(FieldProblem) as raised:
        parse_home_location(str(latitude), str(longitude))
    assert raised.value.code == "coordinate_range"
    assert parse_home_location("90", "-180") == (90.0, -180.0)
