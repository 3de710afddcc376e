// keepsake backup run|list|show.
import type { Command } from 'commander';
import { unwrap } from '../client';
import { expectId, resolveStrategy } from '../context';
import { CliError, EXIT } from '../errors';
import { followJob, progressDisplay } from '../follow';
import { BackupJobDocument, BackupJobsDocument, BackupJobUpdatedDocument, TriggerBackupDocument, type CliBackupJobFragment, type JobStatus } from '../generated/graphql';
import { bytes, duration, line, printJson, table, when } from '../output';
import type { Runner } from '../context';

const STATUSES = ['QUEUED', 'RUNNING', 'VERIFYING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

function jobLine(j: CliBackupJobFragment): string {
  const size = j.recoveryPoint ? `, ${bytes(j.recoveryPoint.storedBytes)} stored` : '';
  const failure = j.error ? ` — ${j.errorCode ?? 'ERROR'}: ${j.error}` : '';
  return `backup ${j.id} of ${j.strategy.name}: ${j.status}${j.durationMs != null ? ` in ${duration(j.durationMs)}` : ''}${size}${failure}`;
}

/** 0 when the job succeeded, 1 otherwise: `keepsake backup run prod --follow` can be a CI step. */
export const jobExit = (status: string) => (status === 'SUCCEEDED' ? 0 : EXIT.failed);

export function registerBackups(program: Command, run: Runner): void {
  const backup = program.command('backup').description('backup jobs: run one now, list the history, show one');
  backup
    .command('run <strategy>')
    .description('queue a backup of the strategy (name or id) now')
    .option('-f, --follow', 'show live progress until it ends; exit 1 if it fails')
    .action(run(async (ctx, strategy: string, opts: { follow?: boolean }) => {
      const client = await ctx.client();
      const strategyId = await resolveStrategy(client, strategy);
      const job = unwrap((await client.request(TriggerBackupDocument, { strategyId })).triggerBackup);
      if (!opts.follow) {
        if (ctx.json) return printJson(job);
        line(`queued backup ${job.id} of ${job.strategy.name} (keepsake backup show ${job.id})`);
        return;
      }
      if (!ctx.json) line(`backup ${job.id} of ${job.strategy.name} queued`);
      const read = async () => {
        const r = await client.request(BackupJobDocument, { id: job.id });
        if (r.node?.__typename !== 'BackupJob') throw new CliError('the backup job disappeared', 'NOT_FOUND');
        return r.node as CliBackupJobFragment;
      };
      const events = (async function* () {
        for await (const e of client.subscribe(BackupJobUpdatedDocument, { id: job.id })) yield e.backupJobUpdated;
      })();
      const done = await followJob(events, read, progressDisplay('backup', { quiet: ctx.json }));
      if (ctx.json) printJson(done);
      else line(jobLine(done));
      return jobExit(done.status);
    }));

  backup
    .command('list')
    .description('recent backup jobs, newest first')
    .option('--strategy <strategy>', 'only this strategy (name or id)')
    .option('--status <status>', `only jobs with this status (${STATUSES.join(', ')})`)
    .option('-n, --limit <n>', 'how many', '20')
    .action(run(async (ctx, opts: { strategy?: string; status?: string; limit: string }) => {
      const client = await ctx.client();
      const first = Number(opts.limit);
      if (!Number.isInteger(first) || first < 1 || first > 100) throw new CliError('--limit must be 1 to 100', 'USAGE', { exitCode: EXIT.usage });
      const status = opts.status?.toUpperCase();
      if (status && !STATUSES.includes(status)) throw new CliError(`--status must be one of ${STATUSES.join(', ')}`, 'USAGE', { exitCode: EXIT.usage });
      const strategyId = opts.strategy ? await resolveStrategy(client, opts.strategy) : undefined;
      const jobs = (await client.request(BackupJobsDocument, { first, filter: { strategyId, status: status ? [status as JobStatus] : undefined } })).backupJobs.edges.map((e) => e.node);
      if (ctx.json) return printJson(jobs);
      table(jobs.map((j) => ({
        id: j.id, strategy: j.strategy.name, trigger: j.trigger, status: j.status, started: when(j.startedAt ?? j.queuedAt),
        duration: duration(j.durationMs), size: j.recoveryPoint ? bytes(j.recoveryPoint.storedBytes) : '-', point: j.recoveryPoint?.id ?? (j.errorCode ?? ''),
      })), ['id', 'strategy', 'trigger', 'status', 'started', 'duration', 'size', 'point']);
    }));

  backup
    .command('show <job>')
    .description('one backup job: status, timings, error, its recovery point and copies')
    .action(run(async (ctx, id: string) => {
      const client = await ctx.client();
      const r = await client.request(BackupJobDocument, { id: expectId(id, 'BackupJob', 'backup job') });
      if (r.node?.__typename !== 'BackupJob') throw new CliError('BackupJob not found', 'NOT_FOUND', { type: 'NotFoundError' });
      const j = r.node;
      if (ctx.json) return printJson(j);
      line(jobLine(j));
      line(`  trigger ${j.trigger}, attempt ${j.attempt}, queued ${when(j.queuedAt)}, started ${when(j.startedAt)}, finished ${when(j.finishedAt)}`);
      const p = j.recoveryPoint;
      if (p) {
        line(`  recovery point ${p.id}: taken ${when(p.takenAt)}, ${p.format}, ${p.compression.toLowerCase()}${p.encrypted ? ', encrypted' : ''}, raw ${bytes(p.rawBytes)}, stored ${bytes(p.storedBytes)}`);
        line(`  sha256 ${p.sha256}${p.legalHold ? ', legal hold' : ''}, verified ${when(p.verifiedAt)}, expires ${when(p.expiresAt)}`);
        for (const a of p.artifacts) line(`  copy at ${a.destination.name}: ${a.status}, ${bytes(a.sizeBytes)}`);
      }
    }));
}
