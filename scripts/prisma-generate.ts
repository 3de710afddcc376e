// Runs `prisma generate` without the native schema engine: the CLI only checks that the
// engine binary exists, so point it at any existing file. Scoped to generate on purpose:
// with this variable set, `migrate` commands silently do nothing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const trueBin = ['/usr/bin/true', '/bin/true'].find((p) => existsSync(p)) ?? process.execPath;
const result = spawnSync('prisma', ['generate'], {
  stdio: 'inherit',
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: trueBin, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});
process.exit(result.status ?? 1);
