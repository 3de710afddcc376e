// Authenticated encryption of everything a repository stores (AES-256-GCM under the
// organization's data key, via keys.ts):
//
//   sealed object = magic "KSRO" | version u8 (1) | salt (16) | nonce (12) | ciphertext | tag (16)
//     subkey = HKDF(sealKey, salt, "object:" + kind); AAD = magic | version | salt | kind
//     Used for index files, snapshots and pack trailers; `kind` is authenticated, so an index
//     cannot be passed off as a snapshot.
//   blob (inside a pack) = nonce (12) | ciphertext | tag (16)
//     subkey = HKDF(sealKey, packSalt, "pack"); AAD = chunk id (32 bytes)
//     A blob moved to another offset or pack, or swapped with another chunk, fails to open.
//
// Plaintexts are compressed first (compress.ts). Every salt is random, so no two objects or
// packs share a subkey, and random 96-bit nonces stay far from their collision bound.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { IntegrityError } from '../errors';

const OBJECT_MAGIC = Buffer.from('KSRO', 'ascii');
const VERSION = 1;
const SALT = 16;
const NONCE = 12;
const TAG = 16;
export const BLOB_OVERHEAD = NONCE + TAG;

function subkey(sealKey: Buffer, salt: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', sealKey, salt, `keepsake repository v1 ${info}`, 32));
}

function encrypt(key: Buffer, aad: Buffer, plaintext: Uint8Array): Buffer[] {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG });
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  const final = cipher.final();
  return [nonce, body, final, cipher.getAuthTag()];
}

function decrypt(key: Buffer, aad: Buffer, sealed: Buffer, what: string): Buffer {
  if (sealed.length < NONCE + TAG) throw new IntegrityError(`${what} is truncated`);
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE), { authTagLength: TAG });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(NONCE, sealed.length - TAG)), decipher.final()]);
  } catch (err) {
    throw new IntegrityError(`${what} failed authentication (damaged, or sealed under another key)`, { cause: err });
  }
}

export function sealObject(sealKey: Buffer, kind: string, plaintext: Uint8Array): Buffer {
  const salt = randomBytes(SALT);
  const head = Buffer.concat([OBJECT_MAGIC, Buffer.from([VERSION]), salt]);
  const aad = Buffer.concat([head, Buffer.from(kind, 'utf8')]);
  return Buffer.concat([head, ...encrypt(subkey(sealKey, salt, `object:${kind}`), aad, plaintext)]);
}

export function openObject(sealKey: Buffer, kind: string, sealed: Buffer, what: string): Buffer {
  const headLength = OBJECT_MAGIC.length + 1 + SALT;
  if (sealed.length < headLength || !sealed.subarray(0, 4).equals(OBJECT_MAGIC)) throw new IntegrityError(`${what} is not a sealed repository object`);
  if (sealed[4] !== VERSION) throw new IntegrityError(`${what} has unsupported version ${sealed[4]}`);
  const head = sealed.subarray(0, headLength);
  const salt = sealed.subarray(5, headLength);
  return decrypt(subkey(sealKey, salt, `object:${kind}`), Buffer.concat([head, Buffer.from(kind, 'utf8')]), sealed.subarray(headLength), what);
}

/** The subkey every blob of one pack is sealed under. */
export function packKey(sealKey: Buffer, packSalt: Buffer): Buffer {
  return subkey(sealKey, packSalt, 'pack');
}

export function sealBlob(key: Buffer, id: string, plaintext: Uint8Array): Buffer[] {
  return encrypt(key, Buffer.from(id, 'hex'), plaintext);
}

export function openBlob(key: Buffer, id: string, sealed: Buffer, what: string): Buffer {
  return decrypt(key, Buffer.from(id, 'hex'), sealed, what);
}
