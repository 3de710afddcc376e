// What every command gets: the output mode and a client (created on first use, so `--help` and
// usage errors need no credentials), plus the lookups several commands share.
import { KeepsakeClient } from './client';
import { loadCredentials } from './credentials';
import { CliError } from './errors';
import { StrategiesDocument, type StrategiesQuery } from './generated/graphql';

export interface CommandContext {
  json: boolean;
  client(): Promise<KeepsakeClient>;
}

/** Runs a command body with a context; its return value is the exit code (default 0). */
export type Runner = <A extends unknown[]>(fn: (ctx: CommandContext, ...args: A) => Promise<number | void>) => (...args: A) => Promise<void>;

export type StrategyNode = StrategiesQuery['strategies']['edges'][number]['node'];

/** The type a global id names ('Strategy', 'RecoveryPoint', …), or null for anything else. */
export function globalIdType(id: string): string | null {
  if (!/^[A-Za-z0-9+/]+=*$/.test(id)) return null;
  const decoded = Buffer.from(id, 'base64').toString('utf8');
  const m = /^([A-Za-z]+):[0-9a-f-]{36}$/i.exec(decoded);
  return m ? m[1]! : null;
}

export function expectId(id: string, type: string, what: string): string {
  if (globalIdType(id) !== type) throw new CliError(`${JSON.stringify(id)} is not a ${what} id (see the ID column of the list commands)`, 'BAD_ID', { exitCode: 2 });
  return id;
}

export async function allStrategies(client: KeepsakeClient): Promise<StrategyNode[]> {
  const out: StrategyNode[] = [];
  let after: string | null | undefined;
  do {
    const page = (await client.request(StrategiesDocument, { after })).strategies;
    out.push(...page.edges.map((e) => e.node));
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : undefined;
  } while (after);
  return out;
}

/** A strategy by id or by name (exact, then case-insensitive when that is unambiguous). */
export async function resolveStrategy(client: KeepsakeClient, ref: string): Promise<string> {
  if (globalIdType(ref) === 'Strategy') return ref;
  const all = await allStrategies(client);
  const exact = all.filter((s) => s.name === ref);
  const loose = exact.length ? exact : all.filter((s) => s.name.toLowerCase() === ref.toLowerCase());
  if (loose.length === 1) return loose[0]!.id;
  if (loose.length > 1) throw new CliError(`${loose.length} strategies are called ${JSON.stringify(ref)}: use its id`, 'AMBIGUOUS');
  throw new CliError(`no strategy called ${JSON.stringify(ref)} (keepsake strategies list)`, 'NOT_FOUND', { type: 'NotFoundError' });
}

export function newContext(json: boolean): CommandContext & { close(): Promise<void> } {
  let client: KeepsakeClient | undefined;
  return {
    json,
    async client() {
      client ??= new KeepsakeClient(await loadCredentials());
      return client;
    },
    async close() {
      await client?.close();
    },
  };
}
