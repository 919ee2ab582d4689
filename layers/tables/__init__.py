"""SQLAlchemy + GeoAlchemy2 tables: the one declaration of the schema in Python.

Column names and types are declared here once: the registry derives each layer's
public properties from these columns (`layers.base.public`), and
tests/test_schema.py compares `metadata` with a migrated database (Alembic's
autogenerate comparison), so the migrations cannot drift from it. The migrations
(plain SQL in layers/migrations/sql) still create the schema; what SQLAlchemy does
not model — CHECK constraints, defaults, partitions, triggers, functions, the
grids' exclusion constraint — lives only there.
"""

from layers.tables import dispatch, duty, features, live, records
from layers.tables.meta import metadata

__all__ = ["dispatch", "duty", "features", "live", "metadata", "records"]
