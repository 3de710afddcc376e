// keepsake sources|destinations|strategies list.
import type { Command } from 'commander';
import type { KeepsakeClient } from '../client';
import { allStrategies } from '../context';
import { DestinationsDocument, SourcesDocument, type DestinationsQuery, type SourcesQuery } from '../generated/graphql';
import { bytes, printJson, table, when } from '../output';
import type { Runner } from '../context';

async function allPages<N>(fetchPage: (after?: string | null) => Promise<{ edges: Array<{ node: N }>; pageInfo: { hasNextPage: boolean; endCursor?: string | null } }>): Promise<N[]> {
  const out: N[] = [];
  let after: string | null | undefined;
  do {
    const page = await fetchPage(after);
    out.push(...page.edges.map((e) => e.node));
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : undefined;
  } while (after);
  return out;
}

const sources = (c: KeepsakeClient) => allPages<SourcesQuery['sources']['edges'][number]['node']>(async (after) => (await c.request(SourcesDocument, { after })).sources);
const destinations = (c: KeepsakeClient) => allPages<DestinationsQuery['destinations']['edges'][number]['node']>(async (after) => (await c.request(DestinationsDocument, { after })).destinations);

export function registerLists(program: Command, run: Runner): void {
  program.command('sources').description('what is backed up').command('list').description('list the sources').action(run(async (ctx) => {
    const rows = await sources(await ctx.client());
    if (ctx.json) return printJson(rows);
    table(rows.map((s) => ({ id: s.id, name: s.name, kind: s.kind, what: s.kind === 'POSTGRES' ? `${s.connectionHint ?? ''} (${s.dumpFormat.toLowerCase()})` : (s.path ?? '') })), ['id', 'name', 'kind', 'what']);
  }));
  program.command('destinations').description('where copies go').command('list').description('list the destinations').action(run(async (ctx) => {
    const rows = await destinations(await ctx.client());
    if (ctx.json) return printJson(rows);
    table(rows.map((d) => ({
      id: d.id, name: d.name, kind: d.kind, status: d.status, used: bytes(d.usedBytes),
      where: d.kind === 'S3' ? `${d.endpoint ?? 's3'}/${d.bucket ?? ''}/${d.prefix ?? ''}` : (d.path ?? ''),
    })), ['id', 'name', 'kind', 'status', 'used', 'where']);
  }));
  program.command('strategies').description('what is backed up where, and when').command('list').description('list the strategies').action(run(async (ctx) => {
    const rows = await allStrategies(await ctx.client());
    if (ctx.json) return printJson(rows);
    table(rows.map((s) => ({
      id: s.id, name: s.name, status: s.status, schedule: `${s.cron} ${s.timeZone}`, source: s.source.name,
      destinations: s.destinations.map((d) => d.name).join(','), last: when(s.lastRunAt), next: when(s.nextRunAt),
    })), ['id', 'name', 'status', 'schedule', 'source', 'destinations', 'last', 'next']);
  }));
}
