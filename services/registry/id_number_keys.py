"""Rotating the key that seals ID numbers: every row re-sealed and re-keyed under a new key, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update

from extensions import db
from models import Beneficiary, id_numbers
from services.audit import record_audit

BATCH_ROWS = 1000


def rotate_id_number_key(new_key: bytes, old_keys: Sequence[bytes]) -> int:
    """Re-seal every stored ID number under `new_key` (opening it with any of `old_keys`) and recompute its
    lookup HMACs (the full number's and its tails'); return how many were re-sealed. All or nothing: one
    transaction, committed at the end."""
    ring = [new_key, *old_keys]
    rotated = 0
    last_id = 0
    while True:
        batch = db.session.execute(
            select(Beneficiary.id, Beneficiary.id_number_sealed)
            .where(Beneficiary.id > last_id).order_by(Beneficiary.id).limit(BATCH_ROWS)
        ).all()
        if not batch:
            break
        values = []
        for person_id, sealed in batch:
            number = id_numbers.unseal(sealed, ring)
            values.append({"id": person_id, "id_number_sealed": id_numbers.seal(number, new_key),
                           **id_numbers.lookup_columns(number, new_key)})
        db.session.execute(update(Beneficiary), values)
        rotated += len(batch)
        last_id = batch[-1][0]
    record_audit(None, "id_number_key_rotated", None, rows=rotated, key_id=id_numbers.key_id(new_key))
    db.session.commit()
    return rotated
