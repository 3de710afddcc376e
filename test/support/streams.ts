// Subscription clients for tests: GraphQL over SSE (plain fetch, `Accept: text/event-stream`)
// and over WebSocket (a real graphql-ws client on the `ws` package). Both collect results into
// a queue the test awaits with a timeout, so nothing depends on sleeps.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface StreamResult {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

export class ResultQueue {
  private readonly items: StreamResult[] = [];
  private waiter: (() => void) | undefined;
  closed = false;
  closeReason: unknown;

  push(item: StreamResult) {
    this.items.push(item);
    this.waiter?.();
  }

  close(reason?: unknown) {
    this.closed = true;
    this.closeReason = reason;
    this.waiter?.();
  }

  /** The next result, or the first one matching `accept`; rejects after timeoutMs. */
  async next(timeoutMs = 10_000, accept: (r: StreamResult) => boolean = () => true): Promise<StreamResult> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.items.findIndex(accept);
      if (i >= 0) return this.items.splice(i, 1)[0]!;
      if (this.closed) throw new Error(`stream closed: ${String(this.closeReason)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a subscription result');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** Everything received and not yet taken. */
  drain(): StreamResult[] {
    return this.items.splice(0);
  }
}

export interface Stream {
  status: number;
  results: ResultQueue;
  close(): Promise<void>;
}

/** A subscription over SSE; resolves once the response headers arrived (the subscription is live). */
export async function sseSubscribe(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<Stream> {
  const abort = new AbortController();
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: abort.signal,
  });
  const results = new ResultQueue();
  const pump = (async () => {
    if (!res.headers.get('content-type')?.includes('text/event-stream')) {
      results.push((await res.json()) as StreamResult);
      results.close('not an event stream');
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = block.split('\n');
        const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim();
        const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
        if (event === 'complete') results.close('complete');
        else if (data) results.push(JSON.parse(data) as StreamResult);
      }
    }
    results.close('ended');
  })().catch((err: unknown) => results.close(err));
  return {
    status: res.status,
    results,
    close: async () => {
      abort.abort();
      await pump;
    },
  };
}

/** A subscription over graphql-ws; `connectionParams` carry the credential like a browser client. */
export function wsSubscribe(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}): Stream {
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
  const results = new ResultQueue();
  client.subscribe({ query, variables }, {
    next: (value) => results.push(value as StreamResult),
    error: (err) => {
      // An operation refused by the server arrives as a list of GraphQL errors; a closed socket as a CloseEvent.
      if (Array.isArray(err)) {
        results.push({ errors: err as StreamResult['errors'] });
        results.close('error');
      } else {
        results.close(err instanceof Error ? err.message : `closed ${(err as { code?: number }).code ?? ''} ${(err as { reason?: string }).reason ?? ''}`);
      }
    },
    complete: () => results.close('complete'),
  });
  return { status: 101, results, close: () => client.dispose() as Promise<void> };
}
