-- Photos of events (issue 14): a report's picture, the handler's proof. JPEG, PNG or WebP (the
-- server recognises them by their bytes), at most 5 MiB each and 9 per event, numbered 1 to 9
-- per event. A server adding one takes the event log's advisory lock 7266707372 first, so two
-- adding at once take numbers in turn and a close committed before is seen (no photo is added
-- to a closed case). Append-only like the event log. The bytes are stored uncompressed out of line: photos are compressed already.

CREATE TABLE gridmap_event_photos (
  event_id bigint NOT NULL REFERENCES gridmap_events (id),
  n integer NOT NULL CHECK (n BETWEEN 1 AND 9),
  media_type text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png', 'image/webp')),
  width_px integer NOT NULL CHECK (width_px > 0),
  height_px integer NOT NULL CHECK (height_px > 0),
  at timestamptz NOT NULL,
  actor text NOT NULL,
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  bytes bytea NOT NULL CHECK (length(bytes) <= 5242880),
  PRIMARY KEY (event_id, n)
);
ALTER TABLE gridmap_event_photos ALTER COLUMN bytes SET STORAGE EXTERNAL;

CREATE TRIGGER gridmap_event_photos_append_only BEFORE UPDATE OR DELETE ON gridmap_event_photos
  FOR EACH ROW EXECUTE FUNCTION gridmap_events_append_only();
CREATE TRIGGER gridmap_event_photos_no_truncate BEFORE TRUNCATE ON gridmap_event_photos
  FOR EACH STATEMENT EXECUTE FUNCTION gridmap_events_append_only();
