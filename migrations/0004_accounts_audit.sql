-- Accounts and the audit log (issue 13).
--
-- gridmap_accounts: one row per account. The token is kept only as its SHA-256 (hex): a copy of
-- the database reveals no token. `gridmap user add|list|revoke|rotate` write it; every server
-- re-reads it within a second. No change-log trigger: an account is not map data.
--
-- gridmap_audit: one row per write through the API (who, when, from which address, layer, keys,
-- the feature before and after) and per answer that carried personal data. Append-only: a
-- trigger refuses UPDATE, DELETE and TRUNCATE, except the DELETE of `gridmap` pruning rows older
-- than --audit-days, which sets `gridmap.audit_prune` for its own transaction. Writes made by
-- other tools straight into the layer tables are not here: they are in `change_log`, which
-- names the database role and client address of every statement that changed a layer.

CREATE TABLE gridmap_accounts (
  name text PRIMARY KEY CHECK (name ~ '^[[:alnum:]_.@-]{1,64}$'),
  role text NOT NULL CHECK (role IN ('admin', 'city', 'town', 'village', 'grid_worker', 'alliance', 'viewer')),
  areas text[] NOT NULL DEFAULT '{}',
  token_sha256 text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
  created timestamptz NOT NULL DEFAULT now(),
  expires timestamptz,
  revoked timestamptz
);

CREATE TABLE gridmap_audit (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  account text NOT NULL,
  address text NOT NULL,
  action text NOT NULL CHECK (action IN ('create', 'replace', 'patch', 'delete', 'read')),
  layer text NOT NULL,
  keys text[] NOT NULL DEFAULT '{}',
  count bigint NOT NULL,
  before jsonb,
  after jsonb
);
CREATE INDEX gridmap_audit_at_idx ON gridmap_audit (at);
CREATE INDEX gridmap_audit_account_idx ON gridmap_audit (account, at);
CREATE INDEX gridmap_audit_keys_idx ON gridmap_audit USING gin (keys);

CREATE FUNCTION gridmap_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('gridmap.audit_prune', true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'gridmap_audit is append-only (gridmap prunes it after --audit-days)'
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER gridmap_audit_append_only BEFORE UPDATE OR DELETE ON gridmap_audit
  FOR EACH ROW EXECUTE FUNCTION gridmap_audit_append_only();
CREATE TRIGGER gridmap_audit_no_truncate BEFORE TRUNCATE ON gridmap_audit
  FOR EACH STATEMENT EXECUTE FUNCTION gridmap_audit_append_only();
