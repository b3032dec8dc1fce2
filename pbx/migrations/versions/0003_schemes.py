"""receive schemes and the production calendar

Revision ID: 0003
Revises: 0002
"""

import json

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('holiday', sa.String(length=128), nullable=True),
    sa.Column('moved_from', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('receive_scheme',
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employee.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('employee_id')
    )
    # Employees from before receive schemes: each gets the default, its SIP accounts ringing at once.
    conn = op.get_bind()
    accounts: dict[int, list[str]] = {}
    for employee_id, username in conn.execute(sa.text(
            "SELECT employee_id, username FROM sip_account ORDER BY id")):
        accounts.setdefault(employee_id, []).append(username)
    tz = conn.execute(sa.text("SELECT value FROM setting WHERE name = 'timezone'")).scalar() or "Europe/Moscow"
    scheme = sa.table('receive_scheme', sa.column('employee_id', sa.Integer), sa.column('document', sa.Text),
                      sa.column('version', sa.Integer))
    rows = []
    for employee_id, usernames in accounts.items():
        devices = [{"id": f"sip-{u}", "kind": "sip", "address": u, "active": True, "position": i + 1,
                    "ring_timeout_s": 30, "schedule": None} for i, u in enumerate(usernames)]
        rows.append({"employee_id": employee_id, "version": 1,
                     "document": json.dumps({"mode": "all_at_once", "timezone": tz, "devices": devices})})
    if rows:
        op.bulk_insert(scheme, rows)


def downgrade() -> None:
    op.drop_table('receive_scheme')
    op.drop_table('calendar_day')
