"""The dispatch loop's domain (issue 14): where an event goes, who may move it, and how.

Plain functions over a DB-API cursor with driver-neutral SQL (`%(name)s`
placeholders, rows read by column name), callable from tests without HTTP:

- `locate`: the grid (and town, grid worker) of a point, a grid code or a town;
- `rules`: the most specific duty rule and the due time it gives;
- `intake.submit`: idempotent on (source, external_id), auto-dispatch included;
- `lifecycle.act`: the transition table, roles, scope and version checks;
- `queues`: the dispatcher's lists and an event's detail with its timeline.

Every change writes its timeline row (`event_actions`) and a `pg_notify` on
channel `onemap_live` inside the caller's transaction; nothing here commits.
"""
