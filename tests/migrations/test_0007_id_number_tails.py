"""Migration 0007 digests the tails of the ID numbers already stored (sealed), under the app's current key."""

import os
import uuid

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from extensions import db
from factory import MIGRATIONS_DIR, create_app
from models import Beneficiary, id_numbers
from services.registry.search import id_number_condition
from tests.conftest import _create_postgres_database
from tests.factories import valid_id_number

TAIL_COLUMNS = {"id_number_tail4_hmac", "id_number_tail5_hmac", "id_number_tail6_hmac"}


def test_existing_rows_get_their_tail_digests_and_the_downgrade_removes_them(tmp_path):
    base = os.environ.get("TEST_DATABASE_URL")
    url, drop = _create_postgres_database(base) if base else (f"sqlite:///{tmp_path / 'm.db'}", lambda: None)
    old_key, current_key = os.urandom(32), os.urandom(32)
    # Mid-rotation: the row was sealed under an older key of the ring; its digests use the current one.
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(tmp_path / "up"), "TESTING": True,
                      "SECRET_KEY": uuid.uuid4().hex, "ID_NUMBER_KEYS": [current_key, old_key]})
    numbers = [valid_id_number(serial=serial) for serial in (31, 32, 33)]
    try:
        with app.app_context():
            upgrade(directory=MIGRATIONS_DIR, revision="0005_hardening")
            with db.engine.begin() as connection:
                connection.execute(sa.text("INSERT INTO stations (id, code, name, created_at)"
                                           " VALUES (1, '440902001', '甲镇', '2026-01-01 00:00:00')"))
                for index, number in enumerate(numbers):
                    connection.execute(sa.text(
                        "INSERT INTO beneficiaries (name, name_initials, id_number_sealed, id_number_hmac,"
                        " id_number_masked, station_id, address, status, created_at, updated_at)"
                        " VALUES (:name, 'w', :sealed, :digest, :masked, 1, '', 'active', '2026-01-01 00:00:00',"
                        " '2026-01-01 00:00:00')"),
                        {"name": f"王{index}", "sealed": id_numbers.seal(number, old_key),
                         "digest": id_numbers.lookup_hmac(number, current_key), "masked": id_numbers.mask(number)})
            upgrade(directory=MIGRATIONS_DIR)
            for number in numbers:
                expected = {f"id_number_tail{n}_hmac": id_numbers.tail_hmac(number[-n:], current_key)
                            for n in (4, 5, 6)}
                person = db.session.scalar(select(Beneficiary).where(id_number_condition(number[-6:])))
                assert person.id_number == number
                assert {name: getattr(person, name) for name in expected} == expected
            indexed = {column for index in inspect(db.engine).get_indexes("beneficiaries")
                       for column in index["column_names"]}
            assert indexed >= TAIL_COLUMNS
            assert not any(column["nullable"] for column in inspect(db.engine).get_columns("beneficiaries")
                           if column["name"] in TAIL_COLUMNS)
            db.session.remove()
            downgrade(directory=MIGRATIONS_DIR, revision="0005_hardening")
            assert not TAIL_COLUMNS & {column["name"] for column in inspect(db.engine).get_columns("beneficiaries")}
            db.engine.dispose()
    finally:
        drop()
