-- A stored Web Mercator copy of every tiled layer's geometry.
--
-- Vector tiles of the WebMercatorQuad (what every web map asks for) need the
-- geometry in EPSG:3857. Transforming each row on every tile request cost
-- about a fifth of a grid tile's time in PostGIS; a generated column
-- transforms once, when the row is written, and can never disagree with `geom`
-- (nobody writes it: INSERT/UPDATE/COPY skip generated columns). Storage stays
-- EPSG:4326 and every index stays on `geom`: the tile's lon/lat envelope finds
-- the rows, this column only feeds ST_AsMVTGeom.
--
-- vehicle_positions (millions of fixes a day, partitioned) is left out: its
-- tiles transform on the fly.
ALTER TABLE towns ADD COLUMN geom_3857 geometry(MultiPolygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
ALTER TABLE grids ADD COLUMN geom_3857 geometry(MultiPolygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
ALTER TABLE cameras ADD COLUMN geom_3857 geometry(Point, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
ALTER TABLE vehicles ADD COLUMN geom_3857 geometry(Point, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
ALTER TABLE vehicle_tracks ADD COLUMN geom_3857 geometry(LineStringM, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
ALTER TABLE river_patrol_zones ADD COLUMN geom_3857 geometry(MultiPolygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
ALTER TABLE events ADD COLUMN geom_3857 geometry(Point, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
