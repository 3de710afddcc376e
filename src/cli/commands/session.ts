// keepsake login / logout: keep the API address and a credential in the user's config directory.
import type { Command } from 'commander';
import { KeepsakeClient } from '../client';
import { forgetCredentials, normaliseUrl, saveCredentials } from '../credentials';
import { CliError, EXIT } from '../errors';
import { WhoamiDocument } from '../generated/graphql';
import { line, printJson } from '../output';
import type { Runner } from '../context';

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8').trim();
}

export function registerSession(program: Command, run: Runner): void {
  program
    .command('login')
    .description('check a token (JWT or API key) against the API and save it, with the URL, under the config directory (mode 0600)')
    .requiredOption('--url <url>', 'the API address, e.g. http://127.0.0.1:4000', process.env.KEEPSAKE_URL)
    .option('--token <token>', 'the credential; default: KEEPSAKE_TOKEN, else read from stdin (keeps it out of shell history)')
    .action(run(async (ctx, opts: { url: string; token?: string }) => {
      const token = opts.token ?? process.env.KEEPSAKE_TOKEN ?? (process.stdin.isTTY ? '' : await readStdin());
      if (!token) throw new CliError('no token: pass --token, set KEEPSAKE_TOKEN or pipe it on stdin', 'NO_TOKEN', { exitCode: EXIT.usage });
      const client = new KeepsakeClient({ ...normaliseUrl(opts.url), token, from: 'environment' });
      try {
        const { viewer } = await client.request(WhoamiDocument, {});
        const file = await saveCredentials(opts.url, token);
        if (ctx.json) printJson({ file, viewer });
        else line(`Signed in to ${viewer.organization.name} (${viewer.organization.slug}) as ${viewer.label}, ${viewer.role}. Saved to ${file}`);
      } finally {
        await client.close();
      }
    }));
  program
    .command('logout')
    .description('remove the saved credential')
    .action(run(async (ctx) => {
      const removed = await forgetCredentials();
      if (ctx.json) printJson({ removed });
      else line(removed ? 'Signed out.' : 'Nothing saved.');
    }));
}
