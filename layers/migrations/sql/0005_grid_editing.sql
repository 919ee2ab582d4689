-- onemap grid editing: history integrity, a metric area helper, and indexes
-- for re-assigning cameras and open events when grids change.

-- Versions of one grid code never overlap in time: [valid_from, valid_to)
-- ranges of a code are disjoint (an edit closes at now() and opens at now()).
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE grids ADD CONSTRAINT grids_versions_disjoint
    EXCLUDE USING gist (code WITH =, tstzrange(valid_from, valid_to) WITH &&);

-- Area in square metres in CGCS2000 / 3-degree Gauss-Kruger CM 120E (EPSG:4549),
-- the measure of the grid topology rules (planar, so shared straight edges
-- cancel exactly, unlike ST_Area(geography) on a difference of polygons).
CREATE FUNCTION onemap_area_m2(g geometry) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ST_Area(ST_Transform(g, 4549)) $$;

-- Re-assignment looks up open events by location.
CREATE INDEX events_open_geom ON events USING gist (geom) WHERE status <> 'closed';
CREATE INDEX grids_current_geom ON grids USING gist (geom) WHERE valid_to IS NULL;
