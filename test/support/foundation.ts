// Small helpers shared by the foundation tests: typed-error payloads of mutations, global ids,
// a superuser connection (bypasses RLS, to look at what really is in the database) and tokens.
import pg from 'pg';
import { expect } from 'vitest';
import { signDevToken } from '../../src/auth/jwt';
import type { TestApp } from './app';

export interface Payload {
  __typename: string;
  message?: string;
  code?: string;
  issues?: Array<{ path: string[]; message: string }>;
  data?: Record<string, unknown>;
}

export const ERRORS = `__typename ... on Error { message code } ... on ValidationError { issues { path message } }`;

/** Runs one mutation; returns its payload (a success object or a typed error) and the raw response. */
export async function mutate(t: TestApp, token: string | null, name: string, inputType: string, input: Record<string, unknown>, fields: string) {
  const success = `Mutation${name[0]!.toUpperCase()}${name.slice(1)}Success`;
  const r = await t.gql(token, `mutation($input: ${inputType}!) { ${name}(input: $input) { ${ERRORS} ... on ${success} { data { ${fields} } } } }`, { input });
  return { payload: (r.data?.[name] ?? null) as Payload | null, errors: r.errors, response: r, json: JSON.stringify(r) };
}

/** The `data` of a successful mutation; fails the test with the whole response otherwise. */
export async function mutateOk(t: TestApp, token: string, name: string, inputType: string, input: Record<string, unknown>, fields: string) {
  const r = await mutate(t, token, name, inputType, input, fields);
  expect(r.payload?.__typename, r.json).toMatch(/Success$/);
  return r.payload!.data!;
}

export const rawId = (gid: string) => Buffer.from(gid, 'base64').toString('utf8').split(':')[1]!;

export async function superuser(t: TestApp): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: t.db.url });
  await c.connect();
  return c;
}

/** A token signed with the app's development secret, for any subject and org claim. */
export function tokenFor(t: TestApp, sub: string, org: string | undefined, expiresIn: string | number = '1h'): Promise<string> {
  const { jwt } = t.config;
  if (jwt.kind !== 'hs256') throw new Error('tests sign HS256 tokens');
  return signDevToken({ secret: jwt.secret, issuer: jwt.issuer, audience: jwt.audience, sub, org, expiresIn });
}

export const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
