// keepsake points list|delete|hold|release|download.
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Command } from 'commander';
import { unreachable, unwrap, type KeepsakeClient } from '../client';
import { expectId, resolveStrategy } from '../context';
import { CliError, EXIT } from '../errors';
import { CreateDownloadLinkDocument, DeletePointDocument, HoldPointDocument, PointsDocument, ReleasePointDocument, type CliPointFragment } from '../generated/graphql';
import { bytes, line, printJson, table, when } from '../output';
import type { Runner } from '../context';

const pointLine = (p: CliPointFragment) =>
  `recovery point ${p.id} of ${p.strategy?.name ?? '-'} taken ${when(p.takenAt)}: ${p.legalHold ? `legal hold (${p.legalHoldReason ?? ''})` : 'no legal hold'}`;

interface DownloadOptions { path?: string; output?: string; force?: boolean; link?: boolean; expires?: string }

async function download(client: KeepsakeClient, id: string, opts: DownloadOptions) {
  const { baseUrl } = client.credentials;
  const url = `${baseUrl}/recovery-points/${encodeURIComponent(id)}/download${opts.path ? `?path=${encodeURIComponent(opts.path)}` : ''}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: client.authorization } });
  } catch (err) {
    throw unreachable(url, err);
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    const code = body?.error?.code ?? `HTTP_${res.status}`;
    throw new CliError(body?.error?.message ?? `the download answered ${res.status}`, code, { type: 'DownloadError', exitCode: res.status === 401 ? EXIT.auth : EXIT.failed });
  }
  const disposition = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'keepsake-download';
  const expected = res.headers.get('content-length');
  const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  const incomplete = (why: string) =>
    new CliError(`the download did not complete (${why}): the server stops sending when a copy fails its check mid-stream, so nothing was kept`, 'DOWNLOAD_INCOMPLETE');
  if (opts.output === '-') {
    try {
      await pipeline(body, process.stdout);
    } catch (err) {
      throw incomplete((err as Error).message);
    }
    return { file: '-', bytes: null, filename: disposition };
  }
  const out = opts.output ?? disposition;
  if (!opts.force && (await stat(out).then(() => true, () => false))) throw new CliError(`${out} exists (use --force to replace it)`, 'EXISTS', { exitCode: EXIT.usage });
  // Written beside the target and renamed only when complete: a failed download leaves no file
  // that looks like a backup. 0600: it is the organization's data, decrypted.
  const part = `${out}.part`;
  try {
    await pipeline(body, createWriteStream(part, { mode: 0o600 }));
    const size = (await stat(part)).size;
    if (expected !== null && Number(expected) !== size) throw new Error(`received ${size} of ${expected} bytes`);
    await rename(part, out);
    return { file: out, bytes: size, filename: disposition };
  } catch (err) {
    await rm(part, { force: true });
    throw incomplete((err as Error).message);
  }
}

export function registerPoints(program: Command, run: Runner): void {
  const points = program.command('points').description('recovery points: list, delete, legal hold, download');
  points
    .command('list')
    .description('recovery points, newest first')
    .option('--strategy <strategy>', 'only this strategy (name or id)')
    .option('-n, --limit <n>', 'how many', '20')
    .action(run(async (ctx, opts: { strategy?: string; limit: string }) => {
      const client = await ctx.client();
      const strategyId = opts.strategy ? await resolveStrategy(client, opts.strategy) : undefined;
      const rows = (await client.request(PointsDocument, { strategyId, first: Math.min(100, Math.max(1, Number(opts.limit) || 20)) })).recoveryPoints.edges.map((e) => e.node);
      if (ctx.json) return printJson(rows);
      table(rows.map((p) => ({
        id: p.id, strategy: p.strategy?.name ?? '-', taken: when(p.takenAt), format: p.format, raw: bytes(p.rawBytes), stored: bytes(p.storedBytes),
        verified: when(p.verifiedAt), hold: p.legalHold ? 'hold' : '', expires: when(p.expiresAt),
      })), ['id', 'strategy', 'taken', 'format', 'raw', 'stored', 'verified', 'hold', 'expires']);
    }));
  points
    .command('delete <point>')
    .description('delete every copy of the point, then the point (ADMIN+); refused under legal hold or the organization lock')
    .option('--yes', 'really delete (required)')
    .option('--override', 'OWNER: delete a point the governance lock still protects (audited)')
    .action(run(async (ctx, id: string, opts: { yes?: boolean; override?: boolean }) => {
      expectId(id, 'RecoveryPoint', 'recovery point');
      if (!opts.yes) throw new CliError('deleting a recovery point cannot be undone: add --yes', 'CONFIRMATION_REQUIRED', { exitCode: EXIT.usage });
      const client = await ctx.client();
      const r = unwrap((await client.request(DeletePointDocument, { id, override: opts.override })).deleteRecoveryPoint);
      if (ctx.json) return printJson(r);
      line(r.completed ? `deleted recovery point ${r.recoveryPointId} (${r.deletedArtifacts} copies)` : `recovery point ${r.recoveryPointId} marked for deletion; not yet deleted: ${r.failures.map((f) => `${f.destination?.name ?? '?'}: ${f.error}`).join('; ')}`);
      return r.completed ? 0 : EXIT.failed;
    }));
  points
    .command('hold <point>')
    .description('put the point under legal hold (ADMIN+): nobody and no retention deletes it until released')
    .requiredOption('--reason <text>', 'why it must be kept (case, request, ticket)')
    .action(run(async (ctx, id: string, opts: { reason: string }) => {
      const client = await ctx.client();
      const p = unwrap((await client.request(HoldPointDocument, { id: expectId(id, 'RecoveryPoint', 'recovery point'), reason: opts.reason })).setLegalHold);
      if (ctx.json) return printJson(p);
      line(pointLine(p));
    }));
  points
    .command('release <point>')
    .description('release the legal hold (ADMIN+)')
    .action(run(async (ctx, id: string) => {
      const client = await ctx.client();
      const p = unwrap((await client.request(ReleasePointDocument, { id: expectId(id, 'RecoveryPoint', 'recovery point') })).releaseLegalHold);
      if (ctx.json) return printJson(p);
      line(pointLine(p));
    }));
  points
    .command('download <point>')
    .description('download the point decrypted and decompressed (the pg_dump file or a tar), checked against its SHA-256 (OPERATOR+)')
    .option('--path <path>', 'directory backups: one file, or a folder as a tar')
    .option('-o, --output <file>', 'where to write it (- for stdout); default: the name the server suggests')
    .option('--force', 'replace an existing file')
    .option('--link', 'print a short-lived signed link instead of downloading')
    .option('--expires <seconds>', 'with --link: how long it stays valid (30 to 3600)', '900')
    .action(run(async (ctx, id: string, opts: DownloadOptions) => {
      const client = await ctx.client();
      expectId(id, 'RecoveryPoint', 'recovery point');
      if (opts.link) {
        const l = unwrap((await client.request(CreateDownloadLinkDocument, { input: { recoveryPointId: id, path: opts.path, expiresInSeconds: Number(opts.expires) } })).createDownloadLink);
        const url = `${client.credentials.baseUrl}${l.url}`;
        if (ctx.json) return printJson({ url, expiresAt: l.expiresAt });
        line(url);
        if (process.stdout.isTTY) process.stderr.write(`valid until ${when(l.expiresAt)}; anyone holding it can download the point\n`);
        return;
      }
      const r = await download(client, id, opts);
      if (ctx.json) return printJson(r);
      if (r.file !== '-') line(`wrote ${r.file} (${bytes(r.bytes)}), checked against the catalog SHA-256`);
    }));
}
