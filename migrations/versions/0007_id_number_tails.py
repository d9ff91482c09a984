"""registry: keyed HMACs of the last 4, 5 and 6 characters of each ID number, for the search by tail

Revision ID: 0007_id_number_tails
Revises: 0005_hardening
Create Date: 2026-12-03 12:00:00

The numbers are stored only sealed (0005), so the existing rows are opened with the app's key ring
(ID_NUMBER_KEY / ID_NUMBER_OLD_KEYS, or instance/id_number_keys) and their tails digested under the
current key, in batches of BATCH rows; then the columns become NOT NULL and are indexed.
"""
from alembic import op
import sqlalchemy as sa
from flask import current_app

from models import id_numbers


revision = '0007_id_number_tails'
down_revision = '0005_hardening'
branch_labels = None
depends_on = None


BATCH = 1000
# Spelled out rather than read from models.id_numbers, so this revision keeps meaning what it meant.
TAIL_LENGTHS = (4, 5, 6)
TAIL_COLUMNS = [f'id_number_tail{length}_hmac' for length in TAIL_LENGTHS]


def upgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        for name in TAIL_COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=16), nullable=True))
    _digest_stored_tails()
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        for name in TAIL_COLUMNS:
            batch_op.alter_column(name, existing_type=sa.String(length=16), nullable=False)
            batch_op.create_index(batch_op.f(f'ix_beneficiaries_{name}'), [name], unique=False)


def _digest_stored_tails():
    keys = current_app.config["ID_NUMBER_KEYS"]
    beneficiaries = sa.table('beneficiaries', sa.column('id', sa.Integer), sa.column('id_number_sealed', sa.String),
                             *(sa.column(name, sa.String) for name in TAIL_COLUMNS))
    fill = (beneficiaries.update().where(beneficiaries.c.id == sa.bindparam('person_id'))
            .values({name: sa.bindparam(name) for name in TAIL_COLUMNS}))
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(beneficiaries.c.id, beneficiaries.c.id_number_sealed)
            .where(beneficiaries.c.id > last_id).order_by(beneficiaries.c.id).limit(BATCH)).all()
        if not rows:
            break
        values = []
        for person_id, sealed in rows:
            number = id_numbers.unseal(sealed, keys)
            values.append({"person_id": person_id, **{name: id_numbers.tail_hmac(number[-length:], keys[0])
                                                      for name, length in zip(TAIL_COLUMNS, TAIL_LENGTHS)}})
        connection.execute(fill, values)
        last_id = rows[-1][0]


def downgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        for name in TAIL_COLUMNS:
            batch_op.drop_index(batch_op.f(f'ix_beneficiaries_{name}'))
            batch_op.drop_column(name)
