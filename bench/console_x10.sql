-- The console benchmark's "ten times the large layers" database (bench/RESULTS.md, console):
-- a copy of a scale-1 demo database (CREATE DATABASE x TEMPLATE demo) whose cameras and
-- events are copied 9 times within ±0.002° (200,000 cameras, 3,000,000 events).
--   psql -d x -f bench/console_x10.sql
\timing on
INSERT INTO cameras (code,name,kind,stream_url,status,grid_code,town_code,installed_on,geom)
SELECT code||'-x'||i, name, kind, stream_url, status, grid_code, town_code, installed_on,
       ST_Translate(geom, (random()-0.5)*0.004, (random()-0.5)*0.004)
FROM cameras, generate_series(1,9) i;
INSERT INTO events (code,title,source,category,subcategory,status,priority,grid_code,town_code,department,address,created_at,due_at,closed_at,geom,updated_at,external_id,description,department_code,grid_worker,dispatch_reason,version,escalation_level,satisfaction,photos,dispatched_at,accepted_at,resolved_at,verified_at,overdue_at,return_count)
SELECT code||'-x'||i,title,source,category,subcategory,status,priority,grid_code,town_code,department,address,created_at,due_at,closed_at,
       ST_Translate(geom, (random()-0.5)*0.004, (random()-0.5)*0.004),updated_at,
       CASE WHEN external_id IS NULL THEN NULL ELSE external_id||'-x'||i END,description,department_code,grid_worker,dispatch_reason,version,escalation_level,satisfaction,photos,dispatched_at,accepted_at,resolved_at,verified_at,overdue_at,return_count
FROM events, generate_series(1,9) i;
ANALYZE cameras; ANALYZE events;
SELECT (SELECT count(*) FROM cameras), (SELECT count(*) FROM events), (SELECT count(*) FROM events WHERE status <> 'closed');
