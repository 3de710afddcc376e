// Stops a backup once it grows past its allowance instead of filling the destination.
import { Transform, type TransformCallback } from 'node:stream';
import { SizeLimitExceededError } from '../errors';

export class SizeLimit extends Transform {
  private bytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a non-negative integer, got ${maxBytes}`);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) cb(new SizeLimitExceededError(this.maxBytes));
    else cb(null, chunk);
  }
}
