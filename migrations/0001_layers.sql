-- gridmap layers: one table per layer, WGS84 geometry, GiST indexes, and the model's rules as
-- constraints so that no writer (gridmap or another GIS tool) can store what gridmap would refuse.
-- Parent references are DEFERRABLE: a transaction may replace a layer and its children together.

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE towns (
  code       text PRIMARY KEY CHECK (code ~ '^[0-9]{9}$'),
  name       text NOT NULL CHECK (btrim(name) <> ''),
  mca_code   text NOT NULL DEFAULT '',
  kind       text NOT NULL DEFAULT '',
  geom       geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE towns IS 'Towns and streets (镇/街道); code = 9-digit NBS code';

CREATE TABLE villages (
  code       text PRIMARY KEY CHECK (code ~ '^[0-9]{12}$'),
  town_code  text NOT NULL REFERENCES towns (code) DEFERRABLE INITIALLY DEFERRED,
  name       text NOT NULL CHECK (btrim(name) <> ''),
  kind       text NOT NULL DEFAULT '',
  geom       geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT villages_code_nests_in_town CHECK (left(code, 9) = town_code)
);
COMMENT ON TABLE villages IS 'Villages and communities (村/社区); code = town code + 3 digits';

CREATE TABLE grids (
  code         text PRIMARY KEY CHECK (code ~ '^[0-9]{15}$'),
  village_code text NOT NULL REFERENCES villages (code) DEFERRABLE INITIALLY DEFERRED,
  name         text NOT NULL CHECK (btrim(name) <> ''),
  households   integer NOT NULL CHECK (households >= 0),
  population   integer NOT NULL CHECK (population >= households),
  worker_name  text,
  worker_phone text,
  geom         geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT grids_code_nests_in_village CHECK (left(code, 12) = village_code)
);
COMMENT ON TABLE grids IS 'Grids (网格); code = village code + 3 digits. worker_* are personal data';

CREATE TABLE stations (
  id            bigint PRIMARY KEY CHECK (id >= 0),
  grid_code     text NOT NULL REFERENCES grids (code) DEFERRABLE INITIALLY DEFERRED,
  name          text NOT NULL CHECK (btrim(name) <> ''),
  services      text[] NOT NULL CHECK (cardinality(services) > 0
                  AND services <@ ARRAY['policy', 'mediation', 'relief', 'civility']),
  opening_hours text NOT NULL DEFAULT '',
  contact_phone text,
  geom          geometry(Point, 4326) NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stations IS 'Grid posts (网格驿站). contact_phone is personal data';

CREATE TABLE alliances (
  id         bigint PRIMARY KEY CHECK (id >= 0),
  name       text NOT NULL CHECK (btrim(name) <> ''),
  theme      text NOT NULL DEFAULT '',
  founded    date NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE alliances IS 'Functional alliances (功能型联合体); footprints are derived from members';

CREATE TABLE members (
  id           bigint PRIMARY KEY CHECK (id >= 0),
  alliance_id  bigint NOT NULL REFERENCES alliances (id) DEFERRABLE INITIALLY DEFERRED,
  kind         text NOT NULL CHECK (kind IN ('village', 'enterprise', 'bank', 'agency')),
  name         text NOT NULL CHECK (btrim(name) <> ''),
  village_code text REFERENCES villages (code) DEFERRABLE INITIALLY DEFERRED,
  geom         geometry(Point, 4326),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT members_placed CHECK (
    CASE WHEN kind = 'village' THEN village_code IS NOT NULL ELSE geom IS NOT NULL END)
);
COMMENT ON TABLE members IS 'Alliance members: villages by code, others by location';

CREATE INDEX towns_geom_idx ON towns USING gist (geom);
CREATE INDEX villages_geom_idx ON villages USING gist (geom);
CREATE INDEX villages_town_code_idx ON villages (town_code);
CREATE INDEX grids_geom_idx ON grids USING gist (geom);
CREATE INDEX grids_village_code_idx ON grids (village_code);
CREATE INDEX stations_geom_idx ON stations USING gist (geom);
CREATE INDEX stations_grid_code_idx ON stations (grid_code);
CREATE INDEX members_geom_idx ON members USING gist (geom);
CREATE INDEX members_alliance_id_idx ON members (alliance_id);
CREATE INDEX members_village_code_idx ON members (village_code);

-- updated_at follows every update, whoever makes it.
CREATE FUNCTION gridmap_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;

CREATE TRIGGER towns_touch BEFORE UPDATE ON towns FOR EACH ROW EXECUTE FUNCTION gridmap_touch();
CREATE TRIGGER villages_touch BEFORE UPDATE ON villages FOR EACH ROW EXECUTE FUNCTION gridmap_touch();
CREATE TRIGGER grids_touch BEFORE UPDATE ON grids FOR EACH ROW EXECUTE FUNCTION gridmap_touch();
CREATE TRIGGER stations_touch BEFORE UPDATE ON stations FOR EACH ROW EXECUTE FUNCTION gridmap_touch();
CREATE TRIGGER alliances_touch BEFORE UPDATE ON alliances FOR EACH ROW EXECUTE FUNCTION gridmap_touch();
CREATE TRIGGER members_touch BEFORE UPDATE ON members FOR EACH ROW EXECUTE FUNCTION gridmap_touch();
