// Destinations through the real API: LOCAL under a temp storage root, S3 against a real s3rver;
// secrets never come back, every change is audited, bad input is a typed error that writes nothing.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { setupConfigApi, ACCESS_KEY_ID, SECRET_ACCESS_KEY, BUCKET, t, org, other, superuser, mutate, admin, operator, viewer, auditActions, rawId, rejects, createLocal, createS3, testDest, s3Input, DESTINATION } from '../support/config-api';

setupConfigApi();

describe('destinations', () => {
  let localId: string;
  let s3Id: string;

  it('creates a LOCAL destination and probes it for real under the org storage directory', async () => {
    const { payload } = await createLocal({ name: 'local main', path: 'nas//main/' });
    expect(payload?.__typename).toBe('MutationCreateLocalDestinationSuccess');
    const d = payload!.data!;
    expect(d).toMatchObject({ name: 'local main', kind: 'LOCAL', path: 'nas/main', status: 'UNKNOWN', hasCredentials: false, usedBytes: '0', lastTestedAt: null });
    localId = d.id as string;

    const tested = await testDest(localId);
    expect(tested.payload?.data).toMatchObject({ status: 'HEALTHY', lastError: null });
    expect(tested.payload!.data!.lastTestedAt).toBeTruthy();
    const dir = path.join(t.storageRoot, org.id, 'nas', 'main');
    expect(existsSync(dir)).toBe(true);
    // The probe object was deleted again (and its directory pruned).
    const left = existsSync(path.join(dir, '.keepsake-probe')) ? await readdir(path.join(dir, '.keepsake-probe')) : [];
    expect(left).toEqual([]);

    const actions = (await auditActions(rawId(localId))).map((a) => a.action);
    expect(actions).toEqual(['destination.create', 'destination.test']);
  });

  it('refuses LOCAL paths that escape the storage root, writing nothing', async () => {
    for (const bad of ['../x', '/etc', 'a/../../x', '..', '.', 'a\\..\\b']) {
      await rejects('Destination', () => createLocal({ name: `bad ${bad}`, path: bad }), 'ValidationError', ['input', 'path']);
    }
    const upd = await mutate(admin(), 'updateDestination', 'UpdateDestinationInput', { id: localId, path: '../../other-org' }, DESTINATION);
    expect(upd.payload?.__typename).toBe('ValidationError');
  });

  it('reports a failing LOCAL probe as UNHEALTHY without a GraphQL error or server paths', async () => {
    const { payload } = await createLocal({ name: 'blocked', path: 'blocked/dir' });
    const id = payload!.data!.id as string;
    // A file where the destination's parent directory should be makes every write fail.
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(path.join(t.storageRoot, org.id), { recursive: true });
    await writeFile(path.join(t.storageRoot, org.id, 'blocked'), 'not a directory');
    const tested = await testDest(id);
    expect(tested.errors).toBeUndefined();
    expect(tested.payload?.data).toMatchObject({ status: 'UNHEALTHY' });
    expect(tested.payload!.data!.lastError).toEqual(expect.any(String));
    expect(tested.json).not.toContain(t.storageRoot);
  });

  it('creates an S3 destination whose credentials are sealed and never returned', async () => {
    const secret = 'S3RVER';
    const { payload, json } = await createS3(s3Input({ name: 's3 main' }));
    expect(payload?.__typename).toBe('MutationCreateS3DestinationSuccess');
    expect(payload!.data).toMatchObject({ kind: 'S3', bucket: BUCKET, prefix: 'org/backups', region: 'us-east-1', forcePathStyle: true, hasCredentials: true, path: null });
    expect(json).not.toContain(secret);
    s3Id = payload!.data!.id as string;

    const list = await t.gql(admin(), `{ destinations(first: 50) { edges { node { ${DESTINATION} } } } }`);
    expect(list.errors).toBeUndefined();
    expect(JSON.stringify(list)).not.toContain(secret);
    const stored = await superuser.query(`SELECT "accessKeyIdSealed", "secretAccessKeySealed" FROM "Destination" WHERE id = $1`, [rawId(s3Id)]);
    for (const v of Object.values(stored.rows[0] as Record<string, Buffer>)) {
      expect(Buffer.isBuffer(v)).toBe(true);
      expect(v.includes(Buffer.from(secret))).toBe(false);
    }
    const audit = await auditActions(rawId(s3Id));
    expect(audit.map((a) => a.action)).toEqual(['destination.create']);
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it('probes S3 through a real server, and records a failure with wrong credentials as UNHEALTHY', async () => {
    const ok = await testDest(s3Id);
    expect(ok.errors).toBeUndefined();
    expect(ok.payload?.data).toMatchObject({ status: 'HEALTHY', lastError: null });

    const otherSecret = 'definitely-not-the-secret-value';
    const upd = await mutate(admin(), 'updateDestination', 'UpdateDestinationInput', { id: s3Id, accessKeyId: 'WRONGKEY', secretAccessKey: otherSecret }, DESTINATION);
    expect(upd.payload?.data).toMatchObject({ status: 'UNKNOWN', hasCredentials: true });
    expect(upd.json).not.toContain(otherSecret);

    const bad = await testDest(s3Id);
    expect(bad.errors).toBeUndefined();
    expect(bad.payload?.data).toMatchObject({ status: 'UNHEALTHY' });
    expect(bad.payload!.data!.lastError).toEqual(expect.any(String));
    expect(bad.json).not.toContain(otherSecret);

    await mutate(admin(), 'updateDestination', 'UpdateDestinationInput', { id: s3Id, accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY }, DESTINATION);
    const again = await testDest(s3Id);
    expect(again.payload?.data).toMatchObject({ status: 'HEALTHY' });
    const audit = await auditActions(rawId(s3Id));
    expect(audit.map((a) => a.action)).toEqual(['destination.create', 'destination.test', 'destination.update', 'destination.test', 'destination.update', 'destination.test']);
    expect(JSON.stringify(audit)).not.toContain(otherSecret);
  });

  it('validates S3 settings field by field', async () => {
    await rejects('Destination', () => createS3(s3Input({ bucket: 'Bad_Bucket' })), 'ValidationError', ['input', 'bucket']);
    await rejects('Destination', () => createS3(s3Input({ bucket: '192.168.1.1' })), 'ValidationError', ['input', 'bucket']);
    await rejects('Destination', () => createS3(s3Input({ endpoint: 'ftp://example.com' })), 'ValidationError', ['input', 'endpoint']);
    await rejects('Destination', () => createS3(s3Input({ endpoint: 'http://user:pw@example.com' })), 'ValidationError', ['input', 'endpoint']);
    await rejects('Destination', () => createS3(s3Input({ prefix: 'a/../b' })), 'ValidationError', ['input', 'prefix']);
    await rejects('Destination', () => createS3(s3Input({ name: 's3 main' })), 'ConflictError');
  });

  it('lets only admins configure and operators test', async () => {
    await rejects('Destination', () => createLocal({ name: 'by viewer', path: 'v' }, viewer()), 'ForbiddenError');
    await rejects('Destination', () => createLocal({ name: 'by operator', path: 'o' }, operator()), 'ForbiddenError');
    const r = await testDest(localId, viewer());
    expect(r.payload?.__typename).toBe('ForbiddenError');
    const foreign = await testDest(localId, other.users.OWNER.token);
    expect(foreign.payload?.__typename).toBe('NotFoundError');
    const malformed = await testDest('not-a-global-id');
    expect(malformed.payload).toMatchObject({ __typename: 'ValidationError', issues: [{ path: ['input', 'id'] }] });
  });
});
