// The Organization, User, Membership and Viewer objects, with the role and lock-mode enums.
import { builder } from '../builder';

export const RoleEnum = builder.enumType('Role', { values: ['OWNER', 'ADMIN', 'OPERATOR', 'AUDITOR', 'VIEWER'] as const });
export const OrgLockModeEnum = builder.enumType('OrgLockMode', { values: ['NONE', 'GOVERNANCE', 'COMPLIANCE'] as const });

export const UserRef = builder.prismaNode('User', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  // Users are global rows: RLS shows a tenant only its members, and only to a viewer.
  authScopes: (_u, ctx) => !!ctx.viewer,
  fields: (t) => ({
    email: t.exposeString('email'),
    name: t.exposeString('name', { nullable: true, description: "The person's own name, if they set one; the name an organization gave them is Membership.displayName" }),
  }),
});

export const MembershipRef = builder.prismaNode('Membership', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (m, ctx) => !!ctx.viewer && m.orgId === ctx.viewer.orgId,
  fields: (t) => ({
    role: t.expose('role', { type: RoleEnum }),
    displayName: t.exposeString('displayName', { nullable: true, description: 'The name this organization gave the member when inviting them' }),
    user: t.relation('user'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const OrganizationRef = builder.prismaNode('Organization', {
  id: { field: 'id' },
  // Another org's id (hidden by RLS) or a deleted row: node() answers null, not an error.
  nullable: true,
  authScopes: (o, ctx) => !!ctx.viewer && o.id === ctx.viewer.orgId,
  fields: (t) => ({
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    timeZone: t.exposeString('timeZone'),
    lockMode: t.expose('lockMode', { type: OrgLockModeEnum }),
    maxConcurrentBackups: t.exposeInt('maxConcurrentBackups'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    members: t.relatedConnection('memberships', {
      cursor: 'id',
      query: () => ({ orderBy: { createdAt: 'asc' } }),
      totalCount: true,
    }),
  }),
});

export const ViewerRef = builder.objectRef<{ kind: string; label: string; role: string; orgId: string; userId?: string }>('Viewer').implement({
  fields: (t) => ({
    kind: t.exposeString('kind', { description: 'USER or API_KEY' }),
    label: t.exposeString('label'),
    role: t.field({ type: RoleEnum, resolve: (v) => v.role as typeof RoleEnum.$inferType }),
    user: t.prismaField({
      type: 'User',
      nullable: true,
      resolve: (query, v, _args, ctx) => (v.userId ? ctx.db!.user.findUnique({ ...query, where: { id: v.userId } }) : null),
    }),
    organization: t.prismaField({
      type: 'Organization',
      resolve: (query, v, _args, ctx) => ctx.db!.organization.findUniqueOrThrow({ ...query, where: { id: v.orgId } }),
    }),
  }),
});
