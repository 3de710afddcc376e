// The sources API: create PostgreSQL and directory sources, update and delete them. Connection URLs
// are write-only. Resolvers check the role and call src/domain/sources.
import { z } from 'zod';
import { createDirectorySource, createPostgresSource, deleteSource, updateSource } from '../../domain/sources/sources';
import { builder } from '../builder';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId } from '../ids';
import { globList, identifierList, nameSchema, pathSchema, urlSchema } from '../validation';
import { DumpFormatEnum, SourceRef } from './types';
import { idInput, DeletedRef } from '../shared';

builder.queryField('sources', (t) =>
  t.prismaConnection({
    type: 'Source',
    cursor: 'id',
    authScopes: { member: true },
    resolve: (query, _root, _args, ctx) =>
      ctx.db!.source.findMany({ ...query, where: { orgId: ctx.viewer!.orgId }, orderBy: { createdAt: 'desc' } }),
  }),
);

const probeQueries = z.array(z.string().min(1).max(10_000, 'must be at most 10000 characters')).max(20, 'at most 20 probe queries');

const CreatePostgresSourceInput = builder.inputType('CreatePostgresSourceInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: nameSchema }),
    connectionUrl: t.string({ required: true, validate: urlSchema, description: 'postgresql://user:password@host:port/db — stored encrypted, never returned' }),
    includeSchemas: t.stringList({ required: false, validate: identifierList }),
    excludeSchemas: t.stringList({ required: false, validate: identifierList }),
    includeTables: t.stringList({ required: false, validate: identifierList }),
    excludeTables: t.stringList({ required: false, validate: identifierList }),
    dumpFormat: t.field({ type: DumpFormatEnum, required: false }),
    noOwner: t.boolean({ required: false }),
    noAcl: t.boolean({ required: false }),
    probeQueries: t.stringList({ required: false, validate: probeQueries, description: 'Read-only queries run against restore tests' }),
  }),
});

const CreateDirectorySourceInput = builder.inputType('CreateDirectorySourceInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: nameSchema }),
    path: t.string({ required: true, validate: pathSchema }),
    includeGlobs: t.stringList({ required: false, validate: globList }),
    excludeGlobs: t.stringList({ required: false, validate: globList }),
  }),
});

const UpdateSourceInput = builder.inputType('UpdateSourceInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false, validate: nameSchema }),
    connectionUrl: t.string({ required: false, validate: urlSchema }),
    includeSchemas: t.stringList({ required: false, validate: identifierList }),
    excludeSchemas: t.stringList({ required: false, validate: identifierList }),
    includeTables: t.stringList({ required: false, validate: identifierList }),
    excludeTables: t.stringList({ required: false, validate: identifierList }),
    dumpFormat: t.field({ type: DumpFormatEnum, required: false }),
    noOwner: t.boolean({ required: false }),
    noAcl: t.boolean({ required: false }),
    probeQueries: t.stringList({ required: false, validate: probeQueries }),
    path: t.string({ required: false, validate: pathSchema }),
    includeGlobs: t.stringList({ required: false, validate: globList }),
    excludeGlobs: t.stringList({ required: false, validate: globList }),
  }),
});

const DeleteInput = idInput('DeleteSourceInput');

builder.mutationFields((t) => ({
  createPostgresSource: t.field({
    type: SourceRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: CreatePostgresSourceInput, required: true }) },
    resolve: (_root, { input }, ctx) => createPostgresSource(ctx.app.db, ctx.app.masterKey, ctx.scope!, input),
  }),
  createDirectorySource: t.field({
    type: SourceRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: CreateDirectorySourceInput, required: true }) },
    resolve: (_root, { input }, ctx) => createDirectorySource(ctx.app.db, ctx.scope!, input),
  }),
  updateSource: t.field({
    type: SourceRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: UpdateSourceInput, required: true }) },
    resolve: (_root, { input: { id, ...patch } }, ctx) =>
      updateSource(ctx.app.db, ctx.app.masterKey, ctx.scope!, decodeId(String(id), 'Source', ['input', 'id']), patch),
  }),
  deleteSource: t.field({
    type: DeletedRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: DeleteInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await deleteSource(ctx.app.db, ctx.scope!, decodeId(String(input.id), 'Source', ['input', 'id']));
      return { id: String(input.id) };
    },
  }),
}));
