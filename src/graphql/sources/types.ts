// The Source object (a PostgreSQL database or a directory; credentials never exposed) and its kind
// and dump-format enums.
import { builder } from '../builder';

export const SourceKindEnum = builder.enumType('SourceKind', { values: ['POSTGRES', 'DIRECTORY'] as const });
export const DumpFormatEnum = builder.enumType('DumpFormat', { values: ['CUSTOM', 'PLAIN', 'TAR', 'DIRECTORY'] as const });

export const SourceRef = builder.prismaNode('Source', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (s, ctx) => !!ctx.viewer && s.orgId === ctx.viewer.orgId,
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: SourceKindEnum }),
    connectionHint: t.exposeString('connectionHint', { nullable: true, description: 'user@host:port/database, never the password' }),
    hasConnectionUrl: t.boolean({ select: { connectionUrlSealed: true }, resolve: (s) => s.connectionUrlSealed != null }),
    includeSchemas: t.exposeStringList('includeSchemas'),
    excludeSchemas: t.exposeStringList('excludeSchemas'),
    includeTables: t.exposeStringList('includeTables'),
    excludeTables: t.exposeStringList('excludeTables'),
    dumpFormat: t.expose('dumpFormat', { type: DumpFormatEnum }),
    noOwner: t.exposeBoolean('noOwner'),
    noAcl: t.exposeBoolean('noAcl'),
    probeQueries: t.exposeStringList('probeQueries'),
    path: t.exposeString('path', { nullable: true }),
    includeGlobs: t.exposeStringList('includeGlobs'),
    excludeGlobs: t.exposeStringList('excludeGlobs'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
