-- The change-log triggers fire for every session, those with session_replication_role = replica
-- included (a logical-replication apply worker, a bulk load that sets it to skip constraints):
-- an edit made there is logged like any other, so the log gridmap follows misses nothing that
-- leaves no trace in the catalog. gridmap trusts the log only while all four log triggers of
-- every layer are enabled ALWAYS (`tgenabled = 'A'`). Only ordinary (`O`) triggers are switched:
-- one an operator disabled or made replica-only stays so, and until it is enabled ALWAYS gridmap
-- reads every layer whole on each catch-up and write (and logs a warning with the fix).
-- Do not replicate change_log itself to a database gridmap follows: its own triggers fill it.
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN SELECT g.tgrelid::regclass AS tbl, g.tgname
             FROM pg_trigger g
            WHERE g.tgfoid = to_regproc('gridmap_log_changes') AND NOT g.tgisinternal
              AND g.tgenabled = 'O' LOOP
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.tbl, t.tgname);
  END LOOP;
END $$;
