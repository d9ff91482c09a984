"""The administrative region tree, the township stations and the village service points."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from models.types import UTCDateTime, utcnow


class Region(db.Model):
    """A node of 行政区划: city > county/district > township/street > village/community."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)

    parent: Mapped[Region | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent")

    def __str__(self) -> str:
        return self.name


class Station(db.Model):
    """社工站: the township/street-level social work station."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    region: Mapped[Region | None] = relationship()
    service_points: Mapped[list[ServicePoint]] = relationship(back_populates="station")

    def __str__(self) -> str:
        return self.name


class ServicePoint(db.Model):
    """服务点: the village/community-level point of a station."""

    __tablename__ = "service_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    station: Mapped[Station] = relationship(back_populates="service_points")
    region: Mapped[Region | None] = relationship()

    def __str__(self) -> str:
        return self.name
