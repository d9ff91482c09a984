"""ID numbers encrypted at rest: AES-GCM ciphertext, keyed HMAC lookups, masking; the migration of stored rows."""

import os

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import select

from extensions import db
from factory import MIGRATIONS_DIR, create_app
from models import Beneficiary, id_numbers
from services.errors import Invalid
from services.registry.people import BeneficiaryChanges, save_beneficiary
from tests.factories import make_beneficiary, valid_id_number


def raw_row(person_id: int) -> dict:
    return dict(db.session.execute(sa.text("SELECT * FROM beneficiaries WHERE id = :id"), {"id": person_id})
                .mappings().one())


def test_the_number_is_not_stored_in_clear(app):
    number = valid_id_number(serial=7)
    person = make_beneficiary(id_number=number)
    row = raw_row(person.id)
    assert "id_number" not in row
    assert all(number not in str(value) and number[6:14] not in str(value) for value in row.values())
    assert row["id_number_masked"] == number[:6] + "********" + number[-4:]
    db.session.expire_all()
    assert db.session.get(Beneficiary, person.id).id_number == number


def test_exact_lookup_and_uniqueness_go_through_the_keyed_hmac(app):
    number = valid_id_number(serial=8)
    person = make_beneficiary(id_number=number)
    assert db.session.scalar(select(Beneficiary).where(Beneficiary.id_number == number.lower())) == person
    assert db.session.scalars(select(Beneficiary).where(Beneficiary.id_number.in_([number]))).all() == [person]
    with pytest.raises(Invalid):
        save_beneficiary(None, BeneficiaryChanges(name="重复", id_number=number, categories=("dibao",),
                                                  station=person.station), None)
    assert raw_row(person.id)["id_number_hmac"] != id_numbers.lookup_hmac(number, os.urandom(32))


def test_a_tampered_or_foreign_ciphertext_is_refused(app):
    sealed = id_numbers.seal(valid_id_number(serial=9))
    version, kid, payload = sealed.split(".", 2)
    flipped = payload[:20] + ("A" if payload[20] != "A" else "B") + payload[21:]
    with pytest.raises(ValueError):
        id_numbers.unseal(f"{version}.{kid}.{flipped}")
    with pytest.raises(ValueError):
        id_numbers.unseal(sealed, [os.urandom(32)])


def test_the_migration_encrypts_existing_rows(tmp_path):
    key = os.urandom(32)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "UPLOAD_DIR": str(tmp_path / "uploads"),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}", "ID_NUMBER_KEYS": [key]})
    number = valid_id_number(serial=11)
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR, revision="0001")
        with db.engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO stations (id, code, name, created_at)"
                                       " VALUES (1, '440902001', '甲镇', '2026-01-01 00:00:00')"))
            connection.execute(sa.text(
                "INSERT INTO beneficiaries (name, name_initials, id_number, station_id, address, status, created_at,"
                " updated_at) VALUES ('王', 'w', :number, 1, '', 'active', '2026-01-01 00:00:00',"
                " '2026-01-01 00:00:00')"), {"number": number})
        upgrade(directory=MIGRATIONS_DIR)
        person = db.session.scalar(select(Beneficiary))
        assert person.id_number == number and person.id_number_masked == id_numbers.mask(number)
        assert id_numbers.unseal(person.id_number_sealed, [key]) == number
        assert db.session.scalar(select(Beneficiary.id).where(Beneficiary.id_number == number)) == person.id
        db.session.remove()
        db.engine.dispose()
