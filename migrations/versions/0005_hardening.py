"""hardening: login throttling counters, admin session versions, ID numbers encrypted at rest

Revision ID: 0005_hardening
Revises: 0001
Create Date: 2026-12-03 08:50:00

"""
from alembic import op
import sqlalchemy as sa
from flask import current_app

import models.types
from models import id_numbers


# revision identifiers, used by Alembic.
revision = '0005_hardening'
down_revision = '0006_review_ux'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
    op.create_table('login_throttles',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles'))
    )
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttles_window_started_at'), ['window_started_at'], unique=False)
    _encrypt_id_numbers()


def _encrypt_id_numbers():
    """Seal every stored ID number under the app's current key (ID_NUMBER_KEY or instance/id_number_keys)."""
    key = current_app.config["ID_NUMBER_KEYS"][0]
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_number_sealed', sa.String(length=96), nullable=True))
        batch_op.add_column(sa.Column('id_number_hmac', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('id_number_masked', sa.String(length=18), nullable=True))
    beneficiaries = sa.table('beneficiaries', sa.column('id', sa.Integer), sa.column('id_number', sa.String),
                             sa.column('id_number_sealed', sa.String), sa.column('id_number_hmac', sa.String),
                             sa.column('id_number_masked', sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(beneficiaries.c.id, beneficiaries.c.id_number)).all()
    for person_id, number in rows:
        number = id_numbers.normalise(number)
        connection.execute(beneficiaries.update().where(beneficiaries.c.id == person_id).values(
            id_number_sealed=id_numbers.seal(number, key), id_number_hmac=id_numbers.lookup_hmac(number, key),
            id_number_masked=id_numbers.mask(number)))
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.alter_column('id_number_sealed', existing_type=sa.String(length=96), nullable=False)
        batch_op.alter_column('id_number_hmac', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('id_number_masked', existing_type=sa.String(length=18), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_beneficiaries_id_number_hmac'), ['id_number_hmac'])
        batch_op.drop_constraint(batch_op.f('uq_beneficiaries_id_number'), type_='unique')
        batch_op.drop_column('id_number')


def _decrypt_id_numbers():
    keys = current_app.config["ID_NUMBER_KEYS"]
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_number', sa.String(length=18), nullable=True))
    beneficiaries = sa.table('beneficiaries', sa.column('id', sa.Integer), sa.column('id_number', sa.String),
                             sa.column('id_number_sealed', sa.String))
    connection = op.get_bind()
    for person_id, sealed in connection.execute(sa.select(beneficiaries.c.id, beneficiaries.c.id_number_sealed)).all():
        connection.execute(beneficiaries.update().where(beneficiaries.c.id == person_id).values(
            id_number=id_numbers.unseal(sealed, keys)))
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.alter_column('id_number', existing_type=sa.String(length=18), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_beneficiaries_id_number'), ['id_number'])
        batch_op.drop_constraint(batch_op.f('uq_beneficiaries_id_number_hmac'), type_='unique')
        batch_op.drop_column('id_number_sealed')
        batch_op.drop_column('id_number_hmac')
        batch_op.drop_column('id_number_masked')


def downgrade():
    _decrypt_id_numbers()
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttles_window_started_at'))
    op.drop_table('login_throttles')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
