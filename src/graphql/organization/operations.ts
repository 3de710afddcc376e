// The organization API: the viewer, the organization's settings, and its members (invite, change
// role, remove). Resolvers check the role and call src/domain/organization.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { z } from 'zod';
import { changeMemberRole, inviteMember, removeMember, updateOrganization } from '../../domain/organization/organization';
import { builder } from '../builder';
import { MUTATION_ERRORS } from '../errors/types';
import { decodeId } from '../ids';
import { MembershipRef, OrganizationRef, RoleEnum, ViewerRef } from './types';

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    authScopes: { member: true },
    resolve: (_root, _args, ctx) => ctx.viewer!,
  }),
);

const UpdateOrganizationInput = builder.inputType('UpdateOrganizationInput', {
  fields: (t) => ({
    name: t.string({ required: false, validate: z.string().trim().min(1).max(200) }),
    timeZone: t.string({ required: false, validate: z.string().min(1).max(64) }),
    maxConcurrentBackups: t.int({ required: false, validate: z.number().int().min(1).max(50) }),
  }),
});

builder.mutationField('updateOrganization', (t) =>
  t.field({
    type: OrganizationRef,
    authScopes: { owner: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: UpdateOrganizationInput, required: true }) },
    resolve: (_root, { input }, ctx) => updateOrganization(ctx.app.db, ctx.scope!, input),
  }),
);

const InviteMemberInput = builder.inputType('InviteMemberInput', {
  fields: (t) => ({
    email: t.string({ required: true, validate: z.string().trim().email().max(254) }),
    name: t.string({ required: false, validate: z.string().max(200) }),
    role: t.field({ type: RoleEnum, required: true }),
  }),
});

builder.mutationField('inviteMember', (t) =>
  t.field({
    type: MembershipRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: InviteMemberInput, required: true }) },
    resolve: (_root, { input }, ctx) => inviteMember(ctx.app.db, ctx.scope!, input),
  }),
);

const ChangeMemberRoleInput = builder.inputType('ChangeMemberRoleInput', {
  fields: (t) => ({
    membershipId: t.id({ required: true }),
    role: t.field({ type: RoleEnum, required: true }),
  }),
});

builder.mutationField('changeMemberRole', (t) =>
  t.field({
    type: MembershipRef,
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: ChangeMemberRoleInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      changeMemberRole(ctx.app.db, ctx.scope!, decodeId(String(input.membershipId), 'Membership', ['input', 'membershipId']), input.role),
  }),
);

const RemoveMemberInput = builder.inputType('RemoveMemberInput', {
  fields: (t) => ({ membershipId: t.id({ required: true }) }),
});

builder.mutationField('removeMember', (t) =>
  t.field({
    type: builder.objectRef<{ id: string; revokedApiKeyIds: string[] }>('RemovedMember').implement({
      fields: (f) => ({
        removedMembershipId: f.exposeID('id'),
        revokedApiKeyIds: f.idList({
          description: 'The API keys the removed member had created and that were still live: revoked with the membership.',
          resolve: (r) => r.revokedApiKeyIds.map((id) => encodeGlobalID('ApiKey', id)),
        }),
      }),
    }),
    authScopes: { admin: true },
    errors: { types: MUTATION_ERRORS },
    args: { input: t.arg({ type: RemoveMemberInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const removed = await removeMember(ctx.app.db, ctx.scope!, decodeId(String(input.membershipId), 'Membership', ['input', 'membershipId']));
      return { id: String(input.membershipId), revokedApiKeyIds: removed.revokedApiKeyIds };
    },
  }),
);
