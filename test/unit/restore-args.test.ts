// pg_restore's arguments decide atomicity and parallelism: an existing database is restored in
// one transaction whatever the format (no --jobs), a new database in parallel from an archive on
// disk (directory format, or a custom dump spooled because jobs were asked for), else from stdin.
import { describe, expect, it } from 'vitest';
import { parseConnectionUrl } from '../../src/backup/engines/pg-connection';
import { restoreArgs, type PostgresRestoreOptions } from '../../src/backup/restore/postgres';

const conn = parseConnectionUrl('postgresql://app:secret@db.example:5432/shop');
const opts = (over: Partial<PostgresRestoreOptions>): PostgresRestoreOptions => ({ targetUrl: 'unused', format: 'custom', mode: 'new', ...over });
const flags = (o: Partial<PostgresRestoreOptions>, archive?: string) => restoreArgs(opts(o), conn, archive).args.filter((a) => !a.startsWith('--dbname'));

describe('restoreArgs', () => {
  it('restores a new database in parallel from an archive, with the asked jobs or 2 for the directory format', () => {
    expect(flags({ format: 'directory' }, '/tmp/x/dump')).toEqual(['--exit-on-error', '--no-owner', '--jobs=2', '/tmp/x/dump']);
    expect(flags({ format: 'directory', jobs: 4 }, '/tmp/x/dump')).toContain('--jobs=4');
    expect(flags({ format: 'custom', jobs: 3 }, '/tmp/x/dump')).toEqual(['--exit-on-error', '--no-owner', '--jobs=3', '/tmp/x/dump']);
  });

  it('restores from stdin in one transaction when there is no archive', () => {
    expect(flags({ format: 'custom' })).toEqual(['--exit-on-error', '--no-owner', '--single-transaction']);
  });

  it('never runs parallel jobs into an existing database: one transaction, even from an archive', () => {
    const args = flags({ format: 'directory', mode: 'existing', jobs: 4 }, '/tmp/x/dump');
    expect(args).toEqual(['--exit-on-error', '--no-owner', '--clean', '--if-exists', '--single-transaction', '/tmp/x/dump']);
    expect(args.some((a) => a.startsWith('--jobs'))).toBe(false);
  });

  it('keeps the password out of argv', () => {
    expect(restoreArgs(opts({}), conn).args.join(' ')).not.toContain('secret');
    expect(restoreArgs(opts({ format: 'plain' }), conn)).toMatchObject({ tool: 'psql' });
  });
});
