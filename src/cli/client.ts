// The CLI's GraphQL client: typed documents generated from operations/*.graphql, sent over HTTP
// with the bearer credential; subscriptions over graphql-ws on the same address. Every failure
// becomes a CliError carrying the API's own words: a typed error result (NotFoundError,
// ValidationError with field issues, …) or a GraphQL error with its extensions code.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Credentials } from './credentials';
import { CliError, EXIT } from './errors';

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; requestId?: string } }>;
}

function fromGraphQLErrors(errors: NonNullable<GraphQLResponse<unknown>['errors']>): CliError {
  const first = errors[0]!;
  const code = first.extensions?.code ?? 'GRAPHQL_ERROR';
  const suffix = first.extensions?.requestId ? ` (request id ${first.extensions.requestId})` : '';
  return new CliError(`${errors.map((e) => e.message).join('; ')}${suffix}`, code, { type: 'GraphQLError', exitCode: code === 'UNAUTHENTICATED' ? EXIT.auth : EXIT.failed });
}

export class KeepsakeClient {
  private ws: Client | undefined;

  constructor(readonly credentials: Credentials) {}

  get authorization(): string {
    return `Bearer ${this.credentials.token}`;
  }

  async request<T, V>(doc: TypedDocumentNode<T, V>, variables: V): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.credentials.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: this.authorization },
        body: JSON.stringify({ query: print(doc), variables }),
      });
    } catch (err) {
      throw unreachable(this.credentials.graphqlUrl, err);
    }
    let body: GraphQLResponse<T>;
    try {
      body = (await res.json()) as GraphQLResponse<T>;
    } catch {
      throw new CliError(`${this.credentials.graphqlUrl} answered ${res.status} without a GraphQL response: is KEEPSAKE_URL the Keepsake API?`, 'BAD_RESPONSE');
    }
    if (body.errors?.length) throw fromGraphQLErrors(body.errors);
    if (!body.data) throw new CliError(`empty response (HTTP ${res.status})`, 'BAD_RESPONSE');
    return body.data;
  }

  /** Yields every event of a subscription until it completes; GraphQL errors become CliErrors. */
  async *subscribe<T, V>(doc: TypedDocumentNode<T, V>, variables: V): AsyncGenerator<T> {
    this.ws ??= createClient({
      url: this.credentials.graphqlUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: this.authorization },
      retryAttempts: 3,
      lazy: true,
    });
    const iterator = this.ws.iterate<T>({ query: print(doc), variables: variables as Record<string, unknown> });
    try {
      for await (const result of iterator) {
        if (result.errors?.length) throw fromGraphQLErrors(result.errors as NonNullable<GraphQLResponse<unknown>['errors']>);
        if (result.data) yield result.data as T;
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      // graphql-ws rejects with the close event or an array of GraphQL errors.
      if (Array.isArray(err)) throw fromGraphQLErrors(err as NonNullable<GraphQLResponse<unknown>['errors']>);
      const reason = (err as { reason?: string; message?: string })?.reason || (err as Error)?.message || String(err);
      throw new CliError(`the live progress connection failed: ${reason}`, 'SUBSCRIPTION_FAILED');
    } finally {
      await iterator.return?.();
    }
  }

  async close(): Promise<void> {
    await this.ws?.dispose();
  }
}

export function unreachable(url: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return new CliError(`cannot reach ${url}: ${cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err)}`, 'UNREACHABLE', { exitCode: EXIT.unreachable });
}

type Payload = { __typename?: string; data?: unknown; message?: string; code?: string; issues?: Array<{ path: readonly string[]; message: string }> };

/** The data of a Success result, or the typed error result as a CliError. */
export function unwrap<P extends Payload>(payload: P): NonNullable<Extract<P, { data: unknown }>['data']> {
  if (payload.__typename?.endsWith('Success')) return payload.data as NonNullable<Extract<P, { data: unknown }>['data']>;
  const exitCode = payload.code === 'UNAUTHENTICATED' ? EXIT.auth : EXIT.failed;
  throw new CliError(payload.message ?? 'the API refused the request', payload.code ?? 'ERROR', { type: payload.__typename, issues: payload.issues, exitCode });
}
