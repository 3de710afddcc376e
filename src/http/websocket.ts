// graphql-ws on the GraphQL endpoint of the HTTP server, running each operation through yoga's
// envelop so plugins, context and validation are the same as over HTTP and SSE.
import type { Server } from 'node:http';
import { GraphQLError } from 'graphql';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { KeepsakeYoga } from './yoga';

export interface WebSocketEndpoint {
  /** Ends every subscription, closes every socket and the server. */
  close(): Promise<void>;
}

export function attachWebSocketServer(server: Server, yoga: KeepsakeYoga): WebSocketEndpoint {
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  type Enveloped = ReturnType<typeof yoga.getEnveloped>;
  type WsArgs = { rootValue: { execute: Enveloped['execute']; subscribe: Enveloped['subscribe'] } };
  const wsCleanup = useServer(
    {
      execute: (args) => (args as unknown as WsArgs).rootValue.execute(args),
      subscribe: (args) => (args as unknown as WsArgs).rootValue.subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          connectionParams: ctx.connectionParams,
        });
        let document: ReturnType<typeof parse>;
        let contextValue: Awaited<ReturnType<typeof contextFactory>>;
        try {
          document = parse(params.query);
          contextValue = await contextFactory();
        } catch (err) {
          // A syntax error or a rejected credential is the caller's mistake: answer this operation
          // with the error, as over HTTP, instead of closing the socket as a server fault (4500).
          if (!(err instanceof GraphQLError)) throw err;
          const { http: _http, ...extensions } = err.extensions;
          return [new GraphQLError(err.message, { extensions })];
        }
        const args = {
          schema: s,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        return args;
      },
    },
    wss,
  );
  return {
    close: async () => {
      await wsCleanup.dispose();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
