// The destination health check: a real write, read back and delete of a small random object, so
// "healthy" means backups can actually land there (credentials, permissions, free space).
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { DestinationError } from '../errors';
import type { Destination, ProbeResult } from './types';

export const PROBE_PREFIX = '.keepsake-probe/';

export async function probeDestination(dest: Destination): Promise<ProbeResult> {
  const key = `${PROBE_PREFIX}${randomUUID()}`;
  const payload = randomBytes(64);
  const started = performance.now();
  try {
    await dest.put(key, Readable.from([payload]));
    const chunks: Buffer[] = [];
    for await (const chunk of await dest.get(key)) chunks.push(chunk as Buffer);
    if (!Buffer.concat(chunks).equals(payload)) throw new Error('probe object read back differs from what was written');
  } catch (err) {
    await dest.delete(key).catch(() => undefined);
    throw err instanceof DestinationError ? err : new DestinationError('probe', key, err);
  }
  await dest.delete(key);
  return { latencyMs: Math.round(performance.now() - started) };
}
