// The dashboard's only way in: the public GraphQL API over HTTP, and graphql-ws for live events.
import { createClient, type Client } from 'graphql-ws';

const TOKEN_KEY = 'keepsake.token';

export const token = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (t: string) => localStorage.setItem(TOKEN_KEY, t),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token.get() ?? ''}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (body.errors?.length) throw new ApiError(body.errors[0]!.message, body.errors[0]!.extensions?.code);
  return body.data as T;
}

/** A mutation's typed result: the success's `data`, or the typed error's message thrown. */
export function unwrap<T>(result: { __typename?: string; data?: T; message?: string }): T {
  if (result.data === undefined) throw new ApiError(result.message ?? 'The request was refused', result.__typename);
  return result.data;
}

let ws: Client | null = null;
export function socket(): Client {
  if (!ws) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
    ws = createClient({ url, connectionParams: () => ({ authorization: `Bearer ${token.get() ?? ''}` }), retryAttempts: 20 });
  }
  return ws;
}
export function closeSocket(): void {
  void ws?.dispose();
  ws = null;
}

export interface JobEvent { kind: string; jobId: string; status: string | null; percent: number | null; bytesDone: string | null; bytesTotal: string | null }

/** Every job change in the organization; returns the unsubscribe function. */
export function onJobEvents(fn: (e: JobEvent) => void): () => void {
  return socket().subscribe<{ jobEvents: JobEvent }>(
    { query: 'subscription { jobEvents { kind jobId status percent bytesDone bytesTotal } }' },
    { next: (m) => m.data && fn(m.data.jobEvents), error: () => undefined, complete: () => undefined },
  );
}

export type Role = 'OWNER' | 'ADMIN' | 'OPERATOR' | 'AUDITOR' | 'VIEWER';
export const canOperate = (role: Role) => role === 'OWNER' || role === 'ADMIN' || role === 'OPERATOR';

export function bytes(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  let n = Number(v);
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}
export function ago(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const m = Math.round((Date.now() - new Date(iso).getTime()) / 60000);
  if (m < 1) return 'just now';
  if (m < 120) return `${m} min ago`;
  const h = Math.round(m / 60);
  return h < 48 ? `${h} h ago` : `${Math.round(h / 24)} days ago`;
}
