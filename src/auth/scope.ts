// Who is acting, and within which organization: what services need to authorize a change,
// scope it to a tenant and write its audit event. Built by the HTTP layer or a worker.
import type { Role } from '../db/generated/prisma/enums';

export interface Actor {
  type: 'USER' | 'API_KEY' | 'SYSTEM';
  /** User id or API key id; absent for the system. */
  id?: string;
  label: string;
  role: Role;
}

export interface RequestMeta {
  requestId?: string;
  ip?: string;
  userAgent?: string;
}

export interface OrgScope {
  orgId: string;
  actor: Actor;
  meta: RequestMeta;
}

export function systemScope(orgId: string, reason: string, meta: RequestMeta = {}): OrgScope {
  return { orgId, actor: { type: 'SYSTEM', label: `system:${reason}`, role: 'OWNER' }, meta };
}
