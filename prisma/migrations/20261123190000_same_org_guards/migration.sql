-- Tenant isolation in the database, for references too. A foreign key check ignores row-level
-- security, so until now only the services' own orgId checks stopped a row of one organization
-- from pointing at a row of another (a strategy on another tenant's source, an artifact at another
-- tenant's destination). These triggers refuse that in the database, whatever the code does.

-- A row's reference columns must name rows of the row's own organization. The trigger's arguments
-- are pairs: reference column, referenced table. Run as the caller: for keepsake_app, RLS hides
-- the other organization's rows, so a foreign reference is not even found; for everyone else the
-- organizations are compared.
CREATE OR REPLACE FUNCTION keepsake_same_org_refs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r jsonb := to_jsonb(NEW);
  ref uuid;
  parent_org uuid;
  i int := 0;
BEGIN
  WHILE i < TG_NARGS LOOP
    ref := (r ->> TG_ARGV[i])::uuid;
    IF ref IS NOT NULL THEN
      EXECUTE format('SELECT "orgId" FROM %I WHERE id = $1', TG_ARGV[i + 1]) INTO parent_org USING ref;
      IF parent_org IS DISTINCT FROM NEW."orgId" THEN
        RAISE EXCEPTION '%.% must reference a % of organization %', TG_TABLE_NAME, TG_ARGV[i], TG_ARGV[i + 1], NEW."orgId"
          USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, COLUMN = TG_ARGV[i];
      END IF;
    END IF;
    i := i + 2;
  END LOOP;
  RETURN NEW;
END
$$;

-- A row never moves to another organization (its children would point across tenants).
CREATE OR REPLACE FUNCTION keepsake_org_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."orgId" IS DISTINCT FROM OLD."orgId" THEN
    RAISE EXCEPTION '%."orgId" cannot change', TG_TABLE_NAME
      USING ERRCODE = 'integrity_constraint_violation', TABLE = TG_TABLE_NAME, COLUMN = 'orgId';
  END IF;
  RETURN NEW;
END
$$;

-- Installs both guards from the catalog: every single-column foreign key from a table with an
-- "orgId" column to another such table. A later migration that adds a tenant table or reference
-- runs `SELECT keepsake_install_tenant_guards();` again (test/foundation/same-org.test.ts fails
-- until it does).
CREATE OR REPLACE FUNCTION keepsake_install_tenant_guards() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT c.table_name AS tbl FROM information_schema.columns c
    WHERE c.table_schema = 'public' AND c.column_name = 'orgId'
  LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS tenant_org_immutable ON %I', t.tbl);
    EXECUTE format('CREATE TRIGGER tenant_org_immutable BEFORE UPDATE OF "orgId" ON %I FOR EACH ROW EXECUTE FUNCTION keepsake_org_immutable()', t.tbl);
  END LOOP;

  FOR t IN
    SELECT child.relname AS tbl,
           string_agg(format('%I', col.attname), ', ' ORDER BY col.attname) AS cols,
           string_agg(format('%L, %L', col.attname, parent.relname), ', ' ORDER BY col.attname) AS args
    FROM pg_constraint fk
    JOIN pg_class child ON child.oid = fk.conrelid
    JOIN pg_class parent ON parent.oid = fk.confrelid
    JOIN pg_namespace ns ON ns.oid = child.relnamespace AND ns.nspname = 'public'
    JOIN pg_attribute col ON col.attrelid = fk.conrelid AND col.attnum = fk.conkey[1]
    WHERE fk.contype = 'f' AND array_length(fk.conkey, 1) = 1 AND col.attname <> 'orgId'
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = fk.conrelid AND a.attname = 'orgId' AND NOT a.attisdropped)
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = fk.confrelid AND a.attname = 'orgId' AND NOT a.attisdropped)
    GROUP BY child.relname
  LOOP
    EXECUTE format('DROP TRIGGER IF EXISTS tenant_same_org_refs ON %I', t.tbl);
    EXECUTE format('CREATE TRIGGER tenant_same_org_refs BEFORE INSERT OR UPDATE OF "orgId", %s ON %I FOR EACH ROW EXECUTE FUNCTION keepsake_same_org_refs(%s)', t.cols, t.tbl, t.args);
  END LOOP;
END
$$;

SELECT keepsake_install_tenant_guards();
