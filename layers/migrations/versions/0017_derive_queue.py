"""Day tracks and trips derived behind the feed (helper B, issue 15): the queue of
vehicle-days whose stored fixes are newer than their derived tracks and trips.

`ingest()` appends one row per vehicle-day of a committed batch (insert only: no
conflict, no lock against the catch-up); `etl/feed/derive.py` deletes the rows it
brought up to date in the same transaction as the tracks and trips it wrote, so a
crash between the two steps leaves the rows and the derived state catches up.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE vehicle_derive_queue (
            id bigserial PRIMARY KEY,
            vehicle_code text NOT NULL,
            day date NOT NULL,
            first_fix timestamptz NOT NULL,   -- the batch's earliest fix on that day
            fixes integer NOT NULL,           -- how many it stored there
            queued_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX vehicle_derive_queue_day ON vehicle_derive_queue (vehicle_code, day);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE vehicle_derive_queue")
