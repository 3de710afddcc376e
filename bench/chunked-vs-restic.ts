// Chunked directory backups side by side with restic (Debian's package, installed if missing)
// on the same generated tree, in the same run: first backup, unchanged re-run, 1 % of files
// changed, stored bytes, full restore, peak RSS. Both run as child processes measured by
// /usr/bin/time; ours through bench/chunked-child.ts (the format layer, no database, plus tsx's
// start-up), restic with its default compression (auto) into a local repository.
//   BENCH_TREE_GB (default 1): tree size, generated once into .data/bench-tree-<GB>
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { SummaryRow } from './postgres-server';

const GB = Number(process.env.BENCH_TREE_GB ?? '1');
const DATA = path.resolve('.data');
const TREE = path.join(DATA, `bench-tree-${GB}`);
const WORK = path.join(DATA, 'bench-chunked');

function ensureRestic(): void {
  if (spawnSync('restic', ['version']).status === 0) return;
  console.log('installing restic (Debian package)…');
  for (const args of [['update'], ['install', '-y', '-o', 'DPkg::Lock::Timeout=300', 'restic']]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit' });
    if (r.status !== 0 && args[0] === 'install') throw new Error('could not install restic');
  }
}

/** Text-like bytes (compressible about 3×) or random ones (photos, video: incompressible). */
function payload(bytes: number, compressible: boolean): Buffer {
  if (!compressible) return randomBytes(bytes);
  const words = ['venue', 'guest', 'table', 'photo', 'album', 'bride', 'groom', 'dance', 'cake', 'flowers', 'invoice', 'deposit'];
  const rnd = randomBytes(bytes);
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += `${words[rnd[i % rnd.length]! % words.length]} ${rnd[(i * 7) % rnd.length]} `;
  return Buffer.from(s.slice(0, bytes));
}

async function generate(): Promise<string[]> {
  const marker = path.join(TREE, '.complete');
  if (!existsSync(marker)) {
    await rm(TREE, { recursive: true, force: true });
    const total = GB * 1024 ** 3;
    // 60 % of the bytes in many small files (4–256 KiB), 40 % in a few 64 MiB ones; half compressible.
    let small = 0;
    for (let i = 0; small < total * 0.6; i++) {
      const dir = path.join(TREE, `album-${Math.floor(i / 200)}`);
      if (i % 200 === 0) await mkdir(dir, { recursive: true });
      const size = 4096 + ((i * 7919) % (252 * 1024));
      await writeFile(path.join(dir, `IMG_${i}.${i % 2 ? 'jpg' : 'txt'}`), payload(size, i % 2 === 0));
      small += size;
    }
    await mkdir(path.join(TREE, 'video'), { recursive: true });
    for (let i = 0, big = 0; big < total * 0.4; i++, big += 64 * 1024 ** 2) await writeFile(path.join(TREE, 'video', `clip-${i}.mov`), payload(64 * 1024 ** 2, i % 2 === 0));
    await writeFile(marker, '');
  }
  const files: string[] = [];
  for (const rel of await readdir(TREE, { recursive: true })) if (/IMG_\d+/.test(rel)) files.push(path.join(TREE, rel));
  return files.sort();
}

function timed(cmd: string, args: string[], env: Record<string, string> = {}): { seconds: number; rssMb: number; stdout: string } {
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'KS_RSS_KB=%M', cmd, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  const rss = /KS_RSS_KB=(\d+)/.exec(r.stderr);
  return { seconds, rssMb: rss ? Number(rss[1]) / 1024 : NaN, stdout: r.stdout };
}

async function duBytes(dir: string): Promise<number> {
  let n = 0;
  for (const rel of await readdir(dir, { recursive: true })) {
    const st = await stat(path.join(dir, rel));
    if (st.isFile()) n += st.size;
  }
  return n;
}

export async function runChunkedVsRestic(): Promise<SummaryRow[]> {
  ensureRestic();
  const files = await generate();
  const treeBytes = await duBytes(TREE);
  console.log(`tree: ${(treeBytes / 1024 ** 3).toFixed(2)} GiB, ${files.length} small files + large ones (${TREE})`);
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  const ours = { repo: path.join(WORK, 'ours'), snap: path.join(WORK, 'ours.snapshot') };
  const restic = { repo: path.join(WORK, 'restic'), env: { RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: path.join(WORK, 'restic') } };
  const tsx = path.resolve('node_modules/.bin/tsx');
  const child = path.resolve('bench/chunked-child.ts');
  timed('restic', ['init', '--quiet'], restic.env);

  const oursBackup = () => timed(tsx, [child, 'backup', ours.repo, TREE, ours.snap]);
  const resticBackup = () => timed('restic', ['backup', '--quiet', '--host', 'bench', TREE], restic.env);
  const r1 = { ours: oursBackup(), restic: resticBackup() };
  const stored1 = { ours: await duBytes(ours.repo), restic: await duBytes(restic.repo) };
  const r2 = { ours: oursBackup(), restic: resticBackup() };
  // 1 % of the small files rewritten, and the middle of one large file.
  const changed = files.filter((_, i) => i % 100 === 0);
  for (const f of changed) await writeFile(f, payload((await stat(f)).size, true));
  const r3 = { ours: oursBackup(), restic: resticBackup() };
  const stored3 = { ours: await duBytes(ours.repo), restic: await duBytes(restic.repo) };
  const restoreOurs = path.join(WORK, 'restore-ours');
  const restoreRestic = path.join(WORK, 'restore-restic');
  const r4 = { ours: timed(tsx, [child, 'restore', ours.repo, ours.snap, restoreOurs]), restic: timed('restic', ['restore', 'latest', '--quiet', '--target', restoreRestic], restic.env) };
  await rm(WORK, { recursive: true, force: true });

  const s = (x: number) => `${x.toFixed(1)} s`;
  const mb = (x: number) => `${(x / 1024 ** 2).toFixed(0)} MiB`;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  const rows: Array<[string, string, string, string, boolean | null]> = [
    ['first backup', `${s(r1.ours.seconds)} vs restic ${s(r1.restic.seconds)}`, ratio(r1.ours.seconds, r1.restic.seconds), '≤ 1.2×', r1.ours.seconds <= 1.2 * r1.restic.seconds],
    ['unchanged re-run', `${s(r2.ours.seconds)} vs restic ${s(r2.restic.seconds)}`, `${((r2.ours.seconds / r1.ours.seconds) * 100).toFixed(1)} % of our first run`, '< 10 % of first', r2.ours.seconds < 0.1 * r1.ours.seconds],
    ['1 % changed re-run', `${s(r3.ours.seconds)} vs restic ${s(r3.restic.seconds)}`, ratio(r3.ours.seconds, r3.restic.seconds), '', null],
    ['stored after first', `${mb(stored1.ours)} vs restic ${mb(stored1.restic)}`, ratio(stored1.ours, stored1.restic), '', null],
    ['growth for 1 % change', `${mb(stored3.ours - stored1.ours)} vs restic ${mb(stored3.restic - stored1.restic)}`, `${(((stored3.ours - stored1.ours) / treeBytes) * 100).toFixed(2)} % of the tree`, '< 2 % of tree', stored3.ours - stored1.ours < 0.02 * treeBytes],
    ['full restore', `${s(r4.ours.seconds)} vs restic ${s(r4.restic.seconds)}`, ratio(r4.ours.seconds, r4.restic.seconds), '≤ 1.0×', r4.ours.seconds <= r4.restic.seconds],
    ['peak RSS (max of runs)', `${Math.max(r1.ours.rssMb, r3.ours.rssMb, r4.ours.rssMb).toFixed(0)} MB vs restic ${Math.max(r1.restic.rssMb, r3.restic.rssMb, r4.restic.rssMb).toFixed(0)} MB`, ratio(Math.max(r1.ours.rssMb, r3.ours.rssMb, r4.ours.rssMb), Math.max(r1.restic.rssMb, r3.restic.rssMb, r4.restic.rssMb)), '< 300 MB', Math.max(r1.ours.rssMb, r3.ours.rssMb, r4.ours.rssMb) < 300],
  ];
  for (const [metric, value, rat] of rows) console.log(`${metric.padEnd(24)} ${value.padEnd(40)} ${rat}`);
  return rows.map(([metric, value, rat, target, ok]) => ({ bench: 'chunked', metric, value: `${value} (${rat})`, target, ok }));
}
