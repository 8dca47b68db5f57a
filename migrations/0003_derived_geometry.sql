-- Derived geometry, stored so that QGIS, GDAL and psql see what the HTTP API serves: an
-- alliance's footprint (the union of its member villages' polygons) and the point of a member
-- that has no location of its own (an interior point of its village).
--
-- gridmap computes both (`model::derive`) and writes them in the same transaction as every
-- import, PUT and DELETE, updating only the rows whose derived value differs, so a write that
-- changes no village or membership changes and logs nothing more. gridmap never reads them back:
-- it derives them again from the villages and members. A write by another SQL tool (a village
-- redrawn in QGIS, a member added in psql) leaves them stale until gridmap's next write.
--
-- members.geom_derived is true where geom is such a derived point; to give a village member a
-- location of its own, set geom and geom_derived = false together.

ALTER TABLE alliances ADD COLUMN geom geometry(MultiPolygon, 4326);
COMMENT ON COLUMN alliances.geom IS
  'Derived by gridmap: the union of the member villages; stale after other tools'' writes until gridmap''s next write';
CREATE INDEX alliances_geom_idx ON alliances USING gist (geom);

ALTER TABLE members ADD COLUMN geom_derived boolean NOT NULL DEFAULT false;
ALTER TABLE members ADD CONSTRAINT members_derived_point_is_a_village_s
  CHECK (NOT geom_derived OR kind = 'village');
COMMENT ON COLUMN members.geom_derived IS
  'true: geom is an interior point of the member''s village, kept by gridmap (not a location of its own)';
