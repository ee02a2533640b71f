"""outbox lanes, channel threads and incident correlations

Notifications and deploy markers are delivered per channel and per sink, each in its own lane so
that one channel's outage holds back only its own items; channels thread later messages under the
first one they sent; alerts are correlated with the changes they most likely followed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lane', sa.String(length=96), server_default='tickets', nullable=False))
        batch_op.create_index('ix_outbox_change_lane', ['change_id', 'lane', 'id'], unique=False)
    op.create_table(
        'threads',
        sa.Column('change_id', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=96), nullable=False),
        sa.Column('thread_id', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('change_id', 'channel', name=op.f('pk_threads')),
    )
    op.create_table(
        'correlations',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('alert_key', sa.String(length=200), nullable=False),
        sa.Column('change_id', sa.String(length=64), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.Column('alert', sa.JSON(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_correlations')),
        sa.UniqueConstraint('alert_key', 'change_id', name='uq_correlations_alert_change'),
    )
    with op.batch_alter_table('correlations', schema=None) as batch_op:
        batch_op.create_index('ix_correlations_change_id', ['change_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('correlations', schema=None) as batch_op:
        batch_op.drop_index('ix_correlations_change_id')
    op.drop_table('correlations')
    op.drop_table('threads')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_change_lane')
        batch_op.drop_column('lane')
