// The Strategy object (source, destinations, schedule, retention, compression, encryption) and its
// status enum, with its jobs and points as connections.
import { builder } from '../builder';
import { CompressionEnum } from '../backups/types';
import { DestinationRef } from '../destinations/types';

export const StrategyStatusEnum = builder.enumType('StrategyStatus', { values: ['ACTIVE', 'PAUSED'] as const });

export const RepositoryFormatEnum = builder.enumType('RepositoryFormat', {
  description: 'TAR: one archive per run. CHUNKED: a deduplicated, incremental repository with a file catalog (DIRECTORY sources)',
  values: ['TAR', 'CHUNKED'] as const,
});

export const StrategyRef = builder.prismaNode('Strategy', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (s, ctx) => !!ctx.viewer && s.orgId === ctx.viewer.orgId,
  fields: (t) => ({
    name: t.exposeString('name'),
    status: t.expose('status', { type: StrategyStatusEnum }),
    source: t.relation('source'),
    // Destinations through the StrategyDestination join, planned into the parent query.
    destinations: t.field({
      type: [DestinationRef],
      select: (_args, _ctx, nestedSelection) => ({
        destinations: { orderBy: { destination: { name: 'asc' } }, select: { destination: nestedSelection(true) } },
      }),
      resolve: (s) => s.destinations.map((d) => d.destination),
    }),
    retentionPolicy: t.relation('retentionPolicy', { nullable: true }),
    cron: t.exposeString('cron'),
    timeZone: t.exposeString('timeZone', { description: 'IANA time zone the cron is evaluated in' }),
    startWindowMinutes: t.exposeInt('startWindowMinutes', { description: 'How late a slot may still start before it counts as missed' }),
    peakCron: t.exposeString('peakCron', { nullable: true }),
    peakStart: t.exposeString('peakStart', { nullable: true, description: 'MM-DD' }),
    peakEnd: t.exposeString('peakEnd', { nullable: true, description: 'MM-DD, inclusive' }),
    compression: t.expose('compression', { type: CompressionEnum }),
    compressionLevel: t.exposeInt('compressionLevel', { nullable: true, description: 'Empty means the algorithm default' }),
    encrypted: t.exposeBoolean('encrypted'),
    repositoryFormat: t.expose('repositoryFormat', { type: RepositoryFormatEnum }),
    priority: t.exposeInt('priority'),
    rpoMinutes: t.exposeInt('rpoMinutes', { nullable: true }),
    maxSizeBytes: t.expose('maxSizeBytes', { type: 'BigInt', nullable: true }),
    timeoutSeconds: t.exposeInt('timeoutSeconds', { nullable: true }),
    verifyCron: t.exposeString('verifyCron', { nullable: true }),
    nextRunAt: t.expose('nextRunAt', { type: 'DateTime', nullable: true, description: 'Empty while paused' }),
    verifyNextRunAt: t.expose('verifyNextRunAt', { type: 'DateTime', nullable: true, description: 'Next automatic restore test (verifyCron)' }),
    lastRunAt: t.expose('lastRunAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
