// The lines `npm start` prints: where the API listens and, with the demo, commands that work as
// pasted (the whole token, and the demo restore with a target URL on the embedded server).
import { encodeGlobalID } from '@pothos/plugin-relay';

export interface BannerInput {
  url: string;
  graphiql: boolean;
  demo?: {
    orgSlug: string;
    token: string;
    strategyName?: string;
    strategyId?: string | null;
    shopDatabase?: string;
    /** The embedded server's superuser URL (its password is the embedded server's fixed one). */
    embeddedAdminUrl?: string;
  };
}

/** A shell-safe single-quoted string. */
const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function bannerLines(b: BannerInput): string[] {
  const { url } = b;
  const lines = [`Keepsake is running: ${url}` + (b.graphiql ? ' (GraphiQL in the browser)' : ''), `WebSocket subscriptions: ${url.replace(/^http/, 'ws')} (send the token as connectionParams.authorization)`];
  const d = b.demo;
  if (!d) return lines;
  const curl = (auth: string, body: string) => `curl -s ${url} -H 'content-type: application/json' -H ${auth} -d ${sq(body)}`;
  lines.push(`Demo organization "${d.orgSlug}", owner token (12 h):`, `  ${d.token}`);
  lines.push(`Try: ${curl(sq(`authorization: Bearer ${d.token}`), JSON.stringify({ query: '{ viewer { label role organization { name } } }' }))}`);
  lines.push(`More tokens: npm run token -- --org ${d.orgSlug} --role VIEWER`);
  if (d.strategyId) {
    const trigger = JSON.stringify({ query: `mutation { triggerBackup(input: { strategyId: "${encodeGlobalID('Strategy', d.strategyId)}" }) { ... on MutationTriggerBackupSuccess { data { id status } } } }` });
    const auth = `"authorization: Bearer $TOKEN"`;
    lines.push(
      `Demo strategy "${d.strategyName}" protects the sample database ${d.shopDatabase}; back it up now:`,
      `  TOKEN=$(npm run -s token -- --org ${d.orgSlug} --role OWNER)`,
      `  ${curl(auth, trigger)}`,
    );
    if (d.embeddedAdminUrl) {
      // A new database name each time it is pasted (the shell fills in the time).
      const target = new URL(d.embeddedAdminUrl);
      target.pathname = `/${d.shopDatabase}_restored_`;
      const targetUrl = `${target.toString()}'"$(date +%s)"'`;
      const newest = JSON.stringify({ query: '{ recoveryPoints(first: 1) { edges { node { id takenAt } } } }' });
      const restoreQuery =
        'mutation($point: ID!, $url: String!) { restoreRecoveryPoint(input: { recoveryPointId: $point, targetKind: NEW_DATABASE, connectionUrl: $url }) { __typename ... on MutationRestoreRecoveryPointSuccess { data { id status } } ... on Error { message } } }';
      const body = `{"query":${JSON.stringify(restoreQuery)},"variables":{"point":"'"$POINT"'","url":"${targetUrl}"}}`;
      lines.push(
        `Then restore the newest point into a new database on the embedded server:`,
        `  POINT=$(${curl(auth, newest)} | sed -E 's/.*"id":"([^"]+)".*/\\1/')`,
        `  curl -s ${url} -H 'content-type: application/json' -H ${auth} -d '${body}'`,
      );
    }
  }
  return lines;
}
