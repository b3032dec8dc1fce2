"""Alembic environment: migrations run inside pbx.db.migrate() on a connection it passes in."""

from alembic import context

from pbx.db import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: let Alembic rebuild tables there.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
