// Copies one byte stream to several consumers with shared backpressure: a chunk is acknowledged
// only when every open branch accepted it, so the slowest destination paces the source and
// buffering is bounded by the branches' highWaterMark. A branch its consumer closed (a failed
// destination) is skipped; the runner learns about that failure from the destination itself.
import { PassThrough, Writable } from 'node:stream';

export interface FanOut {
  sink: Writable;
  branches: PassThrough[];
}

export function createFanOut(count: number, highWaterMark = 1024 * 1024): FanOut {
  const branches = Array.from({ length: count }, () => {
    const b = new PassThrough({ highWaterMark });
    // A branch whose destination failed before reading has nobody listening; tearing it down
    // with the run's error must not become an unhandled 'error' (the destination reports it).
    b.on('error', () => undefined);
    return b;
  });
  const open = (b: PassThrough) => !b.destroyed && !b.writableEnded;

  const accepted = (b: PassThrough, chunk: Buffer): Promise<void> | undefined => {
    if (!open(b) || b.write(chunk)) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        b.off('drain', done);
        b.off('close', done);
        resolve();
      };
      b.on('drain', done);
      b.on('close', done);
    });
  };

  const sink = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      const waits = branches.map((b) => accepted(b, chunk)).filter((p) => p !== undefined);
      if (waits.length === 0) cb();
      else Promise.all(waits).then(() => cb(), cb);
    },
    final(cb) {
      for (const b of branches) if (open(b)) b.end();
      cb();
    },
    destroy(err, cb) {
      // autoDestroy calls this with no error right after final(): branches still hold data
      // their destinations are reading, so only a failure may tear them down.
      if (err) for (const b of branches) if (!b.destroyed) b.destroy(err);
      cb(err);
    },
  });
  return { sink, branches };
}
