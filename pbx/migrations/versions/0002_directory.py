"""directory: groups, numbers, contacts, tokens, audit

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_failure',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('first_failure_at', sa.DateTime(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('pbx_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', name='pbx_group_name_key')
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employee.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash', name='api_token_token_hash_key')
    )
    op.create_index('ix_api_token_employee_id', 'api_token', ['employee_id'])
    op.create_index('ix_api_token_expires_at', 'api_token', ['expires_at'])
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=160), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('resource', sa.String(length=32), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=True),
    sa.Column('audience_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.String(length=2048), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['employee.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('note', sa.String(length=512), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['employee.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('contact_number_idx', 'contact', ['number'])
    op.create_index('ix_contact_owner_id', 'contact', ['owner_id'])
    op.create_table('group_member',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['employee_id'], ['employee.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['pbx_group.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'employee_id')
    )
    op.create_table('pbx_number',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('inbound_employee_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['inbound_employee_id'], ['employee.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number', name='pbx_number_number_key')
    )

    with op.batch_alter_table('employee', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mobile', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('communicator_password_hash', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('communicator_password_set_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('outgoing_number_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.create_unique_constraint('employee_email_key', ['email'])
        batch_op.create_unique_constraint('employee_mobile_key', ['mobile'])
        batch_op.create_foreign_key('employee_outgoing_number_fk', 'pbx_number', ['outgoing_number_id'],
                                    ['id'], ondelete='SET NULL')

    # The Administrators group replaces the is_admin flag: its members keep their rights.
    op.execute("INSERT INTO pbx_group (name) VALUES ('Administrators')")
    op.execute("INSERT INTO group_member (group_id, employee_id) "
               "SELECT g.id, e.id FROM pbx_group g, employee e "
               "WHERE g.name = 'Administrators' AND e.is_admin")
    with op.batch_alter_table('employee', schema=None) as batch_op:
        batch_op.drop_column('is_admin')


def downgrade() -> None:
    with op.batch_alter_table('employee', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_admin', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE employee SET is_admin = "
               "(employee.id IN (SELECT m.employee_id FROM group_member m JOIN pbx_group g "
               "ON g.id = m.group_id WHERE g.name = 'Administrators'))")
    with op.batch_alter_table('employee', schema=None) as batch_op:
        batch_op.drop_constraint('employee_outgoing_number_fk', type_='foreignkey')
        batch_op.drop_constraint('employee_email_key', type_='unique')
        batch_op.drop_constraint('employee_mobile_key', type_='unique')
        for column in ('version', 'outgoing_number_id', 'communicator_password_set_at',
                       'communicator_password_hash', 'email', 'mobile'):
            batch_op.drop_column(column)
    for table in ('pbx_number', 'group_member', 'contact', 'audit_log', 'api_token', 'pbx_group',
                  'login_failure'):
        op.drop_table(table)
