// What a request may do whatever its credential: introspection only for authenticated callers
// (INTROSPECTION), and mutations only in JSON bodies. A browser sends a cross-site form
// (urlencoded, multipart, text/plain) without a CORS preflight, so a mutation accepted in one
// would be a CSRF hole the moment a cookie or any ambient credential is added.
import { GraphQLError, Kind, OperationTypeNode, visit, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AppServices } from '../services';
import type { GraphQLContext } from '../graphql/context';

const FORM_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)\b/i;

function introspects(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.FIELD](node) {
      if (node.name.value === '__schema' || node.name.value === '__type') found = true;
    },
  });
  return found;
}

function isMutation(document: DocumentNode, operationName?: string | null): boolean {
  return document.definitions.some(
    (d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === OperationTypeNode.MUTATION && (!operationName || d.name?.value === operationName),
  );
}

export function useRequestPolicy(app: AppServices): Plugin<GraphQLContext> {
  const introspection = app.config.introspection;
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as GraphQLContext & { request?: Request };
      const contentType = ctx.request?.method === 'POST' ? (ctx.request.headers.get('content-type') ?? '') : '';
      if (FORM_TYPES.test(contentType) && isMutation(args.document, args.operationName)) {
        setResultAndStopExecution({
          errors: [new GraphQLError('Mutations must be sent as application/json', { extensions: { code: 'BAD_REQUEST', http: { status: 415 } } })],
        });
        return;
      }
      if (introspection !== 'open' && introspects(args.document) && (introspection === 'off' || !ctx.viewer)) {
        setResultAndStopExecution({
          errors: [new GraphQLError(introspection === 'off' ? 'Introspection is disabled' : 'Introspection requires authentication', { extensions: { code: introspection === 'off' ? 'FORBIDDEN' : 'UNAUTHENTICATED' } })],
        });
      }
    },
  };
}
