// Each organization's artifacts are encrypted under its own data key, stored only wrapped by
// the master key (bound to the org id). The key is created on the first encrypted backup; two
// workers racing to create it agree on one, because only a NULL column may be filled.
import type { DataKey } from '../../backup/pipeline/encryption-format';
import { dataKeyId, newDataKey, unwrapDataKey, wrapDataKey } from '../../crypto/sealed';
import type { Db } from '../../db/client';
import { withTenant } from '../../db/context';

export async function organizationDataKey(db: Db, masterKey: Buffer, orgId: string): Promise<DataKey> {
  const wrapped = await withTenant(db, orgId, async (tx) => {
    const org = await tx.organization.findUniqueOrThrow({ where: { id: orgId }, select: { dataKeyWrapped: true } });
    if (org.dataKeyWrapped) return org.dataKeyWrapped;
    const fresh = wrapDataKey(masterKey, newDataKey(), orgId);
    await tx.organization.updateMany({ where: { id: orgId, dataKeyWrapped: null }, data: { dataKeyWrapped: fresh, dataKeyId: dataKeyId(fresh) } });
    const after = await tx.organization.findUniqueOrThrow({ where: { id: orgId }, select: { dataKeyWrapped: true } });
    return after.dataKeyWrapped!;
  });
  return { id: dataKeyId(wrapped), key: unwrapDataKey(masterKey, wrapped, orgId) };
}
