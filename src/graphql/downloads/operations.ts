// createDownloadLink (OPERATOR+): a short-lived signed link to GET a recovery point's artifact.
import { z } from 'zod';
import { createDownloadLink } from '../../domain/downloads/links';
import { builder } from '../builder';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId } from '../ids';
import { DownloadLinkRef } from './types';

const CreateDownloadLinkInput = builder.inputType('CreateDownloadLinkInput', {
  fields: (t) => ({
    recoveryPointId: t.id({ required: true }),
    path: t.string({ required: false, validate: z.string().max(1024, 'must be at most 1024 characters'), description: 'Directory backups: one file or folder (relative path) instead of the whole archive' }),
    expiresInSeconds: t.int({ required: false, validate: z.number().int().min(30, 'must be at least 30').max(3600, 'must be at most 3600'), description: 'Default 900 (15 minutes), at most 3600' }),
  }),
});

builder.mutationField('createDownloadLink', (t) =>
  t.field({
    type: DownloadLinkRef,
    authScopes: { operator: true },
    errors: { types: MUTATION_ERRORS },
    description: 'A signed link to GET the decrypted, decompressed artifact of a recovery point (checked against its SHA-256 while it streams)',
    args: { input: t.arg({ type: CreateDownloadLinkInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      createDownloadLink({ db: ctx.app.db, masterKey: ctx.app.masterKey }, ctx.scope!, {
        recoveryPointId: decodeId(String(input.recoveryPointId), 'RecoveryPoint', ['input', 'recoveryPointId']),
        path: input.path,
        expiresInSeconds: input.expiresInSeconds,
      }),
  }),
);
