// Part of a tar archive, as a stream: one file's contents, or a smaller tar of a subtree. Used by
// downloads of a single file or a folder of a directory backup. Entry names are checked like an
// extraction's (safeEntryName) and kept relative to the archive root. The whole input archive is
// always read to its end, also after the wanted entry has been sent, so the SHA-256 check of the
// stored bytes (upstream) runs before the output ends: the output errors instead of ending when it
// fails. Memory stays flat: every chunk waits for the reader (backpressure) before the next.
import { once } from 'node:events';
import { PassThrough, Readable, type Writable } from 'node:stream';
import tar from 'tar-stream';
import { NotFoundInArchiveError } from '../errors';
import { safeEntryName } from './extract-tar';

export type TarSelection =
  | { kind: 'file'; name: string; size: number; stream: Readable }
  | { kind: 'tar'; name: string; stream: Readable };

/** Normalises a requested path ('/photos/2026/' → 'photos/2026'); throws PathEscapeError for '..' and the like. */
export function selectionPath(requested: string): string {
  return safeEntryName(requested.replace(/^\/+/, ''));
}

async function writeAll(out: Writable, source: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of source) {
    if (out.destroyed) throw new Error('the reader went away');
    if (!out.write(chunk)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
  }
}

/**
 * Resolves once the first entry at or below `wanted` is found (so the caller can choose headers):
 * an exact regular file gives its contents, anything else a tar of everything at or below it.
 * Rejects with NotFoundInArchiveError when the archive ends without such an entry.
 */
export function selectFromTar(input: Readable, wanted: string): Promise<TarSelection> {
  const extract = tar.extract();
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  return new Promise<TarSelection>((resolve, reject) => {
    let selection: TarSelection | undefined;
    let pack: ReturnType<typeof tar.pack> | undefined;
    let fileOut: PassThrough | undefined;
    const run = async () => {
      for await (const entry of extract) {
        const h = entry.header;
        const rel = safeEntryName(h.name);
        const inside = rel === wanted || rel.startsWith(`${wanted}/`);
        if (!inside || (selection?.kind === 'file')) {
          entry.resume();
          continue;
        }
        if (!selection) {
          if (rel === wanted && (h.type ?? 'file') === 'file') {
            fileOut = new PassThrough({ highWaterMark: 1024 * 1024 });
            selection = { kind: 'file', name: rel, size: h.size ?? 0, stream: fileOut };
            resolve(selection);
            await writeAll(fileOut, entry as AsyncIterable<Buffer>);
            continue;
          }
          pack = tar.pack();
          selection = { kind: 'tar', name: wanted, stream: Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false }) };
          resolve(selection);
        }
        const header = { ...h, name: h.type === 'directory' ? `${rel}/` : rel };
        const body = h.type === 'file' || h.type === 'contiguous-file';
        await new Promise<void>((done, fail) => {
          const sink = pack!.entry(header, (err?: Error | null) => (err ? fail(err) : done()));
          if (!body) return void entry.resume();
          writeAll(sink as unknown as Writable, entry as AsyncIterable<Buffer>).then(() => void (sink as unknown as Writable).end(), fail);
        });
      }
      if (!selection) throw new NotFoundInArchiveError(wanted);
      if (fileOut) fileOut.end();
      if (pack) pack.finalize();
    };
    run().catch((err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      input.destroy();
      if (!selection) return reject(e);
      if (fileOut) fileOut.destroy(e);
      else (selection.stream as Readable).destroy(e);
      pack?.destroy(e);
    });
  });
}
