// The file catalog of chunked points in the API: RecoveryPoint.files (list a directory or search
// with a glob, paged), RecoveryPoint.changeSummary, and fileVersions (one file across points).
import { resolveArrayConnection } from '@pothos/plugin-relay';
import { z } from 'zod';
import { fileVersions, listRecoveryPointFiles } from '../../domain/repository/catalog';
import { builder } from '../builder';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId } from '../ids';
import { BackupFileRef, ChangeSummaryRef, type ChangeSummary } from './types';

const pathArg = z.string().max(4096, 'must be at most 4096 characters');

builder.prismaObjectFields('RecoveryPoint', (t) => ({
  changeSummary: t.field({
    type: ChangeSummaryRef,
    nullable: true,
    select: { manifest: true },
    description: 'Chunked points: files new / changed / unchanged and bytes added by the run',
    resolve: (p) => (p.manifest as { chunked?: ChangeSummary }).chunked ?? null,
  }),
  files: t.connection({
    type: BackupFileRef,
    errors: { types: MUTATION_ERRORS },
    select: { id: true },
    description: 'Chunked points: the directory `path` (default the root) listed, or searched with `glob` below it',
    args: {
      path: t.arg.string({ required: false, validate: pathArg }),
      glob: t.arg.string({ required: false, validate: z.string().max(1000, 'must be at most 1000 characters') }),
    },
    resolve: async (p, args, ctx) => resolveArrayConnection({ args }, await listRecoveryPointFiles(ctx.app.db, ctx.scope!, p.id, { path: args.path, glob: args.glob })),
  }),
}));

builder.queryFields((t) => ({
  fileVersions: t.prismaField({
    type: [BackupFileRef],
    authScopes: { member: true },
    errors: { types: MUTATION_ERRORS },
    description: 'One file across the chunked recovery points of a source, newest first',
    args: {
      sourceId: t.arg.id({ required: true }),
      path: t.arg.string({ required: true, validate: pathArg }),
      first: t.arg.int({ required: false, validate: z.number().int().min(1, 'must be at least 1').max(500, 'must be at most 500') }),
    },
    resolve: (query, _root, args, ctx) =>
      fileVersions(ctx.app.db, ctx.scope!, decodeId(String(args.sourceId), 'Source', ['sourceId']), args.path, args.first ?? 50, query),
  }),
}));
