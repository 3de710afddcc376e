// The Destination object (where copies go) and its kind and status enums.
import { builder } from '../builder';

export const DestinationKindEnum = builder.enumType('DestinationKind', { values: ['LOCAL', 'S3'] as const });
export const DestinationStatusEnum = builder.enumType('DestinationStatus', { values: ['UNKNOWN', 'HEALTHY', 'UNHEALTHY'] as const });

export const DestinationRef = builder.prismaNode('Destination', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (d, ctx) => !!ctx.viewer && d.orgId === ctx.viewer.orgId,
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: DestinationKindEnum }),
    path: t.exposeString('path', { nullable: true, description: 'LOCAL: directory relative to the storage root' }),
    endpoint: t.exposeString('endpoint', { nullable: true }),
    region: t.exposeString('region', { nullable: true }),
    bucket: t.exposeString('bucket', { nullable: true }),
    prefix: t.exposeString('prefix', { nullable: true }),
    forcePathStyle: t.exposeBoolean('forcePathStyle'),
    hasCredentials: t.boolean({
      description: 'Whether S3 credentials are stored; the keys themselves are never returned',
      select: { accessKeyIdSealed: true, secretAccessKeySealed: true },
      resolve: (d) => d.accessKeyIdSealed != null && d.secretAccessKeySealed != null,
    }),
    status: t.expose('status', { type: DestinationStatusEnum }),
    lastTestedAt: t.expose('lastTestedAt', { type: 'DateTime', nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    usedBytes: t.expose('usedBytes', { type: 'BigInt' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
