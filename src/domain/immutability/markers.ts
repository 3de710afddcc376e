// Legal holds mirrored at the destinations. The hold lives in the catalog, but the catalog can be
// lost: importRecoveryPoints rebuilds points from the manifests, and a point rebuilt without its
// hold could then be deleted by retention. So every copy of a held point gets a legal-hold.json
// beside its manifest, and a release removes it. Setting or releasing a hold marks the point
// stale in the same transaction; the markers are written right after (best effort) and by every
// backup sweep until all copies agree, so a destination that is down catches up later.
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { legalHoldKey, type LegalHoldMarker } from '../../backup/manifest';
import type { Db } from '../../db/client';
import { withSystem, withTenant } from '../../db/context';
import { driverFor, type DestinationEnv } from '../destinations/driver';

/** Brings every copy of the point in line with its hold; true when all of them are. */
export async function syncLegalHoldMarkers(db: Db, env: DestinationEnv, orgId: string, pointId: string): Promise<boolean> {
  const point = await withTenant(db, orgId, (tx) =>
    tx.recoveryPoint.findFirst({
      where: { id: pointId, orgId },
      include: { artifacts: { where: { status: 'PRESENT' }, include: { destination: true } } },
    }),
  );
  if (!point || !point.legalHoldMarkerStale) return true;
  const held = point.legalHold;
  const marker: LegalHoldMarker = {
    recoveryPointId: point.id, backupJobId: point.backupJobId, reason: point.legalHoldReason ?? '', writtenAt: new Date().toISOString(),
  };
  const results = await Promise.allSettled(
    point.artifacts.map(async (a) => {
      const driver = driverFor(a.destination, env);
      const key = legalHoldKey(a.manifestKey);
      if (held) await driver.put(key, Readable.from([Buffer.from(JSON.stringify(marker, null, 2))]));
      else await driver.delete(key);
    }),
  );
  if (results.some((r) => r.status === 'rejected')) return false;
  // Only if the hold is still what was mirrored: a change meanwhile keeps the point stale.
  const done = await withTenant(db, orgId, (tx) =>
    tx.recoveryPoint.updateMany({ where: { id: pointId, orgId, legalHold: held, legalHoldReason: point.legalHoldReason, legalHoldMarkerStale: true }, data: { legalHoldMarkerStale: false } }),
  );
  return done.count === 1;
}

/** The sweep's part: every point whose markers are behind, across organizations. */
export async function syncStaleLegalHoldMarkers(db: Db, env: DestinationEnv, log: Logger): Promise<{ synced: number; pending: number }> {
  const stale = await withSystem(db, 'legal-hold-markers', (tx) =>
    tx.recoveryPoint.findMany({ where: { legalHoldMarkerStale: true }, select: { id: true, orgId: true }, take: 500, orderBy: { takenAt: 'asc' } }),
  );
  let synced = 0;
  for (const p of stale) {
    const ok = await syncLegalHoldMarkers(db, env, p.orgId, p.id).catch((err: unknown) => {
      log.warn({ recoveryPointId: p.id, err: err instanceof Error ? err.message : String(err) }, 'legal hold marker not written yet');
      return false;
    });
    if (ok) synced++;
  }
  return { synced, pending: stale.length - synced };
}
