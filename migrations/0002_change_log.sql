-- The change log: one row per statement that changed a layer, naming the features it touched.
-- Servers LISTEN on `gridmap_changes` (the payload is the change id) and catch up by reading the
-- rows after the last id they applied. Statement-level triggers with transition tables log every
-- writer (gridmap, psql, QGIS) at the cost of one INSERT per statement, even for a 200k-row COPY.
--
-- Every logging transaction first takes one advisory lock and holds it to commit, so change ids
-- become visible in id order: a reader that has seen id N never later sees a smaller new id.

CREATE TABLE change_log (
  id         bigserial PRIMARY KEY,
  changed_at timestamptz NOT NULL DEFAULT now(),
  layer      text NOT NULL,
  operation  text NOT NULL CHECK (operation IN ('insert', 'update', 'delete', 'truncate')),
  keys       text[] NOT NULL,
  changed_by text NOT NULL DEFAULT current_user,
  client     text NOT NULL DEFAULT current_setting('application_name')
);
COMMENT ON TABLE change_log IS 'What changed (layer, operation, feature codes or ids), when, and by whom';
CREATE INDEX change_log_changed_at_idx ON change_log (changed_at);

-- The lock every writer of gridmap's layers holds until commit (gridmap's imports take it first).
CREATE FUNCTION gridmap_write_lock() RETURNS void LANGUAGE sql AS
  $$ SELECT pg_advisory_xact_lock(7266707370) $$;

CREATE FUNCTION gridmap_log_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  key_column text := TG_ARGV[0];
  changed    text[];
  change_id  bigint;
BEGIN
  PERFORM gridmap_write_lock();
  IF TG_OP = 'TRUNCATE' THEN
    changed := '{}';
  ELSIF TG_OP = 'DELETE' THEN
    EXECUTE format('SELECT array_agg(%I::text) FROM old_rows', key_column) INTO changed;
  ELSIF TG_OP = 'UPDATE' THEN
    -- A key change is a delete of the old key and an insert of the new one: log both.
    EXECUTE format('SELECT array_agg(DISTINCT k) FROM (SELECT %1$I::text AS k FROM old_rows
                    UNION ALL SELECT %1$I::text FROM new_rows) AS keys', key_column) INTO changed;
  ELSE
    EXECUTE format('SELECT array_agg(%I::text) FROM new_rows', key_column) INTO changed;
  END IF;
  IF changed IS NULL THEN
    RETURN NULL; -- the statement changed no row
  END IF;
  INSERT INTO change_log (layer, operation, keys)
  VALUES (TG_TABLE_NAME, lower(TG_OP), changed)
  RETURNING id INTO change_id;
  PERFORM pg_notify('gridmap_changes', change_id::text);
  RETURN NULL;
END $$;

DO $$
DECLARE
  layer record;
BEGIN
  FOR layer IN SELECT * FROM (VALUES ('towns', 'code'), ('villages', 'code'), ('grids', 'code'),
      ('stations', 'id'), ('alliances', 'id'), ('members', 'id')) AS t (name, key) LOOP
    EXECUTE format('CREATE TRIGGER %1$s_log_insert AFTER INSERT ON %1$I REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_changes(%2$L)', layer.name, layer.key);
    EXECUTE format('CREATE TRIGGER %1$s_log_update AFTER UPDATE ON %1$I REFERENCING OLD TABLE AS old_rows
                    NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_changes(%2$L)',
                   layer.name, layer.key);
    EXECUTE format('CREATE TRIGGER %1$s_log_delete AFTER DELETE ON %1$I REFERENCING OLD TABLE AS old_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_changes(%2$L)', layer.name, layer.key);
    EXECUTE format('CREATE TRIGGER %1$s_log_truncate AFTER TRUNCATE ON %1$I
                    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_changes(%2$L)', layer.name, layer.key);
  END LOOP;
END $$;
