// The keys of a chunked repository, all derived from the organization's data key (HKDF-SHA256
// with distinct labels), so one key unwrap gives everything and nothing new is stored:
// * chunk ids are HMAC-SHA256 under an id key: equal content in two organizations gets unrelated
//   ids, so a destination shared by tenants (or its operator) cannot link their data;
// * the chunker's gear table is keyed too, so chunk boundaries (and sizes) do not fingerprint
//   known files either (restic picks a random polynomial per repository for the same reason);
// * packs and repository objects are sealed under per-object subkeys (see seal.ts).
import { createHmac, hkdfSync } from 'node:crypto';
import { assertDataKey, type DataKey } from '../pipeline/encryption-format';

export interface RepositoryKeys {
  /** The organization data key's id, recorded in snapshots and manifests. */
  keyId: string;
  /** Master secret for sealing (per-object subkeys are derived from it and a random salt). */
  sealKey: Buffer;
  /** HMAC key naming chunks. */
  idKey: Buffer;
  /** 256 keyed gear values for the content-defined chunker. */
  gear: Int32Array;
}

function derive(key: Buffer, label: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `keepsake repository v1 ${label}`, length));
}

export function repositoryKeys(dataKey: DataKey): RepositoryKeys {
  assertDataKey(dataKey);
  const gearBytes = derive(dataKey.key, 'chunker gear', 1024);
  const gear = new Int32Array(256);
  for (let i = 0; i < 256; i++) gear[i] = gearBytes.readInt32BE(i * 4);
  return { keyId: dataKey.id, sealKey: derive(dataKey.key, 'seal', 32), idKey: derive(dataKey.key, 'chunk id', 32), gear };
}

/** The id of a chunk: hex HMAC-SHA256 of its plaintext under the organization's id key. */
export function chunkId(keys: RepositoryKeys, data: Uint8Array): string {
  return createHmac('sha256', keys.idKey).update(data).digest('hex');
}
