"""flask stations add CODE NAME [--county NAME] [--lat LAT --lon LON]."""

import click

from cli.errors import refusals_as_click_errors
from services.registry.stations import add_station


@click.group("stations", help="Manage township stations (社工站).")
def stations_group():
    pass


@stations_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option("--county", "county_name", help="County/district name, e.g. 茂南区.")
@click.option("--lat", type=float, help="Station latitude (WGS-84).")
@click.option("--lon", type=float, help="Station longitude (WGS-84).")
def add_station_command(code, name, county_name, lat, lon):
    """Add a station with its official township CODE and NAME."""
    with refusals_as_click_errors():
        station = add_station(code, name, county_name=county_name, latitude=lat, longitude=lon)
    click.echo(f"station {station.code} {station.name} added (id {station.id})")
