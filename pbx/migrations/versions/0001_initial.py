"""directory and Kamailio tables

Revision ID: 0001
Revises:
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('employee',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('extension', sa.String(length=16), nullable=False),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('extension')
    )
    op.create_table('location',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ruid', sa.String(length=64), server_default='', nullable=False),
    sa.Column('username', sa.String(length=64), server_default='', nullable=False),
    sa.Column('domain', sa.String(length=64), nullable=True),
    sa.Column('contact', sa.String(length=512), server_default='', nullable=False),
    sa.Column('received', sa.String(length=128), nullable=True),
    sa.Column('path', sa.String(length=512), nullable=True),
    sa.Column('expires', sa.DateTime(), server_default='2030-05-28 21:32:15', nullable=False),
    sa.Column('q', sa.Float(), server_default='1.0', nullable=False),
    sa.Column('callid', sa.String(length=255), server_default='Default-Call-ID', nullable=False),
    sa.Column('cseq', sa.Integer(), server_default='1', nullable=False),
    sa.Column('last_modified', sa.DateTime(), server_default='2000-01-01 00:00:01', nullable=False),
    sa.Column('flags', sa.Integer(), server_default='0', nullable=False),
    sa.Column('cflags', sa.Integer(), server_default='0', nullable=False),
    sa.Column('user_agent', sa.String(length=255), server_default='', nullable=False),
    sa.Column('socket', sa.String(length=64), nullable=True),
    sa.Column('methods', sa.Integer(), nullable=True),
    sa.Column('instance', sa.String(length=255), nullable=True),
    sa.Column('reg_id', sa.Integer(), server_default='0', nullable=False),
    sa.Column('server_id', sa.Integer(), server_default='0', nullable=False),
    sa.Column('connection_id', sa.Integer(), server_default='0', nullable=False),
    sa.Column('keepalive', sa.Integer(), server_default='0', nullable=False),
    sa.Column('partition', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ruid')
    )
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.create_index('location_account_contact_idx', ['username', 'domain', 'contact'], unique=False)
        batch_op.create_index('location_expires_idx', ['expires'], unique=False)

    op.create_table('location_attrs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ruid', sa.String(length=64), server_default='', nullable=False),
    sa.Column('username', sa.String(length=64), server_default='', nullable=False),
    sa.Column('domain', sa.String(length=64), nullable=True),
    sa.Column('aname', sa.String(length=64), server_default='', nullable=False),
    sa.Column('atype', sa.Integer(), server_default='0', nullable=False),
    sa.Column('avalue', sa.String(length=512), server_default='', nullable=False),
    sa.Column('last_modified', sa.DateTime(), server_default='2000-01-01 00:00:01', nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('setting',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=1024), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('table_name', sa.String(length=32), nullable=False),
    sa.Column('table_version', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('table_name')
    )
    op.create_table('sip_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('domain', sa.String(length=64), nullable=False),
    sa.Column('ha1', sa.String(length=128), nullable=False),
    sa.Column('ha1b', sa.String(length=128), nullable=False),
    sa.Column('password_encrypted', sa.String(length=512), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employee.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username', 'domain', name='sip_account_login')
    )
    with op.batch_alter_table('sip_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sip_account_username'), ['username'], unique=False)

    # Kamailio 5.6 checks these schema versions of the tables it uses and refuses to start
    # without them.
    version = sa.table('version', sa.column('table_name', sa.String), sa.column('table_version', sa.Integer))
    op.bulk_insert(version, [{'table_name': t, 'table_version': v} for t, v in {'version': 1, 'location': 9, 'location_attrs': 1, 'sip_account': 7}.items()])


def downgrade() -> None:
    with op.batch_alter_table('sip_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sip_account_username'))

    op.drop_table('sip_account')
    op.drop_table('version')
    op.drop_table('setting')
    op.drop_table('location_attrs')
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.drop_index('location_expires_idx')
        batch_op.drop_index('location_account_contact_idx')

    op.drop_table('location')
    op.drop_table('employee')
