-- Hand-written: tenant isolation by row-level security, and the append-only, hash-chained
-- audit trail. Prisma's schema diff ignores policies, functions and triggers, so this file
-- lives beside the generated migrations and `migrate check` stays in sync.

-- Two NOLOGIN roles. Tenant work runs as keepsake_app (no BYPASSRLS) with app.org_id set;
-- cross-org system work (scheduler, sweeps, auth lookups) runs as keepsake_system, an
-- explicit context. Whatever login the connection string carries switches to one of them
-- with SET LOCAL ROLE inside a transaction, so RLS applies even to a superuser login.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'keepsake_app') THEN
    CREATE ROLE keepsake_app NOLOGIN NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'keepsake_system') THEN
    CREATE ROLE keepsake_system NOLOGIN NOBYPASSRLS;
  END IF;
  -- The login that runs migrations (and the app) must be allowed to SET ROLE to both.
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper) THEN
    EXECUTE format('GRANT keepsake_app, keepsake_system TO %I', current_user);
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO keepsake_app, keepsake_system;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO keepsake_app, keepsake_system;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO keepsake_app, keepsake_system;
REVOKE ALL ON TABLE "_prisma_migrations" FROM keepsake_app, keepsake_system;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO keepsake_app, keepsake_system;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO keepsake_app, keepsake_system;

-- The current tenant, or NULL when none is set (then tenant policies match no row).
CREATE OR REPLACE FUNCTION keepsake_current_org() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT NULLIF(current_setting('app.org_id', true), '')::uuid $$;

-- Every table with an "orgId" column gets the same pair of policies.
DO $$
DECLARE t text;
BEGIN
  FOR t IN
    SELECT c.table_name FROM information_schema.columns c
    WHERE c.table_schema = 'public' AND c.column_name = 'orgId'
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO keepsake_app USING ("orgId" = keepsake_current_org()) WITH CHECK ("orgId" = keepsake_current_org())', t);
    EXECUTE format('CREATE POLICY system_context ON %I TO keepsake_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END
$$;

-- Organizations are keyed by their own id.
ALTER TABLE "Organization" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "Organization" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Organization" TO keepsake_app
  USING (id = keepsake_current_org()) WITH CHECK (id = keepsake_current_org());
CREATE POLICY system_context ON "Organization" TO keepsake_system USING (true) WITH CHECK (true);

-- Users are global identities; a tenant sees only the users who are its members.
ALTER TABLE "User" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "User" FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_members ON "User" FOR SELECT TO keepsake_app
  USING (EXISTS (SELECT 1 FROM "Membership" m WHERE m."userId" = "User".id AND m."orgId" = keepsake_current_org()));
CREATE POLICY system_context ON "User" TO keepsake_system USING (true) WITH CHECK (true);

-- ---------------------------------------------------------------------------------------
-- Audit trail: append-only and hash-chained per organization.

-- The canonical text of an event that the hash covers. jsonb::text is canonical (key order
-- normalized), timestamps are printed with a fixed format, NULLs become empty fields.
CREATE OR REPLACE FUNCTION keepsake_audit_payload(e "AuditEvent") RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT concat_ws('|',
    e.id::text, e."orgId"::text, e.seq::text, e."actorType"::text,
    coalesce(e."actorId"::text, ''), coalesce(e."actorLabel", ''),
    e.action, e."resourceType", coalesce(e."resourceId"::text, ''),
    coalesce(e.before::text, ''), coalesce(e.after::text, ''),
    coalesce(e."requestId", ''), coalesce(e.ip, ''), coalesce(e."userAgent", ''),
    to_char(e."createdAt", 'YYYY-MM-DD"T"HH24:MI:SS.MS'))
$$;

CREATE OR REPLACE FUNCTION keepsake_audit_hash(prev text, e "AuditEvent") RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(prev || '|' || keepsake_audit_payload(e), 'UTF8')), 'hex')
$$;

-- Sequence number and chain link are assigned here, under a per-org advisory lock, so
-- concurrent writers of one org serialize and the chain has no forks or gaps.
CREATE OR REPLACE FUNCTION keepsake_audit_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE last_seq int; last_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('keepsake_audit:' || NEW."orgId"::text, 0));
  SELECT seq, hash INTO last_seq, last_hash FROM "AuditEvent"
    WHERE "orgId" = NEW."orgId" ORDER BY seq DESC LIMIT 1;
  NEW.seq := coalesce(last_seq, 0) + 1;
  NEW."prevHash" := coalesce(last_hash, repeat('0', 64));
  NEW.hash := keepsake_audit_hash(NEW."prevHash", NEW);
  RETURN NEW;
END
$$;

CREATE TRIGGER audit_chain BEFORE INSERT ON "AuditEvent"
  FOR EACH ROW EXECUTE FUNCTION keepsake_audit_chain();

CREATE OR REPLACE FUNCTION keepsake_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'AuditEvent is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON "AuditEvent"
  FOR EACH ROW EXECUTE FUNCTION keepsake_audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON "AuditEvent"
  FOR EACH STATEMENT EXECUTE FUNCTION keepsake_audit_append_only();

REVOKE UPDATE, DELETE, TRUNCATE ON "AuditEvent" FROM keepsake_app, keepsake_system;

-- First broken link of an org's chain (NULL row when intact): a row whose hash does not
-- match its content, whose prevHash is not the previous row's hash, or a gap in seq.
CREATE OR REPLACE FUNCTION keepsake_audit_verify(org uuid)
RETURNS TABLE (broken_seq int, event_id uuid, reason text, checked int)
LANGUAGE sql STABLE AS $$
  WITH chain AS (
    SELECT e.*, row_number() OVER (ORDER BY e.seq) AS pos,
           lag(e.hash) OVER (ORDER BY e.seq) AS prior_hash,
           keepsake_audit_hash(e."prevHash", e) AS expected
    FROM "AuditEvent" e WHERE e."orgId" = org
  ), bad AS (
    SELECT seq, id,
      CASE
        WHEN seq <> pos THEN 'sequence gap before seq ' || seq
        WHEN "prevHash" <> coalesce(prior_hash, repeat('0', 64)) THEN 'prevHash does not match the previous event'
        WHEN hash <> expected THEN 'hash does not match the event content'
      END AS reason
    FROM chain
  )
  SELECT b.seq, b.id, b.reason, (SELECT count(*)::int FROM chain)
  FROM bad b WHERE b.reason IS NOT NULL ORDER BY b.seq LIMIT 1
$$;
