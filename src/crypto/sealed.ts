// Secrets at rest and per-organization data keys, both sealed with the master key using
// AES-256-GCM (authenticated: a flipped bit, a wrong key or a wrong context fails loudly
// instead of yielding garbage).
//
// Layout of every sealed blob:  kind (1 byte) | nonce (12 bytes) | ciphertext | tag (16 bytes)
//
// - `kind` says what the blob is (a sealed secret or a wrapped data key) and doubles as the
//   format version: a future format gets a new byte and old blobs stay readable. It is also
//   part of the authenticated data, so a wrapped data key can never be opened as a secret
//   (or the other way round) even if a caller happens to pass the same context string.
// - The nonce is random. With 96-bit random nonces a key must seal fewer than ~2^32 values,
//   which a control plane storing connection strings and one key per org never approaches.
// - Sealing and wrapping use different subkeys derived from the master key with HKDF, so
//   the two uses never share an AES key.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

const KIND_SECRET_V1 = 0x01;
const KIND_DATA_KEY_V1 = 0x02;
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES;

/** Sealed data that cannot be opened: wrong key, wrong context (AAD), wrong kind, truncated or tampered. */
export class SealedDataError extends Error {
  override name = 'SealedDataError';
}

/** MASTER_KEY is not a 32-byte key. The message never contains the value. */
export class MasterKeyError extends Error {
  override name = 'MasterKeyError';
}

/**
 * Accepts the master key as 64 hexadecimal characters or as base64 (standard or URL-safe,
 * padded or not) of exactly 32 bytes. Buffer's base64 decoder silently skips invalid
 * characters, so the shape is checked with a pattern first instead of trusting the length.
 */
export function parseMasterKey(value: string): Buffer {
  const s = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(s) || /^[A-Za-z0-9_-]{43}$/.test(s)) {
    const key = Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  throw new MasterKeyError(`The master key must be 64 hexadecimal characters or the base64 encoding of exactly 32 bytes (got ${s.length} characters)`);
}

function assertMasterKey(masterKey: Uint8Array): void {
  if (masterKey.length !== KEY_BYTES) throw new MasterKeyError(`The master key must be ${KEY_BYTES} bytes, got ${masterKey.length}`);
}

function subkey(masterKey: Uint8Array, purpose: string): Buffer {
  assertMasterKey(masterKey);
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `keepsake/${purpose}`, KEY_BYTES));
}

function seal(key: Buffer, kind: number, plaintext: Uint8Array, context: string): Buffer<ArrayBuffer> {
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = kind;
  randomBytes(NONCE_BYTES).copy(header, 1);
  const cipher = createCipheriv('aes-256-gcm', key, header.subarray(1), { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([Buffer.of(kind), Buffer.from(context, 'utf8')]));
  return Buffer.concat([header, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function open(key: Buffer, kind: number, sealed: Uint8Array, context: string): Buffer<ArrayBuffer> {
  const blob = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (blob.length < HEADER_BYTES + TAG_BYTES) throw new SealedDataError('Sealed data is truncated');
  if (blob[0] !== kind) throw new SealedDataError(`Sealed data has kind ${blob[0]}, expected ${kind}`);
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(1, HEADER_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.concat([Buffer.of(kind), Buffer.from(context, 'utf8')]));
  decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(blob.subarray(HEADER_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
  } catch {
    // Node says "Unsupported state or unable to authenticate data"; say what it means here.
    throw new SealedDataError('Sealed data could not be opened: wrong key, wrong context or tampered data');
  }
}

/**
 * Encrypts a secret (connection URL, S3 key, webhook secret) for storage. `aad` binds the
 * blob to where it belongs (e.g. `source:<orgId>`): opening it with another context fails,
 * so a sealed value copied into another org's row is useless. No aad equals an empty one.
 */
export function sealSecret(masterKey: Uint8Array, plaintext: string, aad = ''): Buffer<ArrayBuffer> {
  return seal(subkey(masterKey, 'sealed-secret/v1'), KIND_SECRET_V1, Buffer.from(plaintext, 'utf8'), aad);
}

/** Reverses {@link sealSecret}; throws {@link SealedDataError} on any mismatch. */
export function openSecret(masterKey: Uint8Array, sealed: Uint8Array, aad = ''): string {
  return open(subkey(masterKey, 'sealed-secret/v1'), KIND_SECRET_V1, sealed, aad).toString('utf8');
}

/** A fresh 32-byte AES-256 key for one organization's artifacts. */
export function newDataKey(): Buffer<ArrayBuffer> {
  return randomBytes(KEY_BYTES);
}

const dataKeyContext = (orgId: string) => `org:${orgId}`;

/**
 * Wraps an org's data key with the master key. The org id is authenticated data: a wrapped
 * key moved to another organization's row does not unwrap, so one org's artifacts cannot be
 * decrypted under another org's identity.
 */
export function wrapDataKey(masterKey: Uint8Array, dataKey: Uint8Array, orgId: string): Buffer<ArrayBuffer> {
  if (dataKey.length !== KEY_BYTES) throw new RangeError(`A data key must be ${KEY_BYTES} bytes, got ${dataKey.length}`);
  if (!orgId) throw new RangeError('wrapDataKey needs an organization id');
  return seal(subkey(masterKey, 'data-key-wrap/v1'), KIND_DATA_KEY_V1, dataKey, dataKeyContext(orgId));
}

/** Reverses {@link wrapDataKey}; throws {@link SealedDataError} for another org, key or tampering. */
export function unwrapDataKey(masterKey: Uint8Array, wrapped: Uint8Array, orgId: string): Buffer<ArrayBuffer> {
  const key = open(subkey(masterKey, 'data-key-wrap/v1'), KIND_DATA_KEY_V1, wrapped, dataKeyContext(orgId));
  if (key.length !== KEY_BYTES) throw new SealedDataError('Unwrapped data key has the wrong length');
  return key;
}

/**
 * Short, stable id of a wrapped data key (first 16 hex characters of its SHA-256): recorded
 * on each artifact so that, after a key rotation, the key that encrypted it can be found.
 * It is derived from the wrapped blob, which reveals nothing about the key itself.
 */
export function dataKeyId(wrapped: Uint8Array): string {
  return createHash('sha256').update(wrapped).digest('hex').slice(0, 16);
}
