// Counts bytes flowing through and reports progress at most once per interval: progress feeds
// database rows and subscriptions, which must not be written for every 64 KiB chunk.
import { Transform, type TransformCallback } from 'node:stream';

export interface ByteCounterOptions {
  onProgress?: (bytesDone: number) => void;
  /** Minimum time between two progress calls; the final count is always reported. */
  intervalMs?: number;
}

export class ByteCounter extends Transform {
  bytes = 0;
  private lastReport = 0;
  private readonly onProgress?: (bytesDone: number) => void;
  private readonly intervalMs: number;

  constructor(opts: ByteCounterOptions = {}) {
    super();
    this.onProgress = opts.onProgress;
    this.intervalMs = opts.intervalMs ?? 500;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.onProgress) {
      const now = Date.now();
      if (now - this.lastReport >= this.intervalMs) {
        this.lastReport = now;
        this.report();
      }
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.report();
    cb();
  }

  private report(): void {
    // A throwing progress listener must not corrupt the data stream.
    try {
      this.onProgress?.(this.bytes);
    } catch {
      /* progress is advisory */
    }
  }
}
