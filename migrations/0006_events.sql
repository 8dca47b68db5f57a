-- The event log (issue 14): reported problems and every step of their life.
--
-- gridmap_events: what was reported, where, by whom (reporter_name and reporter_phone are
-- personal data), and where gridmap routed it at intake (town, village, grid, post, the grids
-- near the boundary). gridmap_event_steps: every step, the report (n = 0) included, numbered per
-- event (UNIQUE (event_id, n): of two servers taking a case's next step, one wins) and in one
-- sequence over all events, which servers follow ("everything after seq N"). Each writing
-- transaction first takes advisory lock 7266707372, so sequence numbers become visible in order.
-- Both tables are append-only: a trigger refuses UPDATE, DELETE and TRUNCATE. A step NOTIFYs
-- gridmap_changes with payload 'events', which wakes every server's follower.

CREATE TABLE gridmap_events (
  id bigserial PRIMARY KEY,
  reported_at timestamptz NOT NULL,
  geom geometry(Point, 4326) NOT NULL,
  category text NOT NULL CHECK (category ~ '^[a-z][a-z0-9_]{0,31}$'),
  severity text NOT NULL CHECK (severity IN ('red', 'yellow', 'blue')),
  source text NOT NULL CHECK (source IN ('grid_worker', 'hotline', 'public', 'sensor')),
  text text NOT NULL,
  address text,
  reporter_name text,
  reporter_phone text,
  town_code text NOT NULL CHECK (town_code ~ '^[0-9]{9}$'),
  village_code text CHECK (left(village_code, 9) = town_code),
  grid_code text CHECK (left(grid_code, 12) = village_code),
  post_id bigint,
  post_offers_service boolean NOT NULL,
  near_boundary text[] NOT NULL DEFAULT '{}',
  deadline timestamptz NOT NULL,
  evaluation_sha256 text CHECK (evaluation_sha256 ~ '^[0-9a-f]{64}$')
);
CREATE INDEX gridmap_events_geom_idx ON gridmap_events USING gist (geom);
CREATE INDEX gridmap_events_reported_at_idx ON gridmap_events (reported_at);

CREATE TABLE gridmap_event_steps (
  seq bigserial PRIMARY KEY,
  event_id bigint NOT NULL REFERENCES gridmap_events (id),
  n integer NOT NULL CHECK (n >= 0),
  action text NOT NULL CHECK (action IN ('report', 'accept', 'dispatch', 'handle', 'close', 'evaluate', 'escalate', 'return')),
  at timestamptz NOT NULL,
  actor text NOT NULL,
  to_code text,
  note text,
  rating smallint CHECK (rating BETWEEN 1 AND 5),
  UNIQUE (event_id, n)
);

CREATE FUNCTION gridmap_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER gridmap_events_append_only BEFORE UPDATE OR DELETE ON gridmap_events
  FOR EACH ROW EXECUTE FUNCTION gridmap_events_append_only();
CREATE TRIGGER gridmap_events_no_truncate BEFORE TRUNCATE ON gridmap_events
  FOR EACH STATEMENT EXECUTE FUNCTION gridmap_events_append_only();
CREATE TRIGGER gridmap_event_steps_append_only BEFORE UPDATE OR DELETE ON gridmap_event_steps
  FOR EACH ROW EXECUTE FUNCTION gridmap_events_append_only();
CREATE TRIGGER gridmap_event_steps_no_truncate BEFORE TRUNCATE ON gridmap_event_steps
  FOR EACH STATEMENT EXECUTE FUNCTION gridmap_events_append_only();

CREATE FUNCTION gridmap_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('gridmap_changes', 'events');
  RETURN NULL;
END $$;

CREATE TRIGGER gridmap_event_steps_notify AFTER INSERT ON gridmap_event_steps
  FOR EACH STATEMENT EXECUTE FUNCTION gridmap_events_notify();
