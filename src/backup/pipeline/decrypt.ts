// Decrypts the chunked AES-256-GCM artifact format (see encryption-format.ts). Plaintext of a
// frame is released only after its tag verified, and any tampering, reordering, truncation or
// trailing data fails the stream with IntegrityError (a foreign key id with KeyMismatchError).
import { createDecipheriv } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BackupError, IntegrityError, KeyMismatchError } from '../errors';
import {
  assertDataKey, deriveArtifactKey, FLAG_FINAL, FLAG_MORE, FRAME_PREFIX_BYTES, frameNonce, TAG_BYTES,
  tryDecodeHeader, type ArtifactHeader, type DataKey,
} from './encryption-format';

/** Either the key itself, or a lookup by the key id found in the artifact header (key rotation). */
export type DataKeySource = DataKey | ((keyId: string) => DataKey | Promise<DataKey>);

export class DecryptStream extends Transform {
  // Received bytes not yet consumed, coalesced only when a whole header/frame is present so a
  // 1 MiB frame arriving in 64 KiB pieces is copied once, not sixteen times.
  private parts: Buffer[] = [];
  private size = 0;
  private header: ArtifactHeader | undefined;
  private subkey: Buffer | undefined;
  private counter = 0n;
  private finished = false;

  constructor(private readonly keySource: DataKeySource) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.parts.push(chunk);
    this.size += chunk.length;
    this.drain().then(() => cb(), (err: unknown) => cb(asIntegrity(err)));
  }

  override _flush(cb: TransformCallback): void {
    this.drain().then(
      () => {
        if (!this.header) cb(new IntegrityError('encrypted artifact is truncated (incomplete header)'));
        else if (!this.finished) cb(new IntegrityError('encrypted artifact is truncated (final chunk missing)'));
        else cb();
      },
      (err: unknown) => cb(asIntegrity(err)),
    );
  }

  private async drain(): Promise<void> {
    if (!this.header) {
      const header = tryDecodeHeader(this.peek(this.size));
      if (!header) return;
      this.header = header;
      this.consume(header.raw.length);
      const dataKey = typeof this.keySource === 'function' ? await this.keySource(header.keyId) : this.keySource;
      assertDataKey(dataKey);
      if (dataKey.id !== header.keyId) throw new KeyMismatchError(dataKey.id, header.keyId);
      this.subkey = deriveArtifactKey(dataKey.key, header.baseNonce);
    }
    const { chunkSize } = this.header;
    while (this.size > 0) {
      if (this.finished) throw new IntegrityError('encrypted artifact has data after its final chunk');
      if (this.size < FRAME_PREFIX_BYTES) return;
      const prefix = this.peek(FRAME_PREFIX_BYTES);
      const flag = prefix.readUInt8(0);
      const length = prefix.readUInt32BE(1);
      if (flag !== FLAG_MORE && flag !== FLAG_FINAL) throw new IntegrityError(`invalid chunk flag ${flag}`);
      if (length > chunkSize || (flag === FLAG_MORE && length !== chunkSize)) {
        throw new IntegrityError(`invalid chunk length ${length}`);
      }
      const frameBytes = FRAME_PREFIX_BYTES + length + TAG_BYTES;
      if (this.size < frameBytes) return;
      this.push(this.open(this.peek(frameBytes).subarray(0, frameBytes), length));
      this.consume(frameBytes);
      if (flag === FLAG_FINAL) this.finished = true;
    }
  }

  /** The first bytes received (at least `n` of them when available), as one buffer. */
  private peek(n: number): Buffer {
    if (this.parts.length > 1 && this.parts[0]!.length < n) this.parts = [Buffer.concat(this.parts, this.size)];
    return this.parts[0] ?? Buffer.alloc(0);
  }

  private consume(n: number): void {
    const first = this.peek(n).subarray(n);
    this.parts.shift();
    if (first.length) this.parts.unshift(first);
    this.size -= n;
  }

  private open(frame: Buffer, length: number): Buffer {
    const header = this.header!;
    const prefix = frame.subarray(0, FRAME_PREFIX_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.subkey!, frameNonce(header.baseNonce, this.counter++), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.concat([header.raw, prefix]));
    decipher.setAuthTag(frame.subarray(FRAME_PREFIX_BYTES + length));
    const body = decipher.update(frame.subarray(FRAME_PREFIX_BYTES, FRAME_PREFIX_BYTES + length));
    try {
      return Buffer.concat([body, decipher.final()]);
    } catch (err) {
      throw new IntegrityError(
        `chunk ${this.counter - 1n} failed authentication (tampered, reordered, or wrong key)`,
        { cause: err },
      );
    }
  }
}

function asIntegrity(err: unknown): Error {
  if (err instanceof BackupError) return err;
  if (err instanceof RangeError) return err;
  return new IntegrityError(err instanceof Error ? err.message : String(err), { cause: err });
}

export function createDecryptStream(keySource: DataKeySource): DecryptStream {
  return new DecryptStream(keySource);
}
