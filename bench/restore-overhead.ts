// What our restore costs next to plain pg_restore of the same database, on the benchmark
// database of BENCH_DB_GB GiB (default 1) that bench/backup-overhead.ts generates (run
// `npm run bench -- backup` once first, with the same BENCH_DB_GB). Two artifacts are made once
// and cached under .data/bench-restore/<database>/ (rebuilt when the database is regenerated):
//   raw.dump   pg_dump -Fc (pg_dump's default gzip compression)
//   store/     our artifact: POSTGRES engine → zstd → AES-256-GCM (data-key.hex) → LocalDestination
// Timed, each BENCH_RUNS times (default 2), interleaved, best wall time reported, every one
// into a new database that is dropped afterwards, from CREATE DATABASE to exit:
//   raw       pg_restore --no-owner --exit-on-error --single-transaction -d new raw.dump
//   raw -j 2  pg_restore --no-owner --exit-on-error --jobs=2 -d new raw.dump   (reference only)
//   ours      verifyArtifact (SHA-256 pass) → openRestoreStream (decrypt, zstd) → restorePostgres,
//             as restorePoint() does, in a child process that reports its own peak RSS
//   ours -j 2 the same with jobs: 2 (restoreRecoveryPoint's `jobs`): the decoded dump is spooled
//             to a temp file, then pg_restore --jobs=2; compared with raw -j 2
//
//   BENCH_DB_GB=0.2 npx tsx bench/restore-overhead.ts
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createPostgresEngine } from '../src/backup/engines/postgres';
import { runBackupPipeline } from '../src/backup/pipeline/run-backup';
import { LocalDestination } from '../src/backup/destinations/local';
import { ByteCounter } from '../src/backup/pipeline/byte-counter';
import { openRestoreStream, verifyArtifact } from '../src/backup/pipeline/restore';
import { restorePostgres } from '../src/backup/restore/postgres';
import { dropDatabase, openBenchPostgres, printTable, withClient, type SummaryRow } from './postgres-server';

const THIS_FILE = fileURLToPath(import.meta.url);
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const TARGET = 1.15;
const KEY = 'bench/artifact';
const TABLES = ['customers', 'bookings', 'activity_log', 'photos'];

interface Artifacts {
  generatedAt: string;
  rawDump: string;
  root: string;
  sha256: string;
  dataKeyHex: string;
  dumpBytes: number;
  storedBytes: number;
  rawBytes: number;
}

interface Measurement {
  ms: number;
  verifyMs?: number;
  rssMb?: number;
  baselineRssMb?: number;
}

/** The URL without its password, plus PGPASSWORD, so argv carries no secret. */
function libpq(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const env = { ...process.env, PGPASSWORD: decodeURIComponent(u.password) };
  u.password = '';
  return { dbname: u.toString(), env };
}

const tool = (name: string) => (process.env.PG_BIN_DIR ? path.join(process.env.PG_BIN_DIR, name) : name);

async function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(cmd)} exited with ${code}`))));
  });
}

/** Both artifacts of the source database, made once per generated database. */
async function prepareArtifacts(url: string, dir: string): Promise<Artifacts> {
  const generatedAt = await withClient(url, (c) =>
    c.query<{ t: string }>('SELECT max(generated_at)::text AS t FROM bench_meta').then((r) => r.rows[0]!.t),
  ).catch(() => null);
  if (!generatedAt) throw new Error(`${new URL(url).pathname.slice(1)} is missing or incomplete: run \`npm run bench -- backup\` first with the same BENCH_DB_GB`);
  const metaFile = path.join(dir, 'meta.json');
  const cached = await readFile(metaFile, 'utf8').then((t) => JSON.parse(t) as Artifacts, () => null);
  if (cached?.generatedAt === generatedAt) return cached;

  console.log(`making artifacts in ${dir}…`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const rawDump = path.join(dir, 'raw.dump');
  const { dbname, env } = libpq(url);
  let started = performance.now();
  await exec(tool('pg_dump'), ['--format=custom', `--file=${rawDump}`, `--dbname=${dbname}`], env);
  console.log(`  pg_dump -Fc: ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const dataKey = randomBytes(32);
  await writeFile(path.join(dir, 'data-key.hex'), dataKey.toString('hex'), { mode: 0o600 });
  const engine = createPostgresEngine({
    connectionUrl: url, pgBinDir: process.env.PG_BIN_DIR, format: 'CUSTOM', noOwner: false, noAcl: false,
    includeSchemas: [], excludeSchemas: [], includeTables: [], excludeTables: [],
  });
  const root = path.join(dir, 'store');
  started = performance.now();
  const run = await engine.start(new AbortController().signal);
  const [result] = await Promise.all([
    runBackupPipeline({ input: run.stream, compression: 'ZSTD', key: { id: 'bench', key: dataKey }, destinations: [{ driver: new LocalDestination({ root }), key: KEY }] }),
    run.done,
  ]);
  console.log(`  ours: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const artifacts: Artifacts = {
    generatedAt, rawDump, root, sha256: result.sha256, dataKeyHex: dataKey.toString('hex'),
    dumpBytes: (await stat(rawDump)).size, storedBytes: result.storedBytes, rawBytes: result.rawBytes,
  };
  await writeFile(metaFile, JSON.stringify(artifacts, null, 2), { mode: 0o600 });
  return artifacts;
}

/** Exact row counts, so a restore that silently lost data cannot look fast. */
const rowCounts = (url: string) =>
  withClient(url, async (c) => {
    const counts: string[] = [];
    for (const t of TABLES) counts.push((await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t}`)).rows[0]!.n);
    return counts.join(',');
  });

/** A clean slate: the previous restore's dirty pages are not left for the next one to write. */
const checkpoint = (adminUrl: string) => withClient(adminUrl, (c) => c.query('CHECKPOINT'));

async function timePgRestore(adminUrl: string, url: string, file: string, extra: string[]): Promise<Measurement> {
  const name = new URL(url).pathname.slice(1);
  const { dbname, env } = libpq(url);
  const started = performance.now();
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  await exec(tool('pg_restore'), ['--no-owner', '--exit-on-error', ...extra, `--dbname=${dbname}`, file], env);
  return { ms: performance.now() - started };
}

/** Child mode: one restore the way restorePoint() does it; prints a JSON measurement. */
async function runOurs(a: Artifacts, targetUrl: string): Promise<void> {
  const baseline = process.resourceUsage().maxRSS;
  const driver = new LocalDestination({ root: a.root });
  const signal = new AbortController().signal;
  const started = performance.now();
  await verifyArtifact(driver, KEY, a.sha256, { signal });
  const verifyMs = performance.now() - started;
  const dataKey = { id: 'bench', key: Buffer.from(a.dataKeyHex, 'hex') };
  const decoded = await openRestoreStream({ driver, key: KEY, expectedSha256: a.sha256, compression: 'ZSTD', dataKey, signal, verify: false });
  const counter = new ByteCounter({ intervalMs: 250, onProgress: () => undefined });
  decoded.pipe(counter);
  decoded.on('error', (err) => counter.destroy(err));
  const jobs = Number(process.env.BENCH_JOBS ?? 1);
  await restorePostgres(counter, { targetUrl, format: 'custom', mode: 'new', jobs, pgBinDir: process.env.PG_BIN_DIR }, signal);
  const ms = performance.now() - started;
  if (counter.bytes !== a.rawBytes) throw new Error(`decoded ${counter.bytes} bytes, the backup recorded ${a.rawBytes}`);
  const out: Measurement = { ms, verifyMs, rssMb: process.resourceUsage().maxRSS / 1024, baselineRssMb: baseline / 1024 };
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function timeOurs(metaFile: string, targetUrl: string, jobs = 1): Promise<Measurement> {
  const child = spawn(process.execPath, ['--import', 'tsx', THIS_FILE, '--ours', metaFile], {
    stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_TARGET_URL: targetUrl, BENCH_JOBS: String(jobs) },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`our restore exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as Measurement;
}

export async function runRestoreOverhead(): Promise<SummaryRow[]> {
  const gib = Number(process.env.BENCH_DB_GB ?? 1);
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 2));
  const server = await openBenchPostgres((l) => console.log(l));
  const source = `keepsake_bench_${String(gib).replace('.', '_')}gib`; // as bench/backup-overhead.ts names it
  const targets = { raw: 'keepsake_bench_restore_raw', parallel: 'keepsake_bench_restore_j2', ours: 'keepsake_bench_restore_ours', oursParallel: 'keepsake_bench_restore_ours_j2' };
  try {
    const sourceUrl = server.urlFor(source);
    const dir = path.resolve('.data', 'bench-restore', source);
    const a = await prepareArtifacts(sourceUrl, dir);
    const bytes = await withClient(sourceUrl, (c) => c.query<{ n: string }>('SELECT pg_database_size(current_database())::text AS n').then((r) => Number(r.rows[0]!.n)));
    const expected = await rowCounts(sourceUrl);
    console.log(`database ${source}: ${(bytes / GIB).toFixed(2)} GiB; pg_dump -Fc ${(a.dumpBytes / MIB).toFixed(0)} MiB; ours ${(a.storedBytes / MIB).toFixed(0)} MiB stored (${(a.rawBytes / MIB).toFixed(0)} MiB -Z0 dump inside)`);
    console.log('raw pg_restore runs with --single-transaction because ours streams the dump into pg_restore\'s stdin with --single-transaction: like for like');
    for (const name of Object.values(targets)) await dropDatabase(server.adminUrl, name);

    const all: Record<keyof typeof targets, Measurement[]> = { raw: [], parallel: [], ours: [], oursParallel: [] };
    const measure = async (k: keyof typeof targets, fn: (url: string) => Promise<Measurement>) => {
      const url = server.urlFor(targets[k]);
      await checkpoint(server.adminUrl);
      const m = await fn(url);
      const counts = await rowCounts(url);
      await dropDatabase(server.adminUrl, targets[k]);
      if (counts !== expected) throw new Error(`${k}: restored row counts ${counts} differ from the source's ${expected}`);
      all[k].push(m);
    };
    // Ours runs three busy processes (node, pg_restore, the server) where raw runs two: other load skews the ratio.
    const load = () => `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs${loadavg()[0]! > availableParallelism() / 2 ? ' (busy machine: figures are noisy)' : ''}`;
    console.log(load());
    for (let i = 1; i <= runs; i++) {
      await measure('raw', (url) => timePgRestore(server.adminUrl, url, a.rawDump, ['--single-transaction']));
      await measure('parallel', (url) => timePgRestore(server.adminUrl, url, a.rawDump, ['--jobs=2']));
      await measure('ours', (url) => timeOurs(path.join(dir, 'meta.json'), url));
      await measure('oursParallel', (url) => timeOurs(path.join(dir, 'meta.json'), url, 2));
      const last = (k: keyof typeof all) => `${k} ${(all[k].at(-1)!.ms / 1000).toFixed(1)} s`;
      console.log(`run ${i}/${runs}: ${last('raw')}, ${last('parallel')}, ${last('ours')}, ${last('oursParallel')} (verify ${(all.ours.at(-1)!.verifyMs! / 1000).toFixed(2)} s)`);
    }

    console.log(load());
    const best = (k: keyof typeof all) => all[k].reduce((x, y) => (y.ms < x.ms ? y : x));
    const [raw, parallel, ours, oursParallel] = [best('raw'), best('parallel'), best('ours'), best('oursParallel')];
    const verifyMs = Math.min(...all.ours.map((m) => m.verifyMs!));
    const rss = Math.max(...all.ours.map((m) => m.rssMb!));
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const vs = (m: Measurement) => `${(m.ms / raw.ms).toFixed(2)}×`;
    console.log(`\nbest of ${runs}, each from CREATE DATABASE to exit (ratio = wall / raw single-transaction)`);
    printTable([
      { run: 'raw: pg_restore --single-transaction (gzip dump)', wall: s(raw.ms), ratio: vs(raw) },
      { run: 'raw: pg_restore -j 2 (reference)', wall: s(parallel.ms), ratio: vs(parallel) },
      { run: 'ours: SHA-256 pass → decrypt → zstd -d → pg_restore', wall: s(ours.ms), ratio: vs(ours) },
      { run: '  of which the SHA-256 verification pass', wall: s(verifyMs), ratio: `${(verifyMs / raw.ms).toFixed(2)}×` },
      { run: 'ours with jobs: 2 (spool to a temp file, pg_restore -j 2)', wall: s(oursParallel.ms), ratio: vs(oursParallel) },
    ]);
    const ratio = ours.ms / raw.ms;
    console.log('');
    printTable([
      { ratio: 'time ours / raw pg_restore (single transaction)', value: `${ratio.toFixed(2)}×`, target: `≤ ${TARGET.toFixed(2)}×`, met: ratio <= TARGET ? 'yes' : 'NO' },
      { ratio: 'time ours / pg_restore -j 2', value: `${(ours.ms / parallel.ms).toFixed(2)}×`, target: '', met: '' },
      { ratio: 'time ours with jobs: 2 / pg_restore -j 2', value: `${(oursParallel.ms / parallel.ms).toFixed(2)}×`, target: '', met: '' },
      { ratio: 'peak RSS of our restore process', value: `${rss.toFixed(0)} MB (node baseline ${ours.baselineRssMb!.toFixed(0)} MB)`, target: '', met: '' },
    ]);
    return [
      { bench: 'restore', metric: `time ours / pg_restore --single-transaction (${gib} GiB)`, value: `${ratio.toFixed(2)}×`, target: `≤ ${TARGET}×`, ok: ratio <= TARGET },
      { bench: 'restore', metric: 'time ours / pg_restore -j 2', value: `${(ours.ms / parallel.ms).toFixed(2)}×`, target: '', ok: null },
      { bench: 'restore', metric: 'time ours with jobs: 2 / pg_restore -j 2', value: `${(oursParallel.ms / parallel.ms).toFixed(2)}×`, target: '', ok: null },
      { bench: 'restore', metric: 'verification pass / raw pg_restore', value: `${(verifyMs / raw.ms).toFixed(2)}×`, target: '', ok: null },
      { bench: 'restore', metric: 'peak RSS ours', value: `${rss.toFixed(0)} MB`, target: '', ok: null },
    ];
  } finally {
    for (const name of Object.values(targets)) await dropDatabase(server.adminUrl, name).catch(() => undefined);
    await server.stop();
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain && process.argv[2] === '--ours') {
  await runOurs(JSON.parse(await readFile(process.argv[3]!, 'utf8')) as Artifacts, process.env.BENCH_TARGET_URL!);
} else if (isMain) await runRestoreOverhead();
