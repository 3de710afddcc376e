// PostgreSQL text and jsonb cannot hold a NUL character, so a string containing one would reach
// the database only to fail there as an unexpected error. Refuse it up front, for every operation
// (HTTP, SSE and WebSocket share this envelop): in variables, however deep, and in literals.
import { GraphQLError, Kind, visit, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const NUL = '\u0000';

function pathToNul(value: unknown, path: string[]): string[] | null {
  if (typeof value === 'string') return value.includes(NUL) ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = pathToNul(value[i], [...path, String(i)]);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key.includes(NUL)) return [...path, key];
      const found = pathToNul(v, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

function literalWithNul(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.STRING](node) {
      if (node.value.includes(NUL)) found = true;
    },
  });
  return found;
}

function refusal(variables: unknown, document: DocumentNode): GraphQLError | null {
  const path = pathToNul(variables ?? {}, []);
  if (path) return new GraphQLError(`$${path.join('.')} contains a NUL (\\u0000) character, which no text field can store`, { extensions: { code: 'BAD_USER_INPUT', path } });
  if (literalWithNul(document)) return new GraphQLError('a string literal contains a NUL (\\u0000) character, which no text field can store', { extensions: { code: 'BAD_USER_INPUT' } });
  return null;
}

export function useNulGuard(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const error = refusal(args.variableValues, args.document);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const error = refusal(args.variableValues, args.document);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };
}
