// The on-disk layout of an encrypted artifact (version 1), shared by the encrypt and decrypt
// streams. Everything here is about bytes; no streams.
//
//   header  = magic "KSAE" | version u8 (1) | algorithm u8 (1 = AES-256-GCM)
//             | chunkSize u32be | keyIdLength u8 | keyId (utf8) | baseNonce (12 random bytes)
//   frame*  = flag u8 (0 = more, 1 = final) | plaintextLength u32be | ciphertext | tag (16)
//
// * Every frame is sealed under a per-artifact subkey, HKDF-SHA256(dataKey, salt = baseNonce),
//   so nonces can never repeat across artifacts encrypted with the same organization key.
// * Frame i uses nonce = baseNonce XOR i (big-endian in the last 8 bytes): reordering, dropping
//   or duplicating frames breaks authentication.
// * The AAD of each frame is header || flag || plaintextLength: the header (key id, chunk size)
//   cannot be altered, and the final flag is authenticated, so truncation at a frame boundary
//   is detected (the decoder requires exactly one final frame, at the end).
// * Non-final frames carry exactly chunkSize plaintext bytes; the final one 0..chunkSize.
import { hkdfSync } from 'node:crypto';

export const MAGIC = Buffer.from('KSAE', 'ascii');
export const FORMAT_VERSION = 1;
export const ALGORITHM_AES_256_GCM = 1;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const FRAME_PREFIX_BYTES = 5;
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** Upper bound the decoder accepts, so a forged header cannot make it buffer gigabytes. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
export const FLAG_MORE = 0;
export const FLAG_FINAL = 1;
const FIXED_HEADER_BYTES = MAGIC.length + 1 + 1 + 4 + 1;

/** A per-organization data key, already unwrapped by the caller. */
export interface DataKey {
  id: string;
  key: Buffer;
}

export interface ArtifactHeader {
  chunkSize: number;
  keyId: string;
  baseNonce: Buffer;
  /** The exact header bytes, authenticated as part of every frame's AAD. */
  raw: Buffer;
}

export function assertDataKey(dataKey: DataKey): void {
  if (!Buffer.isBuffer(dataKey.key) || dataKey.key.length !== 32) {
    throw new RangeError('data key must be a 32-byte Buffer');
  }
  const idBytes = Buffer.byteLength(dataKey.id, 'utf8');
  if (idBytes === 0 || idBytes > 255) throw new RangeError('data key id must be 1..255 bytes of UTF-8');
}

export function encodeHeader(keyId: string, chunkSize: number, baseNonce: Buffer): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  const fixed = Buffer.alloc(FIXED_HEADER_BYTES);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt8(FORMAT_VERSION, 4);
  fixed.writeUInt8(ALGORITHM_AES_256_GCM, 5);
  fixed.writeUInt32BE(chunkSize, 6);
  fixed.writeUInt8(id.length, 10);
  return Buffer.concat([fixed, id, baseNonce]);
}

/**
 * Parses a header from the start of `buf`. Returns undefined when more bytes are needed and
 * throws (a plain Error; the caller wraps it) when the bytes cannot be a version-1 header.
 */
export function tryDecodeHeader(buf: Buffer): ArtifactHeader | undefined {
  if (buf.length < FIXED_HEADER_BYTES) {
    if (!MAGIC.subarray(0, buf.length).equals(buf.subarray(0, MAGIC.length))) throw new Error('not an encrypted Keepsake artifact (bad magic)');
    return undefined;
  }
  if (!buf.subarray(0, 4).equals(MAGIC)) throw new Error('not an encrypted Keepsake artifact (bad magic)');
  const version = buf.readUInt8(4);
  if (version !== FORMAT_VERSION) throw new Error(`unsupported artifact format version ${version}`);
  const algorithm = buf.readUInt8(5);
  if (algorithm !== ALGORITHM_AES_256_GCM) throw new Error(`unsupported artifact cipher ${algorithm}`);
  const chunkSize = buf.readUInt32BE(6);
  if (chunkSize === 0 || chunkSize > MAX_CHUNK_SIZE) throw new Error(`invalid chunk size ${chunkSize}`);
  const idLength = buf.readUInt8(10);
  const total = FIXED_HEADER_BYTES + idLength + NONCE_BYTES;
  if (buf.length < total) return undefined;
  const keyId = buf.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + idLength).toString('utf8');
  const baseNonce = Buffer.from(buf.subarray(FIXED_HEADER_BYTES + idLength, total));
  return { chunkSize, keyId, baseNonce, raw: Buffer.from(buf.subarray(0, total)) };
}

export function deriveArtifactKey(dataKey: Buffer, baseNonce: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, baseNonce, 'keepsake artifact v1 aes-256-gcm', 32));
}

export function frameNonce(baseNonce: Buffer, counter: bigint): Buffer {
  const nonce = Buffer.from(baseNonce);
  nonce.writeBigUInt64BE(nonce.readBigUInt64BE(4) ^ counter, 4);
  return nonce;
}

export function framePrefix(flag: number, plaintextLength: number): Buffer {
  const prefix = Buffer.alloc(FRAME_PREFIX_BYTES);
  prefix.writeUInt8(flag, 0);
  prefix.writeUInt32BE(plaintextLength, 1);
  return prefix;
}
