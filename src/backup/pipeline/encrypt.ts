// Encrypts a byte stream into the chunked AES-256-GCM artifact format (see encryption-format.ts).
// Memory stays bounded by about two chunks whatever the stream length.
import { createCipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import {
  assertDataKey, DEFAULT_CHUNK_SIZE, deriveArtifactKey, encodeHeader, FLAG_FINAL, FLAG_MORE, frameNonce,
  framePrefix, MAX_CHUNK_SIZE, NONCE_BYTES, TAG_BYTES, type DataKey,
} from './encryption-format';

export class EncryptStream extends Transform {
  private readonly header: Buffer;
  private readonly baseNonce: Buffer;
  private readonly subkey: Buffer;
  private readonly chunkSize: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private counter = 0n;
  private headerSent = false;

  constructor(dataKey: DataKey, opts: { chunkSize?: number } = {}) {
    super();
    assertDataKey(dataKey);
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 1 || this.chunkSize > MAX_CHUNK_SIZE) {
      throw new RangeError(`chunkSize must be 1..${MAX_CHUNK_SIZE}`);
    }
    this.baseNonce = randomBytes(NONCE_BYTES);
    this.subkey = deriveArtifactKey(dataKey.key, this.baseNonce);
    this.header = encodeHeader(dataKey.id, this.chunkSize, this.baseNonce);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.sendHeader();
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // Keep at least one byte back: a chunk is only known to be non-final once more data exists.
    while (this.pendingBytes > this.chunkSize) this.push(this.seal(this.takeBytes(this.chunkSize), FLAG_MORE));
    cb();
  }

  override _flush(cb: TransformCallback): void {
    this.sendHeader();
    this.push(this.seal(this.takeBytes(this.pendingBytes), FLAG_FINAL));
    cb();
  }

  private sendHeader(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    this.push(this.header);
  }

  private takeBytes(n: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    return out;
  }

  private seal(plaintext: Buffer, flag: number): Buffer {
    const prefix = framePrefix(flag, plaintext.length);
    const cipher = createCipheriv('aes-256-gcm', this.subkey, frameNonce(this.baseNonce, this.counter++), {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(Buffer.concat([this.header, prefix]));
    const body = cipher.update(plaintext);
    const final = cipher.final();
    return Buffer.concat([prefix, body, final, cipher.getAuthTag()]);
  }
}

export function createEncryptStream(dataKey: DataKey, opts: { chunkSize?: number } = {}): EncryptStream {
  return new EncryptStream(dataKey, opts);
}
