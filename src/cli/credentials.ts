// Where the CLI finds the API and its credential: KEEPSAKE_URL and KEEPSAKE_TOKEN (a JWT or an API
// key) win; otherwise the file `keepsake login` wrote under the user's config directory
// ($KEEPSAKE_CONFIG_DIR, else $XDG_CONFIG_HOME/keepsake, else ~/.config/keepsake), mode 0600 in a
// 0700 directory since it holds a bearer credential.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { CliError, EXIT } from './errors';

export interface Credentials {
  /** The API's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  graphqlUrl: string;
  /** Where the plain routes live (downloads): the endpoint without /graphql. */
  baseUrl: string;
  token: string;
  from: 'environment' | 'config file';
}

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KEEPSAKE_CONFIG_DIR) return env.KEEPSAKE_CONFIG_DIR;
  return path.join(env.XDG_CONFIG_HOME || path.join(homedir(), '.config'), 'keepsake');
}

export const configFile = (env: NodeJS.ProcessEnv = process.env) => path.join(configDir(env), 'config.json');

/** Accepts the server's address with or without /graphql. */
export function normaliseUrl(raw: string): { graphqlUrl: string; baseUrl: string } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(`KEEPSAKE_URL is not a URL: ${JSON.stringify(raw)}`, 'BAD_URL', { exitCode: EXIT.usage });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(`KEEPSAKE_URL must be http(s): ${raw}`, 'BAD_URL', { exitCode: EXIT.usage });
  const base = u.pathname.replace(/\/+$/, '').replace(/\/graphql$/, '');
  const baseUrl = `${u.origin}${base}`;
  return { baseUrl, graphqlUrl: `${baseUrl}/graphql` };
}

export async function loadCredentials(env: NodeJS.ProcessEnv = process.env): Promise<Credentials> {
  let saved: { url?: string; token?: string } = {};
  try {
    saved = JSON.parse(await readFile(configFile(env), 'utf8')) as typeof saved;
  } catch {
    // No login yet (or an unreadable file): only the environment counts.
  }
  const url = env.KEEPSAKE_URL || saved.url;
  const token = env.KEEPSAKE_TOKEN || saved.token;
  if (!url || !token) {
    throw new CliError('Not signed in: set KEEPSAKE_URL and KEEPSAKE_TOKEN, or run `keepsake login --url <api-url>`', 'NOT_SIGNED_IN', { exitCode: EXIT.auth });
  }
  return { ...normaliseUrl(url), token, from: env.KEEPSAKE_URL || env.KEEPSAKE_TOKEN ? 'environment' : 'config file' };
}

export async function saveCredentials(url: string, token: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = configFile(env);
  await writeFile(file, `${JSON.stringify({ url, token }, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file: tighten an existing one too.
  await chmod(file, 0o600);
  return file;
}

export async function forgetCredentials(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const file = configFile(env);
  const existed = await readFile(file).then(() => true, () => false);
  await rm(file, { force: true });
  return existed;
}
