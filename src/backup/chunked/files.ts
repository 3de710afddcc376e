// Reading a source file as content-defined chunks with one reusable buffer (2 × maxSize), so
// memory stays flat whatever the file size: the buffer is refilled behind the cut point and
// compacted only when the tail would not hold another maximal chunk.
import { open } from 'node:fs/promises';
import { throwIfAborted } from '../cancellation';
import type { Chunker } from './chunker';

export class ChunkReader {
  private readonly buf: Buffer;

  constructor(private readonly chunker: Chunker) {
    this.buf = Buffer.allocUnsafe(chunker.params.maxSize * 2);
  }

  /**
   * Yields the chunks of the file at `file`. Each yielded Buffer is a view into the shared
   * buffer, valid only until the next iteration step: copy it to keep it.
   */
  async *chunks(file: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const fh = await open(file, 'r');
    try {
      const { buf } = this;
      const max = this.chunker.params.maxSize;
      let start = 0;
      let end = 0;
      let eof = false;
      for (;;) {
        throwIfAborted(signal);
        if (!eof && end - start < max) {
          if (buf.length - start < max) {
            buf.copy(buf, 0, start, end);
            end -= start;
            start = 0;
          }
          while (!eof && end < buf.length) {
            const { bytesRead } = await fh.read(buf, end, buf.length - end, null);
            if (bytesRead === 0) eof = true;
            end += bytesRead;
          }
        }
        if (start === end) return;
        const n = this.chunker.cut(buf, start, end);
        yield buf.subarray(start, start + n);
        start += n;
      }
    } finally {
      await fh.close();
    }
  }
}
