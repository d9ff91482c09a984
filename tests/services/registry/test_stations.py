"""services.registry.stations: stations, regions and service points, each change one audited unit of work."""

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Region, ServicePoint, Station
from services.errors import Forbidden, Invalid
from services.registry.stations import (
    add_station,
    save_region,
    save_service_point,
    stations_by_code,
    update_station,
)
from tests.factories import make_admin, make_service_point, make_station, make_supervisor


def _audits(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_add_station_is_one_audited_unit_with_its_derived_region(app):
    admin = make_admin()
    station = add_station("440902101", "新镇社工站", county_name="茂南区", actor=admin)
    db.session.rollback()  # nothing was left uncommitted: the station, its regions and the audit row are durable
    station = db.session.get(Station, station.id)
    assert [region.level for region in (station.region, station.region.parent, station.region.parent.parent)] == [
        "township", "county", "city"]
    [event] = _audits("station_created")
    assert (event.actor_id, event.object_id, event.details["region"]) == (admin.id, station.id, "440902101")


def test_add_station_takes_the_region_given_when_its_code_is_not_official(app):
    region = save_region(None, code="4409", name="茂名市", level="city", parent=None, actor=make_admin())
    station = add_station("HQ-1", "市社工总站", region=region, actor=make_admin())
    db.session.rollback()
    assert db.session.get(Station, station.id).region_id == region.id
    assert len(_audits("station_created")) == 1


def test_add_station_refusals_write_nothing(app):
    make_station(code="440902777")
    supervisor = make_supervisor()
    stations_before = db.session.scalar(select(func.count()).select_from(Station))
    for kwargs, code in (({"code": "440902777", "name": "重复"}, "station_exists"),
                         ({"code": "", "name": "无编码"}, "station_fields_missing"),
                         ({"code": "440902778", "name": "半个坐标", "latitude": 21.6}, "coordinates_incomplete")):
        with pytest.raises(Invalid) as refused:
            add_station(**kwargs)
        assert refused.value.code == code
        db.session.rollback()
    with pytest.raises(Forbidden):
        add_station("440902779", "督导建站", actor=supervisor)
    assert db.session.scalar(select(func.count()).select_from(Station)) == stations_before
    assert _audits("station_created") == []


def test_stations_by_code_finds_many_at_once_and_skips_unknown_codes(app):
    first, second = make_station(), make_station()
    found = stations_by_code([first.code, second.code, "nope", ""])
    assert {code: station.id for code, station in found.items()} == {first.code: first.id, second.code: second.id}


def test_save_region_audits_creation_and_the_fields_changed(app):
    admin = make_admin()
    city = save_region(None, code="440900", name="茂名", level="city", parent=None, actor=admin)
    county = save_region(None, code="440902", name="茂南区", level="county", parent=city, actor=admin)
    save_region(city, code="440900", name="茂名市", level="city", parent=None, actor=admin)
    db.session.rollback()
    assert db.session.get(Region, city.id).name == "茂名市"
    events = _audits("region_changed")
    assert [(event.object_id, event.details["created"]) for event in events] == [
        (city.id, True), (county.id, True), (city.id, False)]
    assert events[-1].details["fields"] == ["name"] and events[-1].actor_id == admin.id


def test_save_region_refuses_duplicates_cycles_and_unknown_levels(app):
    admin = make_admin()
    city = save_region(None, code="440900", name="茂名市", level="city", parent=None, actor=admin)
    county = save_region(None, code="440902", name="茂南区", level="county", parent=city, actor=admin)
    refusals = (
        (None, {"code": "440900", "name": "又一个", "level": "city", "parent": None}, "region_exists"),
        (city, {"code": "440900", "name": "茂名市", "level": "city", "parent": county}, "region_parent_cycle"),
        (None, {"code": "440903", "name": "某区", "level": "province", "parent": city}, "region_level_unknown"),
    )
    for region, values, code in refusals:
        with pytest.raises(Invalid) as refused:
            save_region(region, actor=admin, **values)
        assert refused.value.code == code
        db.session.rollback()
    assert len(_audits("region_changed")) == 2
    with pytest.raises(Forbidden):
        save_region(city, code="440900", name="改名", level="city", parent=None, actor=make_supervisor())


def test_save_service_point_audits_creation_and_edits(app):
    admin, station, other = make_admin(), make_station(), make_station()
    point = save_service_point(None, name="牙象村", station=station, region=None, latitude=21.7, longitude=110.9,
                               actor=admin)
    save_service_point(point, name="牙象村", station=other, region=None, latitude=21.7, longitude=110.9, actor=admin)
    db.session.rollback()
    assert db.session.get(ServicePoint, point.id).station_id == other.id
    events = _audits("service_point_changed")
    assert [(event.details["created"], event.details["fields"]) for event in events] == [
        (True, ["latitude", "longitude", "name", "region", "station"]), (False, ["station"])]


def test_save_service_point_refusals(app):
    admin, station = make_admin(), make_station()
    village = save_region(None, code="440902100201", name="牙象村", level="village", parent=None, actor=admin)
    make_service_point(station, region=village)
    for values, code in (({"station": None}, "station_required"),
                         ({"region": village}, "region_has_service_point"),
                         ({"latitude": 21.7}, "coordinates_incomplete")):
        arguments = {"name": "新村", "station": station, "region": None, "latitude": None, "longitude": None,
                     **values}
        with pytest.raises(Invalid) as refused:
            save_service_point(None, actor=admin, **arguments)
        assert refused.value.code == code
        db.session.rollback()
    assert _audits("service_point_changed") == []


def test_update_station_audits_and_keeps_codes_unique(app):
    admin, station, other = make_admin(), make_station(), make_station()
    update_station(station, code=station.code, name="改名镇", region=None, latitude=None, longitude=None, actor=admin)
    with pytest.raises(Invalid) as refused:
        update_station(station, code=other.code, name="改名镇", region=None, latitude=None, longitude=None,
                       actor=admin)
    assert refused.value.code == "station_exists"
    db.session.rollback()
    [event] = _audits("station_changed")
    assert event.details["fields"] == ["latitude", "longitude", "name"]
