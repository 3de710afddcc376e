// `npm run bench` runs every benchmark; `npm run bench -- progress` (or `backup`, `restore`) runs one.
// Benchmarks print ratios and percentiles measured in the same run; nothing here is a timed
// assertion, and the exit code is 0 even when a target is missed (the table says so).
import { runApiLoad } from './api-load';
import { runBackupOverhead } from './backup-overhead';
import { runProgressLatency } from './progress-latency';
import { runChunkedVsRestic } from './chunked-vs-restic';
import { runRestoreOverhead } from './restore-overhead';
import { printTable, type SummaryRow } from './postgres-server';

const BENCHES: Record<string, { about: string; run: () => Promise<SummaryRow[]> }> = {
  backup: { about: 'backup pipeline vs pg_dump on a generated database (BENCH_DB_GB, BENCH_RUNS)', run: runBackupOverhead },
  // After backup: it reuses the database backup generates (and fails fast without it).
  restore: { about: 'our restore (verify, decrypt, decompress, pg_restore) vs raw pg_restore (BENCH_DB_GB, BENCH_RUNS)', run: runRestoreOverhead },
  api: { about: 'the API under load with autocannon: dashboard vs { __typename }, one tenant vs another attacking (BENCH_SECONDS, BENCH_CONNECTIONS)', run: runApiLoad },
  chunked: { about: 'chunked directory backups vs restic on a generated tree (BENCH_TREE_GB, default 1)', run: runChunkedVsRestic },
  progress: { about: 'worker publish → graphql-ws subscriber latency (BENCH_EVENTS, BENCH_RATE)', run: runProgressLatency },
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in BENCHES));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(', ')}; choose from:`);
  for (const [name, b] of Object.entries(BENCHES)) console.error(`  ${name.padEnd(10)} ${b.about}`);
  process.exit(2);
}

const rows: SummaryRow[] = [];
for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
  console.log(`\n=== ${name}: ${BENCHES[name]!.about}\n`);
  const started = Date.now();
  rows.push(...(await BENCHES[name]!.run()));
  console.log(`(${name} took ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

console.log('\n=== summary\n');
printTable(rows.map((r) => ({ bench: r.bench, metric: r.metric, value: r.value, target: r.target, met: r.ok === null ? '' : r.ok ? 'yes' : 'NO' })));
