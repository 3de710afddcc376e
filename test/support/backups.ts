// Shared fixtures for the backup tests: temp directories and generated payloads.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

export async function tempDir(label: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `keepsake-${label}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Half random (incompressible), half repetitive text (compressible). */
export function mixedPayload(bytes: number): Buffer {
  const half = Math.floor(bytes / 2);
  const line = Buffer.from('2026-11-22T10:00:00Z INFO wedding-photos upload ok user=42 size=1048576\n');
  const text = Buffer.alloc(bytes - half);
  for (let i = 0; i < text.length; i += line.length) line.copy(text, i);
  return Buffer.concat([randomBytes(half), text]);
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Emits `buf` in 64 KiB chunks, like a file or a child's stdout would. */
export function chunked(buf: Buffer, chunkSize = 64 * 1024): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= buf.length) return void this.push(null);
      this.push(buf.subarray(offset, offset + chunkSize));
      offset += chunkSize;
    },
  });
}

export async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}
