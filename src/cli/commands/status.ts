// keepsake status (the health banner) and keepsake stats.
import type { Command } from 'commander';
import { allStrategies, resolveStrategy } from '../context';
import { CliError } from '../errors';
import { StatsDocument, StatusDocument } from '../generated/graphql';
import { ago, bytes, line, printJson, when } from '../output';
import type { Runner } from '../context';

export function registerStatus(program: Command, run: Runner): void {
  program
    .command('status')
    .description("today's backups at a glance: ran today, failing strategies, missed runs, running jobs, next run")
    .action(run(async (ctx) => {
      const client = await ctx.client();
      const { viewer, backupHealth: h } = await client.request(StatusDocument, {});
      const failing = h.failingStrategyIds.length
        ? (await allStrategies(client)).filter((s) => h.failingStrategyIds.includes(s.id)).map((s) => ({ id: s.id, name: s.name }))
        : [];
      // green: nothing failing or missed, and every run scheduled so far today happened.
      const level = failing.length ? 'red' : h.missedLast24h > 0 || h.ranToday < h.scheduledToday ? 'amber' : 'green';
      if (ctx.json) return printJson({ level, organization: viewer.organization, viewer: { label: viewer.label, role: viewer.role }, ...h, failingStrategies: failing });
      const mark = { green: 'OK  ', amber: 'WARN', red: 'FAIL' }[level];
      line(`${viewer.organization.name} (${viewer.organization.slug}) — ${viewer.label}, ${viewer.role}`);
      line(`${mark} backups today: ${h.ranToday} ran of ${h.scheduledToday} scheduled; last success ${when(h.lastSuccessfulBackupAt)} (${ago(h.lastSuccessfulBackupAt)})`);
      line(`     failing strategies: ${failing.length ? failing.map((f) => f.name).join(', ') : 'none'} · missed in 24 h: ${h.missedLast24h} · running now: ${h.runningJobs} · next run: ${when(h.nextRunAt)}`);
    }));

  program
    .command('stats')
    .description('recovery points: how many, how much stored, oldest and newest')
    .option('--strategy <strategy>', 'one strategy (name or id)')
    .action(run(async (ctx, opts: { strategy?: string }) => {
      const client = await ctx.client();
      const strategyId = opts.strategy ? await resolveStrategy(client, opts.strategy) : undefined;
      const { backupStats: s } = await client.request(StatsDocument, { strategyId });
      if (!s) throw new CliError('strategy not found', 'NOT_FOUND', { type: 'NotFoundError' });
      if (ctx.json) return printJson(s);
      const saved = Number(s.totalRawBytes) > 0 ? `${Math.round((1 - Number(s.totalStoredBytes) / Number(s.totalRawBytes)) * 100)} %` : '-';
      line(`recovery points  ${s.count}`);
      line(`stored           ${bytes(s.totalStoredBytes)} (raw ${bytes(s.totalRawBytes)}, compression saved ${saved})`);
      line(`average point    ${bytes(s.averageStoredBytes)}`);
      line(`oldest / newest  ${when(s.oldestAt)} / ${when(s.newestAt)}`);
    }));
}
