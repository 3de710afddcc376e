// keepsake restore <point> --to … and keepsake verify <strategy|point>.
import type { Command } from 'commander';
import { unwrap } from '../client';
import { expectId, globalIdType, resolveStrategy } from '../context';
import { CliError, EXIT } from '../errors';
import { followJob, progressDisplay } from '../follow';
import {
  RecoveryJobDocument, RecoveryJobUpdatedDocument, RestorePointDocument, VerifyPointDocument, VerifyStrategyDocument,
  type CliRecoveryJobFragment, type RestoreRecoveryPointInput,
} from '../generated/graphql';
import { line, printJson, when } from '../output';
import { jobExit } from './backups';
import type { Runner } from '../context';

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

function restoreLine(j: CliRecoveryJobFragment): string {
  const target = j.targetKind === 'DIRECTORY' ? j.targetPath : `database ${j.targetDatabase ?? ''}`;
  return `restore ${j.id} into ${target}: ${j.status}${j.error ? ` — ${j.errorCode ?? 'ERROR'}: ${j.error}` : ''}`;
}

export function registerRestores(program: Command, run: Runner): void {
  program
    .command('restore <point>')
    .description('restore a recovery point into a new database (or, with --overwrite, an existing one) or an empty directory')
    .requiredOption('--to <url|path>', 'postgresql://user:pass@host/db, or an absolute directory on the worker')
    .option('--tables <names>', 'only these tables (comma-separated, repeatable)', list)
    .option('--schemas <names>', 'only these schemas (comma-separated, repeatable)', list)
    .option('--paths <paths>', 'directory backups: only these relative paths (comma-separated, repeatable)', list)
    .option('--overwrite', 'the database exists: replace the objects in the dump (in one transaction)')
    .option('--jobs <n>', 'pg_restore --jobs into a new database')
    .option('-f, --follow', 'show live progress until it ends; exit 1 if it fails')
    .action(run(async (ctx, point: string, opts: { to: string; tables?: string[]; schemas?: string[]; paths?: string[]; overwrite?: boolean; jobs?: string; follow?: boolean }) => {
      const client = await ctx.client();
      const isDb = /^postgres(ql)?:\/\//i.test(opts.to);
      const input: RestoreRecoveryPointInput = {
        recoveryPointId: expectId(point, 'RecoveryPoint', 'recovery point'),
        targetKind: isDb ? (opts.overwrite ? 'EXISTING_DATABASE' : 'NEW_DATABASE') : 'DIRECTORY',
        ...(isDb ? { connectionUrl: opts.to } : { path: opts.to }),
        ...(opts.overwrite ? { confirmOverwrite: true } : {}),
        tables: opts.tables, schemas: opts.schemas, paths: opts.paths,
        ...(opts.jobs ? { jobs: Number(opts.jobs) } : {}),
      };
      const job = unwrap((await client.request(RestorePointDocument, { input })).restoreRecoveryPoint);
      if (!opts.follow) {
        if (ctx.json) return printJson(job);
        return line(`queued ${restoreLine(job)}`);
      }
      const read = async () => {
        const r = await client.request(RecoveryJobDocument, { id: job.id });
        if (r.node?.__typename !== 'RecoveryJob') throw new CliError('the restore job disappeared', 'NOT_FOUND');
        return r.node as CliRecoveryJobFragment;
      };
      const events = (async function* () {
        for await (const e of client.subscribe(RecoveryJobUpdatedDocument, { id: job.id })) yield e.recoveryJobUpdated;
      })();
      const done = await followJob(events, read, progressDisplay('restore', { quiet: ctx.json }));
      if (ctx.json) printJson(done);
      else line(restoreLine(done));
      return jobExit(done.status);
    }));

  program
    .command('verify <target>')
    .description('queue a restore test of a strategy (name or id: its newest point, or --random one of the 5 newest) or of one recovery point')
    .option('--random', 'a strategy: test one of its 5 newest points at random instead of the newest')
    .action(run(async (ctx, target: string, opts: { random?: boolean }) => {
      const client = await ctx.client();
      const v = globalIdType(target) === 'RecoveryPoint'
        ? unwrap((await client.request(VerifyPointDocument, { recoveryPointId: target })).verifyRecoveryPoint)
        : unwrap((await client.request(VerifyStrategyDocument, { strategyId: await resolveStrategy(client, target), pick: opts.random ? 'RANDOM_RECENT' : 'NEWEST' })).verifyStrategy);
      if (ctx.json) return printJson(v);
      line(`queued restore test ${v.id} of ${v.strategy?.name ?? 'the point'}: point ${v.recoveryPoint?.id ?? '-'} taken ${when(v.recoveryPoint?.takenAt)}, ${v.status}`);
      return v.status === 'FAILED' ? EXIT.failed : 0;
    }));
}
