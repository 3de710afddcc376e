// The destinations API: create LOCAL and S3 destinations, update, delete and health-check them.
// S3 secrets are write-only. Resolvers check the role and call src/domain/destinations.
import { z } from 'zod';
import {
  createLocalDestination, createS3Destination, deleteDestination, testDestination, updateDestination, type DestinationEnv,
} from '../../domain/destinations/destinations';
import { builder } from '../builder';
import type { GraphQLContext } from '../context';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId } from '../ids';
import { nameSchema, pathSchema } from '../validation';
import { DestinationRef } from './types';
import { idInput, DeletedRef } from '../shared';

builder.queryField('destinations', (t) =>
  t.prismaConnection({
    type: 'Destination',
    cursor: 'id',
    authScopes: { member: true },
    resolve: (query, _root, _args, ctx) =>
      ctx.db!.destination.findMany({ ...query, where: { orgId: ctx.viewer!.orgId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  }),
);

const envOf = (ctx: GraphQLContext): DestinationEnv => ({ masterKey: ctx.app.masterKey, storageRoot: ctx.app.config.storageRoot });

const endpointSchema = z.string().min(1, 'must not be empty').max(500, 'must be at most 500 characters');
const regionSchema = z.string().max(64, 'must be at most 64 characters');
const bucketSchema = z.string().min(3, 'must be 3 to 63 characters long').max(63, 'must be 3 to 63 characters long');
const prefixSchema = z.string().max(500, 'must be at most 500 characters');
const accessKeyIdSchema = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');
const secretAccessKeySchema = z.string().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters');

const CreateLocalDestinationInput = builder.inputType('CreateLocalDestinationInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: nameSchema }),
    path: t.string({ required: true, validate: pathSchema, description: 'Directory relative to the storage root; absolute paths and .. are refused' }),
  }),
});

const CreateS3DestinationInput = builder.inputType('CreateS3DestinationInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: nameSchema }),
    endpoint: t.string({ required: true, validate: endpointSchema, description: 'https://s3.eu-west-1.amazonaws.com or an S3-compatible server' }),
    region: t.string({ required: false, validate: regionSchema, description: 'Default us-east-1' }),
    bucket: t.string({ required: true, validate: bucketSchema }),
    prefix: t.string({ required: false, validate: prefixSchema }),
    forcePathStyle: t.boolean({ required: false, description: 'Default true (what most S3-compatible servers need)' }),
    accessKeyId: t.string({ required: true, validate: accessKeyIdSchema, description: 'Stored encrypted, never returned' }),
    secretAccessKey: t.string({ required: true, validate: secretAccessKeySchema, description: 'Stored encrypted, never returned' }),
  }),
});

const UpdateDestinationInput = builder.inputType('UpdateDestinationInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: false, validate: nameSchema }),
    path: t.string({ required: false, validate: pathSchema }),
    endpoint: t.string({ required: false, validate: endpointSchema }),
    region: t.string({ required: false, validate: regionSchema }),
    bucket: t.string({ required: false, validate: bucketSchema }),
    prefix: t.string({ required: false, validate: prefixSchema, description: 'null or empty clears the prefix' }),
    forcePathStyle: t.boolean({ required: false }),
    accessKeyId: t.string({ required: false, validate: accessKeyIdSchema }),
    secretAccessKey: t.string({ required: false, validate: secretAccessKeySchema }),
  }),
});


builder.mutationFields((t) => ({
  createLocalDestination: t.field({
    type: DestinationRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: CreateLocalDestinationInput, required: true }) },
    resolve: (_root, { input }, ctx) => createLocalDestination(ctx.app.db, envOf(ctx), ctx.scope!, input),
  }),
  createS3Destination: t.field({
    type: DestinationRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: CreateS3DestinationInput, required: true }) },
    resolve: (_root, { input }, ctx) => createS3Destination(ctx.app.db, envOf(ctx), ctx.scope!, input),
  }),
  updateDestination: t.field({
    type: DestinationRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: UpdateDestinationInput, required: true }) },
    resolve: (_root, { input: { id, ...patch } }, ctx) =>
      updateDestination(ctx.app.db, envOf(ctx), ctx.scope!, decodeId(String(id), 'Destination', ['input', 'id']), patch),
  }),
  deleteDestination: t.field({
    type: DeletedRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: idInput('DeleteDestinationInput'), required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await deleteDestination(ctx.app.db, ctx.scope!, decodeId(String(input.id), 'Destination', ['input', 'id']));
      return { id: String(input.id) };
    },
  }),
  testDestination: t.field({
    type: DestinationRef,
    authScopes: { operator: true },
    errors: { types: MUTATION_ERRORS },
    description: 'Writes, reads back and deletes a probe object; a failed probe returns the destination as UNHEALTHY with lastError',
    args: { input: t.arg({ type: idInput('TestDestinationInput'), required: true }) },
    resolve: (_root, { input }, ctx) => testDestination(ctx.app.db, envOf(ctx), ctx.scope!, decodeId(String(input.id), 'Destination', ['input', 'id']), ctx.app.boss),
  }),
}));
