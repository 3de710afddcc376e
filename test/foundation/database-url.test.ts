// A DATABASE_URL that cannot be reached stops start-up with an error naming the variable (as every
// other setting's error does), exit code 1, and without the password from the URL.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('DATABASE_URL', () => {
  it('an unreachable server is a configuration error that names the variable and hides the password', () => {
    const dataDir = mkdtempSync(path.join(process.cwd(), '.data-test-dburl-'));
    try {
      const r = spawnSync(path.join('node_modules', '.bin', 'tsx'), ['src/main.ts'], {
        env: { ...process.env, DATABASE_URL: 'postgresql://keepsake:s3cretpw@127.0.0.1:1/nodb', DATA_DIR: dataDir, SEED_DEMO: 'false', LOG_LEVEL: 'silent' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/DATABASE_URL: cannot connect to 127\.0\.0\.1:1\/nodb/);
      expect(r.stderr + r.stdout).not.toContain('s3cretpw');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
