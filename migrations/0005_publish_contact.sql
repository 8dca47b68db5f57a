-- Issue 13: a grid worker's name and phone are personal data, public only where the worker
-- consented to post them on the grid's notice board (网格公示栏). gridmap serves worker_name and
-- worker_phone to the public exactly where publish_contact is true.

ALTER TABLE grids ADD COLUMN publish_contact boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN grids.publish_contact IS
  'The grid worker consented to their name and phone being public; only then does the public API serve them';
