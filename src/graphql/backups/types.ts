// The objects of backups: BackupJob, MissedRun, RecoveryPoint and its Artifacts (one per copy at a
// destination), with the enums of job status, trigger and compression.
import { builder } from '../builder';

export const JobStatusEnum = builder.enumType('JobStatus', { values: ['QUEUED', 'RUNNING', 'VERIFYING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const });
export const JobTriggerEnum = builder.enumType('JobTrigger', { values: ['SCHEDULED', 'MANUAL', 'API', 'RETRY', 'VERIFICATION'] as const });
export const CompressionEnum = builder.enumType('Compression', { values: ['ZSTD', 'GZIP', 'NONE'] as const });

export const BackupJobRef = builder.prismaNode('BackupJob', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (j, ctx) => !!ctx.viewer && j.orgId === ctx.viewer.orgId,
  fields: (t) => ({
    strategy: t.relation('strategy'),
    trigger: t.expose('trigger', { type: JobTriggerEnum }),
    status: t.expose('status', { type: JobStatusEnum }),
    phase: t.exposeString('phase', { nullable: true, description: 'dumping, uploading, verifying, cancelling' }),
    bytesDone: t.expose('bytesDone', { type: 'BigInt' }),
    bytesTotal: t.expose('bytesTotal', { type: 'BigInt', nullable: true, description: 'An estimate while running' }),
    percent: t.exposeFloat('percent', { nullable: true }),
    etaSeconds: t.exposeInt('etaSeconds', { nullable: true }),
    attempt: t.exposeInt('attempt'),
    error: t.exposeString('error', { nullable: true }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
    scheduledFor: t.expose('scheduledFor', { type: 'DateTime', nullable: true }),
    cancelRequestedAt: t.expose('cancelRequestedAt', { type: 'DateTime', nullable: true }),
    queuedAt: t.expose('queuedAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    durationMs: t.int({
      nullable: true,
      select: { startedAt: true, finishedAt: true },
      resolve: (j) => (j.startedAt && j.finishedAt ? j.finishedAt.getTime() - j.startedAt.getTime() : null),
    }),
    recoveryPoint: t.relation('recoveryPoint', { nullable: true }),
    initiatedBy: t.string({
      nullable: true,
      description: 'Who asked for the run: a member (name or e-mail), an API key ("API key <name>"), or null for the scheduler and retries',
      select: { orgId: true, initiatedById: true, initiatedByApiKey: true },
      // One look-up per job that a person or key started; the history pages list a few dozen.
      resolve: async (j, _args, ctx) => {
        if (j.initiatedByApiKey) {
          const key = await ctx.db!.apiKey.findFirst({ where: { id: j.initiatedByApiKey, orgId: j.orgId }, select: { name: true } });
          return key ? `API key ${key.name}` : 'API key (revoked)';
        }
        if (!j.initiatedById) return null;
        const member = await ctx.db!.membership.findFirst({ where: { userId: j.initiatedById, orgId: j.orgId }, select: { displayName: true, user: { select: { name: true, email: true } } } });
        // This organization's name for the member first (what its dashboards show elsewhere).
        return member ? (member.displayName ?? member.user.name ?? member.user.email) : 'former member';
      },
    }),
  }),
});

export const ArtifactRef = builder.prismaObject('Artifact', {
  authScopes: (a, ctx) => !!ctx.viewer && a.orgId === ctx.viewer.orgId,
  fields: (t) => ({
    destination: t.relation('destination'),
    key: t.exposeString('key'),
    sizeBytes: t.expose('sizeBytes', { type: 'BigInt' }),
    sha256: t.exposeString('sha256'),
    status: t.exposeString('status', { description: 'PRESENT, DAMAGED (a restore or restore test found it corrupted), DELETING, DELETED, FAILED (deleting it failed)' }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'Why deleting this copy failed, or how it was found damaged' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const RecoveryPointRef = builder.prismaNode('RecoveryPoint', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (p, ctx) => !!ctx.viewer && p.orgId === ctx.viewer.orgId,
  fields: (t) => ({
    strategy: t.relation('strategy', { nullable: true }),
    source: t.relation('source', { nullable: true }),
    backupJob: t.relation('backupJob', { nullable: true }),
    format: t.exposeString('format'),
    compression: t.expose('compression', { type: CompressionEnum }),
    encrypted: t.exposeBoolean('encrypted'),
    rawBytes: t.expose('rawBytes', { type: 'BigInt' }),
    storedBytes: t.expose('storedBytes', { type: 'BigInt' }),
    sha256: t.exposeString('sha256'),
    manifest: t.expose('manifest', { type: 'JSON' }),
    takenAt: t.expose('takenAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    legalHold: t.exposeBoolean('legalHold'),
    legalHoldReason: t.exposeString('legalHoldReason', { nullable: true }),
    deletingSince: t.expose('deletingSince', { type: 'DateTime', nullable: true, description: 'Set while the copies are being deleted (retention or deleteRecoveryPoint); a failed destination is retried by the next retention sweep' }),
    verifiedAt: t.expose('verifiedAt', { type: 'DateTime', nullable: true }),
    artifacts: t.relation('artifacts', { query: { orderBy: { createdAt: 'asc' } } }),
  }),
});

export const MissedRunRef = builder.prismaNode('MissedRun', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (m, ctx) => !!ctx.viewer && m.orgId === ctx.viewer.orgId,
  fields: (t) => ({
    strategy: t.relation('strategy'),
    slotAt: t.expose('slotAt', { type: 'DateTime' }),
    reason: t.exposeString('reason'),
    detectedAt: t.expose('detectedAt', { type: 'DateTime' }),
  }),
});
