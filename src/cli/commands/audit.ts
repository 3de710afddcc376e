// keepsake audit verify [--anchor seq:hash].
import type { Command } from 'commander';
import { CliError, EXIT } from '../errors';
import { AuditVerifyDocument } from '../generated/graphql';
import { line, printJson, when } from '../output';
import type { Runner } from '../context';

export function parseAnchor(raw: string): { seq: number; hash: string } {
  const m = /^(\d+):([0-9a-f]{64})$/i.exec(raw.trim());
  if (!m) throw new CliError('--anchor must be <seq>:<sha256 hex>, as printed by an earlier `keepsake audit verify`', 'USAGE', { exitCode: EXIT.usage });
  return { seq: Number(m[1]), hash: m[2]!.toLowerCase() };
}

export function registerAudit(program: Command, run: Runner): void {
  program
    .command('audit')
    .description('the audit trail')
    .command('verify')
    .description('recompute the hash chain of the audit trail; exit 1 when it is broken')
    .option('--anchor <seq:hash>', 'a head kept from an earlier run: also prove nothing up to it was removed or rewritten')
    .action(run(async (ctx, opts: { anchor?: string }) => {
      const anchor = opts.anchor ? parseAnchor(opts.anchor) : undefined;
      const client = await ctx.client();
      const r = (await client.request(AuditVerifyDocument, { anchor })).verifyAuditChain;
      if (ctx.json) printJson(r);
      else if (r.valid) {
        line(`audit chain valid: ${r.checkedEvents} events checked${anchor ? `, anchor ${anchor.seq} found unchanged` : ''}`);
        if (r.head) line(`head ${r.head.seq}:${r.head.hash} (${when(r.head.createdAt)}): keep it elsewhere and check later with --anchor ${r.head.seq}:${r.head.hash}`);
      } else {
        line(`audit chain BROKEN at seq ${r.firstBrokenSeq ?? '?'}: ${r.reason ?? 'unknown reason'} (${r.checkedEvents} events checked)`);
      }
      return r.valid ? 0 : EXIT.failed;
    }));
}
