"""Factories for test data: each returns a committed row with sensible defaults, overridable by keyword."""

from __future__ import annotations

import io
import itertools
import random
import secrets
import uuid
from datetime import date, timedelta

from openpyxl import Workbook
from PIL import ExifTags, Image

from extensions import db
from models import ApiToken, Beneficiary, Photo, ServicePoint, Station, User, Visit, VisitWarning, utcnow
from models.enums import WARNING_CODES
from services.accounts.credentials import hash_password, issue_token
from services.photos.pipeline import phash_bands
from services.registry.fields import complete_id_number
from services.registry.people import BeneficiaryChanges
from services.visits.inputs import LocationInput, VisitInput
from services.visits.submission import submit_visit

PASSWORD = "correct-horse-42"
# Hashing with scrypt costs ~50 ms; tests make many users, so they share one hash.
_PASSWORD_HASH = hash_password(PASSWORD)
_sequence = itertools.count(1)


def _next() -> int:
    return next(_sequence)


def valid_id_number(birth: date = date(1950, 3, 1), region: str = "440902", serial: int | None = None) -> str:
    """An 18-digit ID number with a correct GB 11643 check digit."""
    body = f"{region}{birth:%Y%m%d}{(serial if serial is not None else _next()) % 1000:03d}"
    return complete_id_number(body)


def make_station(**overrides) -> Station:
    n = _next()
    station = Station(code=overrides.pop("code", f"44090200{n:04d}"), name=overrides.pop("name", f"测试镇{n}"),
                      latitude=overrides.pop("latitude", 21.66), longitude=overrides.pop("longitude", 110.92),
                      **overrides)
    db.session.add(station)
    db.session.commit()
    return station


def make_service_point(station: Station, **overrides) -> ServicePoint:
    n = _next()
    point = ServicePoint(station=station, name=overrides.pop("name", f"测试村{n}"), **overrides)
    db.session.add(point)
    db.session.commit()
    return point


def make_user(role: str = "worker", *, station: Station | None = None, stations: list[Station] | None = None,
              **overrides) -> User:
    n = _next()
    user = User(username=overrides.pop("username", f"{role}{n}"), role=role,
                display_name=overrides.pop("display_name", f"{role} {n}"),
                password_hash=overrides.pop("password_hash", _PASSWORD_HASH), active=overrides.pop("active", True),
                **overrides)
    if role == "worker":
        user.station = station or make_station()
    elif role == "supervisor":
        user.supervised_stations = stations if stations is not None else [station or make_station()]
    db.session.add(user)
    db.session.commit()
    return user


def make_worker(station: Station | None = None, **overrides) -> User:
    return make_user("worker", station=station, **overrides)


def make_supervisor(*stations: Station, **overrides) -> User:
    return make_user("supervisor", stations=list(stations) or None, **overrides)


def make_admin(**overrides) -> User:
    return make_user("admin", **overrides)


def make_beneficiary(station: Station | None = None, **overrides) -> Beneficiary:
    n = _next()
    categories = overrides.pop("categories", ["dibao"])
    beneficiary = Beneficiary(
        name=overrides.pop("name", f"测试{n}"),
        name_initials=overrides.pop("name_initials", "cs"),
        id_number=overrides.pop("id_number", valid_id_number(serial=n)),
        gender=overrides.pop("gender", "female"),
        birth_date=overrides.pop("birth_date", date(1950, 3, 1)),
        station=station or make_station(),
        address=overrides.pop("address", "测试村1号"),
        home_latitude=overrides.pop("home_latitude", 21.665),
        home_longitude=overrides.pop("home_longitude", 110.928),
        status=overrides.pop("status", "active"),
        **overrides,
    )
    beneficiary.categories = categories
    db.session.add(beneficiary)
    db.session.commit()
    return beneficiary


def beneficiary_changes(station: Station | None, **overrides) -> BeneficiaryChanges:
    """A complete new person for save_beneficiary, as the admin's form gives one; keywords override fields."""
    defaults = {"name": "张小明", "id_number": valid_id_number(serial=_next()), "gender": None, "birth_date": None,
                "categories": ("dibao", "tekun"), "station": station, "service_point": None, "address": "牙象村1号",
                "home_latitude": 21.76, "home_longitude": 110.94, "phone": None, "risk_tier": "key"}
    return BeneficiaryChanges(**{**defaults, **overrides})


def token_for(user: User) -> str:
    """A fresh API token for the user."""
    raw, _ = issue_token(user)
    return raw


def auth_headers(user: User) -> dict:
    """Authorization headers for API calls as this user."""
    return {"Authorization": f"Bearer {token_for(user)}"}


def expire_tokens(user: User) -> None:
    """Move every token of the user into the past."""
    for token in db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == user.id)):
        token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def make_photo(owner: User, **overrides) -> Photo:
    """A photo row of the owner with fake storage keys (no files); sha256 and phash random unless given."""
    sha256 = overrides.pop("sha256", secrets.token_hex(32))
    phash = overrides.pop("phash", secrets.token_hex(8))
    bands = phash_bands(phash) if phash else (None, None, None, None)
    photo = Photo(
        owner_id=owner.id, sha256=sha256, phash=phash,
        phash_band0=bands[0], phash_band1=bands[1], phash_band2=bands[2], phash_band3=bands[3],
        storage_key=f"originals/{sha256[:2]}/{sha256}", display_key=f"display/{sha256[:2]}/{sha256}.jpg",
        thumb_key=f"thumbs/{sha256[:2]}/{sha256}.jpg", mime_type=overrides.pop("mime_type", "image/jpeg"),
        width=overrides.pop("width", 4000), height=overrides.pop("height", 3000), bytes=overrides.pop("bytes", 123_456),
        **overrides,
    )
    db.session.add(photo)
    db.session.commit()
    return photo


def visit_body(worker: User, beneficiary: Beneficiary | None = None, **overrides) -> VisitInput:
    """A valid visit input for submit_visit: a 30-minute home visit an hour ago at the person's home.

    Overrides are VisitInput's fields (a location as a LocationInput, findings as FindingInputs).
    """
    kind = overrides.get("kind", "home_visit")
    if beneficiary is None and "beneficiary_id" not in overrides:
        beneficiary = make_beneficiary(worker.station)
    started_at = overrides.pop("started_at", utcnow() - timedelta(hours=1))
    at_home = beneficiary is not None and beneficiary.has_home_location
    fields = {
        "client_id": str(uuid.uuid4()),
        "beneficiary_id": beneficiary.id if beneficiary is not None else None,
        "kind": kind,
        "services": ["policy_implementation"],
        "started_at": started_at,
        "ended_at": started_at + timedelta(minutes=30),
        "location": None if kind == "care_call" else LocationInput(
            latitude=beneficiary.home_latitude if at_home else 21.665,
            longitude=beneficiary.home_longitude if at_home else 110.928,
            accuracy=10.0, coord_type="wgs84"),
        "photo_ids": [] if kind == "care_call" else [make_photo(worker).id],
    }
    fields.update(overrides)
    return VisitInput(**fields)


def make_visit(worker: User, beneficiary: Beneficiary | None = None, **overrides) -> Visit:
    """A visit submitted through services.visits.submission.submit_visit (so warnings and the submit event exist)."""
    received_at = overrides.pop("received_at", None)
    visit, _ = submit_visit(worker, visit_body(worker, beneficiary, **overrides), received_at=received_at)
    return visit


def make_reviewable_visit(worker: User, beneficiary: Beneficiary | None = None, *, warnings=(), **overrides) -> Visit:
    """A visit row written directly with exactly the warnings given by code (review tests need them fixed).

    make_visit computes real warnings from the thresholds; the review queue's tests need to choose them.
    """
    started = overrides.pop("started_at", utcnow() - timedelta(hours=2))
    visit = Visit(client_id=uuid.uuid4().hex, body_fingerprint="0" * 64, worker_id=worker.id,
                  station_id=overrides.pop("station_id", worker.station_id), beneficiary=beneficiary,
                  kind=overrides.pop("kind", "home_visit"), started_at=started,
                  ended_at=overrides.pop("ended_at", started + timedelta(minutes=20)),
                  latitude=overrides.pop("latitude", 21.665), longitude=overrides.pop("longitude", 110.928),
                  accuracy_m=overrides.pop("accuracy_m", 15.0), **overrides)
    for code in warnings:
        visit.warnings.append(VisitWarning(code=code, severity=WARNING_CODES[code]["severity"],
                                           message=WARNING_CODES[code]["zh"], evidence={}))
    visit.warning_count = len(visit.warnings)
    visit.warning_severity = max((warning.severity for warning in visit.warnings), default=0)
    db.session.add(visit)
    db.session.commit()
    return visit


def photo_exif(*, orientation: int | None = None, taken: str | None = None, offset: str | None = None,
               gps: tuple[float, float] | None = None, make: str | None = None, model: str | None = None):
    """EXIF for a test image: capture time ("2024:05:06 09:41:12") with its offset ("+08:00"), GPS as signed
    decimal degrees (written as DMS rationals with N/S, E/W references), camera, orientation."""
    exif = Image.Exif()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if make is not None:
        exif[ExifTags.Base.Make] = make
    if model is not None:
        exif[ExifTags.Base.Model] = model
    if taken is not None:
        details = exif.get_ifd(ExifTags.IFD.Exif)
        details[ExifTags.Base.DateTimeOriginal] = taken
        if offset is not None:
            details[ExifTags.Base.OffsetTimeOriginal] = offset
    if gps is not None:
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        for value, ref_tag, value_tag, hemispheres in (
            (gps[0], ExifTags.GPS.GPSLatitudeRef, ExifTags.GPS.GPSLatitude, "NS"),
            (gps[1], ExifTags.GPS.GPSLongitudeRef, ExifTags.GPS.GPSLongitude, "EW"),
        ):
            magnitude = abs(value)
            degrees, minutes = int(magnitude), int(magnitude * 60) % 60
            seconds = round((magnitude * 3600) % 60, 4)
            gps_ifd[ref_tag] = hemispheres[1] if value < 0 else hemispheres[0]
            gps_ifd[value_tag] = (float(degrees), float(minutes), seconds)
    return exif


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), *, seed: int | None = None,
                **save_options) -> bytes:
    """A real image encoded by Pillow: a pattern of coloured blocks, different (and not near-identical) per seed.

    The left column of blocks is always red, so tests can tell which way an image was turned.
    """
    rng = random.Random(_next() if seed is None else seed)
    blocks = Image.new("RGB", (8, 6))
    blocks.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(48)])
    for row in range(6):
        blocks.putpixel((0, row), (255, 0, 0))
    image = blocks.resize(size, Image.Resampling.NEAREST)
    if fmt in {"PNG", "WEBP"} and save_options.pop("alpha", False):
        image.putalpha(200)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save_options)
    return buffer.getvalue()



def roster_xlsx_bytes(rows, title_rows=()) -> bytes:
    """A real roster workbook written by openpyxl: optional title rows above, then the rows (header first) as given."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "花名册"
    for row in (*title_rows, *rows):
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
