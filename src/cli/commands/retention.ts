// keepsake retention preview <strategy>.
import type { Command } from 'commander';
import { unwrap } from '../client';
import { resolveStrategy } from '../context';
import { RetentionPreviewDocument } from '../generated/graphql';
import { line, printJson, table, when } from '../output';
import type { Runner } from '../context';

export function registerRetention(program: Command, run: Runner): void {
  program
    .command('retention')
    .description('retention of recovery points')
    .command('preview <strategy>')
    .description('every recovery point of the strategy (name or id): kept or deleted by retention, and why')
    .action(run(async (ctx, strategy: string) => {
      const client = await ctx.client();
      const p = unwrap((await client.request(RetentionPreviewDocument, { strategyId: await resolveStrategy(client, strategy) })).retentionPreview);
      if (ctx.json) return printJson(p);
      line(`${p.strategy.name}: ${p.summary}`);
      line(`keep ${p.keepCount}, delete ${p.deleteCount}; lock ${p.lockProtection}; buckets in ${p.timeZone}`);
      table(p.points.map((x) => ({
        point: x.recoveryPoint.id, taken: when(x.takenAt), decision: x.keep ? 'keep' : 'DELETE',
        why: [...x.reasons, ...(x.blockedBy ? [`blocked: ${x.blockedBy}`] : [])].join(', '),
      })), ['point', 'taken', 'decision', 'why'], '(no recovery points)');
    }));
}
