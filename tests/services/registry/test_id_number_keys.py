"""Rotating the ID number key re-keys the tail digests too: the search by the last characters still finds people."""

import os

from sqlalchemy import select

from extensions import db
from models import Beneficiary, id_numbers
from services.registry.id_number_keys import rotate_id_number_key
from services.registry.search import id_number_condition
from tests.factories import make_beneficiary, valid_id_number


def test_tail_searches_find_people_after_a_rotation(app):
    old_key, new_key = app.config["ID_NUMBER_KEYS"][0], os.urandom(32)
    number = valid_id_number(serial=41)
    person_id = make_beneficiary(id_number=number).id
    try:
        assert rotate_id_number_key(new_key, [old_key]) == 1
        app.config["ID_NUMBER_KEYS"] = [new_key]
        db.session.expire_all()
        person = db.session.get(Beneficiary, person_id)
        for length in (4, 5, 6):
            assert getattr(person, f"id_number_tail{length}_hmac") == id_numbers.tail_hmac(number[-length:], new_key)
            assert db.session.scalar(select(Beneficiary.id).where(id_number_condition(number[-length:]))) == person_id
        assert db.session.scalar(select(Beneficiary.id).where(id_number_condition(number))) == person_id
    finally:
        app.config["ID_NUMBER_KEYS"] = [old_key]  # later tests of the run share the old key
