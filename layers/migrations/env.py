"""Alembic environment: the URL comes from the Config object (layers.migrate).

The target metadata is `layers.tables`, so `alembic check` (and autogenerate)
compare the migrated schema with the tables, as tests/test_schema.py does.
"""

from alembic import context
from sqlalchemy import create_engine, pool

from layers.migrate import comparison_options

config = context.config


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            transaction_per_migration=True,
            **comparison_options(connection),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
