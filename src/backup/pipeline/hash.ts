// SHA-256 of whatever flows through, computed on the fly so no second read is needed:
// once over the raw source bytes and once over the stored bytes that land at destinations.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { IntegrityError } from '../errors';

export class HashTap extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private hex: string | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.hex = this.hash.digest('hex');
    cb();
  }

  /** Hex digest; only available once the stream has ended. */
  digest(): string {
    if (this.hex === undefined) throw new Error('HashTap.digest() called before the stream ended');
    return this.hex;
  }
}

/** Passes bytes through and fails at the end if their SHA-256 is not `expectedHex`. */
export class HashCheck extends Transform {
  private readonly hash: Hash = createHash('sha256');

  constructor(private readonly expectedHex: string, private readonly what: string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const actual = this.hash.digest('hex');
    if (actual !== this.expectedHex.toLowerCase()) {
      cb(new IntegrityError(`${this.what}: SHA-256 ${actual} does not match the recorded ${this.expectedHex}`));
    } else cb();
  }
}
