// Which tables a pg_dump run covers, and their exact row counts: the evidence a verification
// later compares a restore against.
import type pg from 'pg';

export interface TableSelection {
  includeSchemas: string[];
  excludeSchemas: string[];
  includeTables: string[];
  excludeTables: string[];
}

export interface TableName {
  schema: string;
  name: string;
}

/**
 * A pg_dump name pattern as an anchored RegExp per dotted part (see "Patterns" in the psql docs):
 * unquoted letters fold to lower case, `*` is `.*`, `?` is `.`, `$` is literal, other regular
 * expression syntax passes through; inside double quotes everything is literal and `""` is a quote.
 */
export function pgPatternParts(pattern: string): RegExp[] {
  const parts: string[] = [''];
  let quoted = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '"') {
      if (quoted && pattern[i + 1] === '"') {
        parts[parts.length - 1] += '"';
        i++;
      } else quoted = !quoted;
    } else if (quoted) parts[parts.length - 1] += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (ch === '.') parts.push('');
    else if (ch === '*') parts[parts.length - 1] += '.*';
    else if (ch === '?') parts[parts.length - 1] += '.';
    else if (ch === '$') parts[parts.length - 1] += '\\$';
    else parts[parts.length - 1] += ch.toLowerCase();
  }
  return parts.map((p) => new RegExp(`^(?:${p})$`));
}

function tableMatcher(pattern: string): (t: TableName) => boolean {
  // 'table', 'schema.table', or 'db.schema.table' (the database part is not ours to check).
  const parts = pgPatternParts(pattern);
  const name = parts[parts.length - 1]!;
  const schema = parts.length > 1 ? parts[parts.length - 2]! : undefined;
  return (t) => name.test(t.name) && (schema === undefined || schema.test(t.schema));
}

function schemaMatcher(pattern: string): (schema: string) => boolean {
  const parts = pgPatternParts(pattern);
  return (schema) => parts[parts.length - 1]!.test(schema);
}

/**
 * The tables pg_dump dumps for these switches, mirroring its rules: with --table, only matching
 * tables (--schema/--exclude-schema then have no effect); otherwise the included schemas (all
 * when none) minus excluded ones; --exclude-table always wins. An unqualified table pattern
 * matches in every schema, as it does for pg_dump.
 */
export function coveredTables(all: TableName[], sel: TableSelection): TableName[] {
  const inclTables = sel.includeTables.map(tableMatcher);
  const exclTables = sel.excludeTables.map(tableMatcher);
  const inclSchemas = sel.includeSchemas.map(schemaMatcher);
  const exclSchemas = sel.excludeSchemas.map(schemaMatcher);
  return all.filter((t) => {
    if (inclTables.length > 0) {
      if (!inclTables.some((m) => m(t))) return false;
    } else {
      if (inclSchemas.length > 0 && !inclSchemas.some((m) => m(t.schema))) return false;
      if (exclSchemas.some((m) => m(t.schema))) return false;
    }
    return !exclTables.some((m) => m(t));
  });
}

/**
 * Ordinary tables with data pg_dump would dump: not system catalogs, not temp or toast tables,
 * not tables that belong to an extension (pg_dump leaves their data to CREATE EXTENSION).
 * Partitions are ordinary tables; partitioned parents hold no rows of their own and are skipped.
 */
export async function listUserTables(client: pg.Client): Promise<TableName[]> {
  const { rows } = await client.query<TableName>(`
    SELECT n.nspname AS schema, c.relname AS name
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r'
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY 1, 2`);
  return rows;
}

/**
 * Every relation a restore may name (tables, partitioned tables, views, materialized views,
 * foreign tables), with the same exclusions as listUserTables.
 */
export async function listUserRelations(client: pg.Client): Promise<TableName[]> {
  const { rows } = await client.query<TableName>(`
    SELECT n.nspname AS schema, c.relname AS name
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
     ORDER BY 1, 2`);
  return rows;
}

/**
 * ACCESS SHARE locks on the tables, taken right after the snapshot as pg_dump does: otherwise a
 * TRUNCATE or table rewrite committed before our count(*) reaches a table would show the old
 * snapshot an empty table (those commands are not MVCC-safe), and the counts would lie.
 */
export async function lockTables(client: pg.Client, tables: TableName[]): Promise<void> {
  for (let i = 0; i < tables.length; i += 500) {
    const names = tables.slice(i, i + 500).map((t) => `${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.name)}`);
    await client.query(`LOCK TABLE ONLY ${names.join(', ')} IN ACCESS SHARE MODE`);
  }
}

/** Exact count(*) per "schema.table", in whatever transaction `client` is in. */
export async function countRows(client: pg.Client, tables: TableName[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of tables) {
    const sql = `SELECT count(*) AS n FROM ${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.name)}`;
    const { rows } = await client.query<{ n: string }>(sql);
    counts[`${t.schema}.${t.name}`] = Number(rows[0]!.n);
  }
  return counts;
}
