"""flask stations add: with and without coordinates, the county region path, duplicates refused."""

from sqlalchemy import func, select

from extensions import db
from models import Region, Station


def test_add_station_with_coordinates_builds_its_region_path(runner):
    result = runner.invoke(args=["stations", "add", "440902100", "金塘镇", "--county", "茂南区",
                                 "--lat", "21.7452", "--lon", "110.9553"])
    assert result.exit_code == 0, result.output
    station = db.session.scalar(select(Station).where(Station.code == "440902100"))
    assert (station.name, station.latitude, station.longitude) == ("金塘镇", 21.7452, 110.9553)
    township = station.region
    assert (township.code, township.name, township.level) == ("440902100", "金塘镇", "township")
    assert (township.parent.code, township.parent.name, township.parent.level) == ("440902", "茂南区", "county")
    assert (township.parent.parent.code, township.parent.parent.level) == ("440900", "city")


def test_add_station_without_coordinates(runner):
    result = runner.invoke(args=["stations", "add", "440902102", "新坡镇"])
    assert result.exit_code == 0, result.output
    station = db.session.scalar(select(Station).where(Station.code == "440902102"))
    assert station.latitude is None and station.longitude is None


def test_second_station_of_a_county_reuses_the_county_region(runner):
    runner.invoke(args=["stations", "add", "440902100", "金塘镇", "--county", "茂南区"])
    runner.invoke(args=["stations", "add", "440902102", "新坡镇", "--county", "茂南区"])
    assert db.session.scalar(select(func.count()).select_from(Region).where(Region.level == "county")) == 1


def test_duplicate_station_code_is_refused_without_a_traceback(runner):
    assert runner.invoke(args=["stations", "add", "440902100", "金塘镇"]).exit_code == 0
    result = runner.invoke(args=["stations", "add", "440902100", "另一个镇"])
    assert result.exit_code == 1
    assert "440902100" in result.output and "Traceback" not in result.output
    assert db.session.scalar(select(func.count()).select_from(Station)) == 1


def test_latitude_without_longitude_is_refused(runner):
    result = runner.invoke(args=["stations", "add", "440902100", "金塘镇", "--lat", "21.7"])
    assert result.exit_code == 1
    assert db.session.scalar(select(func.count()).select_from(Station)) == 0


def test_coordinates_off_the_globe_are_refused(runner):
    result = runner.invoke(args=["stations", "add", "440902100", "金塘镇", "--lat", "121.7", "--lon", "110.9"])
    assert result.exit_code == 1
    assert db.session.scalar(select(func.count()).select_from(Station)) == 0
