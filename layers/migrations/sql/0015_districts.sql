-- A district (6-digit admin code) on every feature layer, and district-scoped accounts
-- (helper G, issue 16). {district} is the configured district (settings district.code):
-- existing rows get it, and so does a new row whose town is unknown.

ALTER TABLE towns ADD COLUMN district_code text NOT NULL DEFAULT '{district}';
ALTER TABLE grids ADD COLUMN district_code text NOT NULL DEFAULT '{district}';
ALTER TABLE cameras ADD COLUMN district_code text NOT NULL DEFAULT '{district}';
ALTER TABLE vehicles ADD COLUMN district_code text NOT NULL DEFAULT '{district}';
ALTER TABLE vehicle_tracks ADD COLUMN district_code text NOT NULL DEFAULT '{district}';
ALTER TABLE river_patrol_zones ADD COLUMN district_code text NOT NULL DEFAULT '{district}';
ALTER TABLE events ADD COLUMN district_code text NOT NULL DEFAULT '{district}';

CREATE INDEX towns_district_code ON towns (district_code);
CREATE INDEX grids_district_code ON grids (district_code);
CREATE INDEX cameras_district_code ON cameras (district_code);
CREATE INDEX vehicles_district_code ON vehicles (district_code);
CREATE INDEX vehicle_tracks_district_code ON vehicle_tracks (district_code);
CREATE INDEX river_patrol_zones_district_code ON river_patrol_zones (district_code);
CREATE INDEX events_district_code ON events (district_code, status);

-- A feature is in the district of its town: set on every insert and on every change of
-- town_code, whoever writes (intake, imports, Part 4, the demo); no town → the default.
CREATE FUNCTION onemap_district_from_town() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
    IF NEW.town_code IS NOT NULL THEN
        SELECT district_code INTO d FROM towns WHERE code = NEW.town_code;
        IF FOUND THEN
            NEW.district_code := d;
        END IF;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER grids_district BEFORE INSERT OR UPDATE OF town_code ON grids
    FOR EACH ROW EXECUTE FUNCTION onemap_district_from_town();
CREATE TRIGGER cameras_district BEFORE INSERT OR UPDATE OF town_code ON cameras
    FOR EACH ROW EXECUTE FUNCTION onemap_district_from_town();
CREATE TRIGGER vehicles_district BEFORE INSERT OR UPDATE OF town_code ON vehicles
    FOR EACH ROW EXECUTE FUNCTION onemap_district_from_town();
CREATE TRIGGER river_patrol_zones_district BEFORE INSERT OR UPDATE OF town_code
    ON river_patrol_zones FOR EACH ROW EXECUTE FUNCTION onemap_district_from_town();
CREATE TRIGGER events_district BEFORE INSERT OR UPDATE OF town_code ON events
    FOR EACH ROW EXECUTE FUNCTION onemap_district_from_town();

-- A vehicle's track is in the vehicle's district.
CREATE FUNCTION onemap_district_from_vehicle() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN
    SELECT district_code INTO d FROM vehicles WHERE code = NEW.vehicle_code;
    IF FOUND THEN
        NEW.district_code := d;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER vehicle_tracks_district BEFORE INSERT OR UPDATE OF vehicle_code
    ON vehicle_tracks FOR EACH ROW EXECUTE FUNCTION onemap_district_from_vehicle();

-- A town moved to another district (e.g. a county becoming a district under a new code)
-- takes its features along; a vehicle takes its tracks.
CREATE FUNCTION onemap_town_district_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE grids SET district_code = NEW.district_code
        WHERE town_code = NEW.code AND district_code <> NEW.district_code;
    UPDATE cameras SET district_code = NEW.district_code
        WHERE town_code = NEW.code AND district_code <> NEW.district_code;
    UPDATE vehicles SET district_code = NEW.district_code
        WHERE town_code = NEW.code AND district_code <> NEW.district_code;
    UPDATE river_patrol_zones SET district_code = NEW.district_code
        WHERE town_code = NEW.code AND district_code <> NEW.district_code;
    UPDATE events SET district_code = NEW.district_code
        WHERE town_code = NEW.code AND district_code <> NEW.district_code;
    RETURN NULL;
END $$;

CREATE TRIGGER towns_district_moved AFTER UPDATE OF district_code ON towns
    FOR EACH ROW WHEN (OLD.district_code IS DISTINCT FROM NEW.district_code)
    EXECUTE FUNCTION onemap_town_district_moved();

CREATE FUNCTION onemap_vehicle_district_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE vehicle_tracks SET district_code = NEW.district_code
        WHERE vehicle_code = NEW.code AND district_code <> NEW.district_code;
    RETURN NULL;
END $$;

CREATE TRIGGER vehicles_district_moved AFTER UPDATE OF district_code ON vehicles
    FOR EACH ROW WHEN (OLD.district_code IS DISTINCT FROM NEW.district_code)
    EXECUTE FUNCTION onemap_vehicle_district_moved();

-- NULL: the whole city (every district), as before.
ALTER TABLE users ADD COLUMN district_code text;
