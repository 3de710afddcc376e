// First start: a demo organization with an owner, so a newcomer can query right away.
import type { Db } from './client';
import { withSystem } from './context';

export const DEMO_ORG_SLUG = 'demo';
export const DEMO_USER_EMAIL = 'owner@demo.keepsake.local';

export interface DemoSeed {
  orgId: string;
  userId: string;
  created: boolean;
}

export async function ensureDemoOrganization(db: Db): Promise<DemoSeed> {
  return withSystem(db, 'seed-demo', async (tx) => {
    const existing = await tx.organization.findUnique({ where: { slug: DEMO_ORG_SLUG } });
    const user = await tx.user.upsert({ where: { email: DEMO_USER_EMAIL }, create: { email: DEMO_USER_EMAIL, name: 'Demo Owner' }, update: {} });
    if (existing) return { orgId: existing.id, userId: user.id, created: false };
    const org = await tx.organization.create({ data: { slug: DEMO_ORG_SLUG, name: 'Demo Weddings Ltd', timeZone: 'Europe/London' } });
    await tx.membership.create({ data: { orgId: org.id, userId: user.id, role: 'OWNER' } });
    await tx.destination.create({ data: { orgId: org.id, name: 'local-disk', kind: 'LOCAL', path: 'demo' } });
    await tx.auditEvent.create({
      data: { orgId: org.id, actorType: 'SYSTEM', actorLabel: 'system:seed-demo', action: 'organization.create', resourceType: 'Organization', resourceId: org.id, after: { slug: org.slug, name: org.name } },
    });
    return { orgId: org.id, userId: user.id, created: true };
  });
}

/** Finds or creates a development user with the given role in an org (for `npm run token`). */
export async function ensureDevMember(db: Db, slug: string, role: 'OWNER' | 'ADMIN' | 'OPERATOR' | 'AUDITOR' | 'VIEWER') {
  return withSystem(db, 'dev-token', async (tx) => {
    const org = await tx.organization.findUnique({ where: { slug } });
    if (!org) return null;
    const email = role === 'OWNER' && slug === DEMO_ORG_SLUG ? DEMO_USER_EMAIL : `${role.toLowerCase()}@${slug}.keepsake.local`;
    const user = await tx.user.upsert({ where: { email }, create: { email, name: `Dev ${role.toLowerCase()}` }, update: {} });
    const membership = await tx.membership.findUnique({ where: { orgId_userId: { orgId: org.id, userId: user.id } } });
    if (!membership) await tx.membership.create({ data: { orgId: org.id, userId: user.id, role } });
    else if (membership.role !== role) await tx.membership.update({ where: { id: membership.id }, data: { role } });
    return { orgId: org.id, userId: user.id, email };
  });
}
