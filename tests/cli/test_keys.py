"""flask keys rotate: every ID number re-sealed under the new key, lookups re-keyed, nothing else changes."""

import os

import pytest
from sqlalchemy import select

from config import encode_key
from extensions import db
from models import AuditEvent, Beneficiary, id_numbers
from tests.factories import make_beneficiary, valid_id_number


@pytest.fixture
def people(app):
    return {valid_id_number(serial=n): make_beneficiary(id_number=valid_id_number(serial=n)).id for n in (21, 22, 23)}


def test_rotate_with_a_given_key(app, runner, people, monkeypatch):
    old_key, new_key = app.config["ID_NUMBER_KEYS"][0], os.urandom(32)
    monkeypatch.setenv("ID_NUMBER_KEY", encode_key(old_key))
    result = runner.invoke(args=["keys", "rotate", "--new-key", encode_key(new_key)])
    assert result.exit_code == 0, result.output
    assert "3 ID numbers re-encrypted" in result.output and f"ID_NUMBER_KEY={encode_key(new_key)}" in result.output
    db.session.expire_all()
    for number, person_id in people.items():
        person = db.session.get(Beneficiary, person_id)
        assert id_numbers.unseal(person.id_number_sealed, [new_key]) == number
        with pytest.raises(ValueError):
            id_numbers.unseal(person.id_number_sealed, [old_key])
        assert db.session.scalar(select(Beneficiary.id).where(Beneficiary.id_number == number)) == person_id
        assert person.id_number_masked == id_numbers.mask(number)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "id_number_key_rotated"))
    app.config["ID_NUMBER_KEYS"] = [old_key]  # later tests of the run share the old key


def test_rotate_with_the_instance_key_file(app, runner, people, monkeypatch, tmp_path):
    old_key = app.config["ID_NUMBER_KEYS"][0]
    monkeypatch.delenv("ID_NUMBER_KEY", raising=False)
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "id_number_keys").read_text().split()
    assert len(lines) == 1 and oct((tmp_path / "id_number_keys").stat().st_mode & 0o777) == "0o600"
    new_key = app.config["ID_NUMBER_KEYS"][0]
    assert encode_key(new_key) == lines[0] and new_key != old_key
    db.session.expire_all()
    for number, person_id in people.items():
        assert db.session.get(Beneficiary, person_id).id_number == number
    app.config["ID_NUMBER_KEYS"] = [old_key]


def test_a_bad_new_key_is_refused_and_nothing_changes(app, runner, people):
    before = {person_id: db.session.get(Beneficiary, person_id).id_number_sealed for person_id in people.values()}
    result = runner.invoke(args=["keys", "rotate", "--new-key", "short"])
    assert result.exit_code != 0
    db.session.expire_all()
    assert {person_id: db.session.get(Beneficiary, person_id).id_number_sealed for person_id in people.values()} \
        == before
