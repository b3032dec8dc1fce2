"""calls in progress, for presence

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('active_call',
    sa.Column('call_key', sa.String(length=64), nullable=False),
    sa.Column('caller', sa.String(length=64), nullable=False),
    sa.Column('callee', sa.String(length=64), nullable=False),
    sa.Column('started', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('call_key')
    )


def downgrade() -> None:
    op.drop_table('active_call')
