// A fingerprint of every row an organization owns, read as superuser (bypassing RLS): equal
// fingerprints mean nothing of the organization changed.
import type pg from 'pg';

export async function fingerprintOf(superuser: pg.Client, orgId: string, opts: { exclude?: string[] } = {}): Promise<string> {
  const tables = await superuser.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns WHERE table_schema='public' AND column_name='orgId' ORDER BY table_name`,
  );
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    if (opts.exclude?.includes(table_name)) continue;
    const r = await superuser.query(`SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS h, count(*) AS n FROM "${table_name}" t WHERE "orgId" = $1`, [orgId]);
    parts.push(`${table_name}:${r.rows[0].n}:${r.rows[0].h}`);
  }
  const org = await superuser.query(`SELECT md5(t::text) AS h FROM "Organization" t WHERE id = $1`, [orgId]);
  parts.push(`Organization:${org.rows[0].h}`);
  return parts.join('|');
}
