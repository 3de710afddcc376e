// Plugins, scalars and shared configuration only; types live in one folder per domain.
import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError, GraphQLScalarType, Kind, getNullableType, isListType, isObjectType, type GraphQLSchema } from 'graphql';
import type PrismaTypes from '../db/generated/pothos-types';
import { getDatamodel } from '../db/generated/pothos-types';
import type { Db } from '../db/client';
import { anonymousClient } from '../db/context';
import type { Role } from '../db/generated/prisma/enums';
import { ForbiddenError, ValidationError } from '../domain/errors';
import type { GraphQLContext, MemberContext } from './context';
import { isUuid } from '../db/uuid';

/** Which roles hold each scope. The README's permission table is generated from the same idea. */
export const ROLE_SCOPES: Record<'member' | 'operator' | 'admin' | 'auditor' | 'owner', Role[]> = {
  member: ['OWNER', 'ADMIN', 'OPERATOR', 'AUDITOR', 'VIEWER'],
  operator: ['OWNER', 'ADMIN', 'OPERATOR'],
  admin: ['OWNER', 'ADMIN'],
  auditor: ['OWNER', 'ADMIN', 'AUDITOR'],
  owner: ['OWNER'],
};

function resolvable(schema: GraphQLSchema, id: { typename: string; id: string }): boolean {
  return isNodeTypeName(schema, id.typename) && isUuid(id.id);
}

function isNodeTypeName(schema: GraphQLSchema, name: string): boolean {
  const type = schema.getType(name);
  return isObjectType(type) && type.getInterfaces().some((i) => i.name === 'Node');
}

/** Rows a connection returns when the caller gives no `first`/`last` (relay plugin's default). */
const DEFAULT_PAGE = 20;
/** Lists without a size argument (a strategy's destinations, a point's artifacts) count as this many. */
const UNSIZED_LIST = 5;

/**
 * Each field costs 1, and what is selected below a list or connection costs once per row it can
 * return: `first`/`last` when given, the default page size or UNSIZED_LIST otherwise. A nested
 * `recoveryPoints(first: 100) { … strategy { recoveryPoints(first: 100) … } }` therefore costs
 * 100 × 100 × its fields, which is what the database would be asked for.
 */
function fieldCost(args: Record<string, unknown>, name: string, type: Parameters<typeof getNullableType>[0]) {
  const size = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : null;
  const named = getNullableType(type);
  if (size !== null) return { field: 1, multiplier: Math.max(1, size) };
  // A connection's edges are its rows, already counted by the connection's page size.
  if (name === 'edges') return { field: 1, multiplier: 1 };
  if (isListType(named)) return { field: 1, multiplier: UNSIZED_LIST };
  if (isObjectType(named) && named.name.endsWith('Connection')) return { field: 1, multiplier: DEFAULT_PAGE };
  return { field: 1, multiplier: 1 };
}

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  AuthScopes: { member: boolean; operator: boolean; admin: boolean; auditor: boolean; owner: boolean };
  AuthContexts: { member: MemberContext; operator: MemberContext; admin: MemberContext; auditor: MemberContext; owner: MemberContext };
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    BigInt: { Input: bigint; Output: bigint | number };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string | number };
  };
}>({
  defaultFieldNullability: false,
  // errors before scope-auth so that a forbidden mutation returns a typed ForbiddenError.
  plugins: [ErrorsPlugin, ScopeAuthPlugin, RelayPlugin, ValidationPlugin, PrismaPlugin, ComplexityPlugin],
  // What a query may cost before anything runs (README "Query limits"; GRAPHQL_MAX_* settings).
  complexity: {
    fieldComplexity: (args, _ctx, field) => fieldCost(args, field.name, field.type),
    limit: (ctx) => ({ complexity: ctx.app.config.limits.maxCost, depth: ctx.app.config.limits.maxDepth, breadth: ctx.app.config.limits.maxBreadth }),
    complexityError: (kind, result) =>
      new GraphQLError(
        `Query ${kind.toLowerCase()} ${result[kind.toLowerCase() as 'complexity' | 'depth' | 'breadth']} exceeds the limit of ${result[`max${kind}` as 'maxComplexity' | 'maxDepth' | 'maxBreadth']}; ask for fewer items or fields at once`,
        { extensions: { code: 'QUERY_TOO_COMPLEX', limit: kind.toLowerCase(), ...result } },
      ),
  },
  scopeAuth: {
    // Check a subscription's scopes when it starts, not only per event: its `subscribe` reads the
    // viewer, and a caller without the right must get the typed refusal, not a crash.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => {
      const role = ctx.viewer?.role;
      const has = (scope: keyof typeof ROLE_SCOPES) => !!role && ROLE_SCOPES[scope].includes(role);
      return { member: has('member'), operator: has('operator'), admin: has('admin'), auditor: has('auditor'), owner: has('owner') };
    },
    unauthorizedError: (_parent, ctx) =>
      ctx.viewer ? new ForbiddenError('Your role does not allow this') : new GraphQLError('Authentication required', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } }),
  },
  relay: {
    // An id naming a type that is not a Node here (forged, or from a newer API), or whose key is
    // not a UUID (every row's is), reads as not found, like an id of another organization,
    // instead of failing the whole `nodes` list (or reaching the database as a bad uuid).
    nodeQueryOptions: {
      authScopes: { member: true },
      resolve: (_root, { id }, _ctx, info, resolveNode) => (resolvable(info.schema, id) ? resolveNode(id) : null),
    },
    nodesQueryOptions: {
      authScopes: { member: true },
      resolve: async (_root, args, _ctx, info, resolveNodes) => {
        const all = args.ids;
        const known = all.filter((id) => resolvable(info.schema, id));
        // plugin-relay 4.8's resolveNodes callback ignores its argument and reads args.ids.
        args.ids = known;
        const resolved = known.length ? await resolveNodes(known) : [];
        return all.map((id) => (known.includes(id) ? resolved[known.indexOf(id)] : null));
      },
    },
    clientMutationId: 'omit',
    cursorType: 'String',
    brandLoadedObjects: true,
  },
  // Input validation failures become typed ValidationError results. They are returned before
  // authorization runs, which is safe here: they describe the caller's own input, never data.
  errors: { defaultTypes: [], unsafelyHandleInputErrors: true },
  validation: {
    validationError: (result) =>
      new ValidationError(
        result.issues.map((i) => ({
          path: (i.path ?? []).map((p) => String(typeof p === 'object' && p !== null && 'key' in p ? p.key : p)),
          message: i.message,
        })),
      ),
  },
  prisma: {
    // Resolvers read through the viewer's tenant client, so RLS applies to every query; without
    // a viewer, through a client that sees no tenant rows (never the login's own client).
    client: (ctx) => (ctx.db ?? anonymousClient(ctx.app.db)) as unknown as Db,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'error',
  },
});

builder.addScalarType(
  'DateTime',
  new GraphQLScalarType<Date, string>({
    name: 'DateTime',
    description: 'An ISO-8601 timestamp in UTC',
    serialize: (v) => (v instanceof Date ? v : new Date(String(v))).toISOString(),
    parseValue: (v) => {
      const d = new Date(String(v));
      if (typeof v !== 'string' || Number.isNaN(d.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
      return d;
    },
    parseLiteral: (ast) => {
      if (ast.kind !== Kind.STRING || Number.isNaN(new Date(ast.value).getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
      return new Date(ast.value);
    },
  }),
);

// Byte counts exceed 2^53 in principle; they travel as decimal strings.
builder.addScalarType(
  'BigInt',
  new GraphQLScalarType<bigint, string>({
    name: 'BigInt',
    description: 'An integer of any size, as a decimal string',
    serialize: (v) => String(v),
    parseValue: (v) => {
      if ((typeof v !== 'string' && typeof v !== 'number') || !/^-?\d+$/.test(String(v))) throw new GraphQLError('BigInt must be an integer');
      return BigInt(String(v));
    },
    parseLiteral: (ast) => {
      if ((ast.kind !== Kind.STRING && ast.kind !== Kind.INT) || !/^-?\d+$/.test(ast.value)) throw new GraphQLError('BigInt must be an integer');
      return BigInt(ast.value);
    },
  }),
);

builder.addScalarType(
  'JSON',
  new GraphQLScalarType({ name: 'JSON', description: 'Arbitrary JSON', serialize: (v) => v, parseValue: (v) => v }),
);

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
