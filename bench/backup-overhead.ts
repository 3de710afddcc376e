// What our backup pipeline costs next to plain pg_dump, on a generated database of
// BENCH_DB_GB GiB (default 1; generated once and reused, see bench/postgres-server.ts):
//   default  pg_dump -Fc -f file        (pg_dump's own gzip compression)
//   floor    pg_dump -Fc -Z0 -f file    (no compression: the least a custom-format dump costs)
//   ours     POSTGRES engine → zstd (default level) → AES-256-GCM → SHA-256 → LocalDestination,
//            in a child process that reports its own peak RSS
// Each is run BENCH_RUNS times (default 2), interleaved; the best wall time is reported.
// BENCH_ZSTD_LEVEL (1..19) overrides our default zstd level (DEFAULT_ZSTD_LEVEL) for ours.
//
//   BENCH_DB_GB=0.2 npx tsx bench/backup-overhead.ts
import { DEFAULT_ZSTD_LEVEL } from '../src/backup/pipeline/compression';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { createPostgresEngine } from '../src/backup/engines/postgres';
import { runBackupPipeline } from '../src/backup/pipeline/run-backup';
import { LocalDestination } from '../src/backup/destinations/local';
import { dropDatabase, ensureDatabase, openBenchPostgres, printTable, withClient, type SummaryRow } from './postgres-server';

const THIS_FILE = fileURLToPath(import.meta.url);
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const TARGET = { vsDefault: 1.0, vsFloor: 1.25, rssMb: 200 };

// Tables of a wedding supplier: people, bookings, an activity log and photo metadata. Text from
// word lists (compressible), hashes and ids (hex, half compressible), and a random bytea column
// (incompressible), so compression ratios look like a real database rather than repeated rows.
const SCHEMA = `
CREATE TABLE customers (id bigint PRIMARY KEY, name text, email text, phone text, city text, created_at timestamptz, notes text);
CREATE TABLE bookings (id bigint PRIMARY KEY, customer_id bigint, venue text, event_date date, guests int, amount numeric(12,2),
  deposit numeric(12,2), status text, package jsonb, notes text, created_at timestamptz);
CREATE TABLE activity_log (id bigint PRIMARY KEY, at timestamptz, level text, actor text, action text, request_id uuid, payload jsonb);
CREATE TABLE photos (id bigint PRIMARY KEY, booking_id bigint, file_name text, sha256 text, bytes int, width int, height int, exif jsonb, thumb bytea);
CREATE INDEX ON bookings (customer_id);
CREATE INDEX ON activity_log (at);
CREATE TABLE bench_meta (target_gib numeric, generated_at timestamptz DEFAULT now());`;

const pick = (list: string) => `(ARRAY[${list.split(' ').map((w) => `'${w}'`).join(',')}])[1 + floor(random() * ${list.split(' ').length})::int]`;
const FIRST = pick('Olivia Amelia Isla Ava Mia Ivy Lily Freya Noah Oliver George Arthur Leo Harry Oscar Archie Henry Theo Jack Charlie');
const LAST = pick('Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Wright Robinson Wood Thompson Evans Walker White Roberts Green Hall Khan');
const CITY = pick('London Bath York Oxford Brighton Leeds Bristol Cambridge Edinburgh Cardiff Norwich Exeter Chester Durham Glasgow');
const VENUE = pick('Barn Manor Castle Hotel Chapel Garden Boathouse Orangery Abbey Vineyard Farm Loft');
const WORDS = `(ARRAY[${'the guests loved flowers ceremony reception photos album deposit invoice venue menu cake band florist bride groom toast dinner evening morning timeline catering schedule confirmed requested changed table seating portraits candid golden hour rain backup plan marquee lighting drinks dessert vegan gluten allergy shuttle parking overnight suite'.split(' ').map((w) => `'${w}'`).join(',')}])`;
const sentence = (seed: string, words: string) => `(SELECT string_agg(${WORDS}[1 + floor(random() * 56)::int], ' ') FROM generate_series(1, ${words} + (${seed} % 7)))`;
const randomHex = (seed: string, md5s: number) => `(SELECT string_agg(md5(random()::text || ${seed} || i), '') FROM generate_series(1, ${md5s}) AS i)`;

/** One batch of rows with ids in (from, from + n]; the four tables fill on parallel connections. */
function batch(from: number, n: number): string[] {
  const g = `generate_series(${from + 1}, ${from + n}) AS g`;
  return [
    `INSERT INTO customers SELECT g, ${FIRST} || ' ' || ${LAST}, 'guest' || g || '@example.com', '+44 7' || lpad((random() * 1e9)::bigint::text, 9, '0'),
       ${CITY}, now() - random() * interval '900 days', ${sentence('g', '4')} FROM ${g}`,
    `INSERT INTO bookings SELECT g, 1 + (random() * ${from + n})::bigint, ${VENUE} || ' at ' || ${CITY}, date '2025-01-01' + (random() * 900)::int,
       20 + (random() * 200)::int, round((random() * 30000)::numeric, 2), round((random() * 3000)::numeric, 2),
       (ARRAY['enquiry','booked','paid','completed','cancelled'])[1 + (g % 5)],
       jsonb_build_object('hours', 4 + g % 8, 'album', g % 3 = 0, 'second_shooter', g % 4 = 0, 'extras', jsonb_build_array(${VENUE}, ${CITY})),
       ${sentence('g', '10')}, now() - random() * interval '900 days' FROM ${g}`,
    `INSERT INTO activity_log SELECT g, now() - (g || ' seconds')::interval, (ARRAY['info','info','info','warn','error'])[1 + (g % 5)],
       'user:' || (random() * 5000)::int, (ARRAY['booking.update','photo.upload','invoice.sent','login','album.share'])[1 + (g % 5)],
       md5(g::text || random()::text)::uuid, jsonb_build_object('ip', '10.0.' || (g % 255) || '.' || (random() * 255)::int, 'ms', (random() * 900)::int, 'msg', ${sentence('g', '3')})
     FROM ${g}`,
    `INSERT INTO photos SELECT g, 1 + (random() * ${from + n})::bigint, 'IMG_' || lpad(g::text, 8, '0') || '.jpg', ${randomHex('g', 2)},
       (random() * 2e7)::int, 6000, 4000, jsonb_build_object('camera', 'Canon EOS R5', 'iso', 100 * (1 + g % 64), 'lens', '24-70mm', 'f', 2.8),
       decode(${randomHex('g', 12)}, 'hex') FROM ${g}`,
  ];
}

/** Generates (or reuses) the benchmark database; returns its URL and size in bytes. */
async function benchDatabase(adminUrl: string, urlFor: (db: string) => string, gib: number): Promise<{ url: string; bytes: number }> {
  const name = `keepsake_bench_${String(gib).replace('.', '_')}gib`;
  const url = urlFor(name);
  const size = (c: pg.Client) => c.query<{ n: string }>('SELECT pg_database_size(current_database())::text AS n').then((r) => Number(r.rows[0]!.n));
  if (!(await ensureDatabase(adminUrl, name))) {
    const ready = await withClient(url, async (c) => {
      const meta = await c.query<{ t: string }>(`SELECT target_gib::text AS t FROM bench_meta WHERE to_regclass('bench_meta') IS NOT NULL`).catch(() => ({ rows: [] }));
      return meta.rows.length > 0 ? size(c) : null;
    });
    if (ready !== null && ready >= gib * GIB) return { url, bytes: ready };
    await dropDatabase(adminUrl, name);
    await ensureDatabase(adminUrl, name);
  }
  console.log(`generating ${name} (≥ ${gib} GiB)…`);
  const started = Date.now();
  await withClient(url, (c) => c.query(SCHEMA));
  const clients = await Promise.all([0, 1, 2, 3].map(() => withClientOpen(url)));
  try {
    const n = 100_000;
    for (let from = 0; ; from += n) {
      await Promise.all(batch(from, n).map((sql, i) => clients[i]!.query(sql)));
      const bytes = await size(clients[0]!);
      process.stdout.write(`${process.stdout.isTTY ? '\r' : '\n'}  ${(bytes / MIB).toFixed(0)} MiB after ${from + n} rows per table (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      if (bytes >= gib * GIB) break;
    }
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  await withClient(url, async (c) => {
    await c.query('VACUUM ANALYZE');
    await c.query('INSERT INTO bench_meta (target_gib) VALUES ($1)', [gib]);
  });
  const bytes = await withClient(url, size);
  console.log(`\n  generated ${(bytes / GIB).toFixed(2)} GiB in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { url, bytes };
}

async function withClientOpen(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('SET synchronous_commit = off');
  return c;
}

/** The URL without its password, plus PGPASSWORD, so argv carries no secret. */
function libpq(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const env = { ...process.env, PGPASSWORD: decodeURIComponent(u.password) };
  u.password = '';
  return { dbname: u.toString(), env };
}

const pgDumpPath = () => (process.env.PG_BIN_DIR ? path.join(process.env.PG_BIN_DIR, 'pg_dump') : 'pg_dump');

/** pg_dump must be the server's major version: older refuses, newer works but is not what we ship against. */
async function checkVersions(url: string): Promise<string> {
  const { stdout } = await promisify(execFile)(pgDumpPath(), ['--version']);
  const dumpMajor = Number(/\)\s+(\d+)/.exec(stdout)?.[1]);
  const server = await withClient(url, (c) => c.query<{ v: string; n: string }>(`SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n`));
  const serverMajor = Math.floor(Number(server.rows[0]!.n) / 10000);
  if (dumpMajor !== serverMajor) throw new Error(`pg_dump ${stdout.trim()} does not match the server (${server.rows[0]!.v}); set PG_BIN_DIR`);
  return `${stdout.trim()} / server ${server.rows[0]!.v}`;
}

interface Measurement {
  ms: number;
  bytes: number;
  rawBytes?: number;
  rssMb?: number;
  baselineRssMb?: number;
}

async function timePgDump(url: string, file: string, extra: string[]): Promise<Measurement> {
  const { dbname, env } = libpq(url);
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(pgDumpPath(), ['--format=custom', ...extra, `--file=${file}`, `--dbname=${dbname}`], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pg_dump exited with ${code}`))));
  });
  const ms = performance.now() - started;
  const { size } = await stat(file);
  await rm(file, { force: true });
  return { ms, bytes: size };
}

/** Child mode: one backup through our engine and pipeline; prints a JSON measurement. */
async function runOurs(url: string, root: string): Promise<void> {
  const baseline = process.resourceUsage().maxRSS;
  const engine = createPostgresEngine({
    connectionUrl: url, pgBinDir: process.env.PG_BIN_DIR, format: 'CUSTOM', noOwner: false, noAcl: false,
    includeSchemas: [], excludeSchemas: [], includeTables: [], excludeTables: [],
  });
  const level = process.env.BENCH_ZSTD_LEVEL ? Number(process.env.BENCH_ZSTD_LEVEL) : undefined;
  const destination = new LocalDestination({ root });
  const started = performance.now();
  const run = await engine.start(new AbortController().signal);
  const [result] = await Promise.all([
    runBackupPipeline({ input: run.stream, compression: 'ZSTD', level, key: { id: 'bench', key: randomBytes(32) }, destinations: [{ driver: destination, key: 'bench/artifact' }] }),
    run.done,
  ]);
  const ms = performance.now() - started;
  await destination.delete('bench/artifact');
  const out: Measurement = { ms, bytes: result.storedBytes, rawBytes: result.rawBytes, rssMb: process.resourceUsage().maxRSS / 1024, baselineRssMb: baseline / 1024 };
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function timeOurs(url: string, root: string): Promise<Measurement> {
  const child = spawn(process.execPath, ['--import', 'tsx', THIS_FILE, '--ours', url, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`our pipeline exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as Measurement;
}

export async function runBackupOverhead(): Promise<SummaryRow[]> {
  const gib = Number(process.env.BENCH_DB_GB ?? 1);
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 2));
  const server = await openBenchPostgres((l) => console.log(l));
  const work = path.resolve('.data', 'bench-out');
  try {
    const db = await benchDatabase(server.adminUrl, server.urlFor, gib);
    console.log(`database: ${(db.bytes / GIB).toFixed(2)} GiB; ${await checkVersions(db.url)}`);
    await mkdir(work, { recursive: true });
    const all: Record<'default' | 'floor' | 'ours', Measurement[]> = { default: [], floor: [], ours: [] };
    for (let i = 1; i <= runs; i++) {
      all.default.push(await timePgDump(db.url, path.join(work, 'default.dump'), []));
      all.floor.push(await timePgDump(db.url, path.join(work, 'floor.dump'), ['--compress=0']));
      all.ours.push(await timeOurs(db.url, work));
      const last = (k: keyof typeof all) => `${k} ${(all[k].at(-1)!.ms / 1000).toFixed(1)} s`;
      console.log(`run ${i}/${runs}: ${last('default')}, ${last('floor')}, ${last('ours')}`);
    }
    const best = (k: keyof typeof all) => all[k].reduce((a, b) => (b.ms < a.ms ? b : a));
    const [def, floor, ours] = [best('default'), best('floor'), best('ours')];
    const rss = Math.max(...all.ours.map((m) => m.rssMb!));
    const mb = (b: number) => `${(b / MIB).toFixed(0)} MiB`;
    const s = (m: Measurement) => `${(m.ms / 1000).toFixed(2)} s`;
    const zstd = `zstd -${process.env.BENCH_ZSTD_LEVEL ?? DEFAULT_ZSTD_LEVEL}`;
    const speed = (m: Measurement) => `${(floor.bytes / MIB / (m.ms / 1000)).toFixed(0)} MiB/s`;
    console.log(`\nbest of ${runs} (raw dump ${mb(floor.bytes)}; throughput = raw dump bytes / wall time)`);
    printTable([
      { run: 'pg_dump -Fc (default gzip)', wall: s(def), throughput: speed(def), stored: mb(def.bytes), 'size vs raw': (def.bytes / floor.bytes).toFixed(3) },
      { run: 'pg_dump -Fc -Z0 (floor)', wall: s(floor), throughput: speed(floor), stored: mb(floor.bytes), 'size vs raw': '1.000' },
      { run: `ours: engine→${zstd}→AES-GCM→SHA-256→local`, wall: s(ours), throughput: speed(ours), stored: mb(ours.bytes), 'size vs raw': (ours.bytes / floor.bytes).toFixed(3) },
    ]);
    const vsDefault = ours.ms / def.ms;
    const vsFloor = ours.ms / floor.ms;
    console.log('');
    printTable([
      { ratio: 'time ours / default pg_dump', value: `${vsDefault.toFixed(2)}×`, target: `≤ ${TARGET.vsDefault.toFixed(2)}×`, met: vsDefault <= TARGET.vsDefault ? 'yes' : 'NO' },
      { ratio: 'time ours / floor (-Z0)', value: `${vsFloor.toFixed(2)}×`, target: `≤ ${TARGET.vsFloor.toFixed(2)}×`, met: vsFloor <= TARGET.vsFloor ? 'yes' : 'NO' },
      { ratio: 'size ours / default pg_dump', value: `${(ours.bytes / def.bytes).toFixed(2)}×`, target: '', met: '' },
      { ratio: 'peak RSS of our pipeline process', value: `${rss.toFixed(0)} MB (node baseline ${ours.baselineRssMb!.toFixed(0)} MB)`, target: `< ${TARGET.rssMb} MB`, met: rss < TARGET.rssMb ? 'yes' : 'NO' },
    ]);
    return [
      { bench: 'backup', metric: `time ours (${zstd}) / pg_dump default (${gib} GiB)`, value: `${vsDefault.toFixed(2)}×`, target: `≤ ${TARGET.vsDefault}×`, ok: vsDefault <= TARGET.vsDefault },
      { bench: 'backup', metric: 'time ours / pg_dump -Z0 floor', value: `${vsFloor.toFixed(2)}×`, target: `≤ ${TARGET.vsFloor}×`, ok: vsFloor <= TARGET.vsFloor },
      { bench: 'backup', metric: 'size ours / pg_dump default', value: `${(ours.bytes / def.bytes).toFixed(2)}×`, target: '', ok: null },
      { bench: 'backup', metric: 'peak RSS ours', value: `${rss.toFixed(0)} MB`, target: `< ${TARGET.rssMb} MB`, ok: rss < TARGET.rssMb },
    ];
  } finally {
    await rm(work, { recursive: true, force: true });
    await server.stop();
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain && process.argv[2] === '--ours') await runOurs(process.argv[3]!, process.argv[4]!);
else if (isMain) await runBackupOverhead();
