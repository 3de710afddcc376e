// Validation of destination keys. Keys come from the job layer (org/strategy/point ids) but are
// checked here anyway so a bad key can never address a file outside a local root or a
// neighbouring S3 prefix.
import { PathEscapeError } from '../errors';

const MAX_KEY_BYTES = 1024;

/** Splits a key into its segments, rejecting anything that is not a plain relative path. */
export function keySegments(key: string): string[] {
  if (typeof key !== 'string' || key.length === 0) throw new PathEscapeError(String(key), 'object key must not be empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new PathEscapeError(key, 'object key is too long');
  if (key.includes('\0') || key.includes('\\')) throw new PathEscapeError(key, `object key contains a forbidden character: ${JSON.stringify(key)}`);
  if (key.startsWith('/')) throw new PathEscapeError(key, `object key must be relative: ${JSON.stringify(key)}`);
  const segments = key.split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..') throw new PathEscapeError(key, `object key has an empty, "." or ".." segment: ${JSON.stringify(key)}`);
  }
  return segments;
}

/** A list prefix: '' or a key-like string whose last segment may be partial or empty ("a/b/"). */
export function validatePrefix(prefix: string): void {
  if (prefix === '') return;
  const complete = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix.slice(0, Math.max(0, prefix.lastIndexOf('/')));
  if (complete) keySegments(complete);
  const last = prefix.slice(prefix.lastIndexOf('/') + 1);
  if (last === '.' || last === '..' || last.includes('\0') || last.includes('\\') || prefix.startsWith('/')) {
    throw new PathEscapeError(prefix, `invalid list prefix: ${JSON.stringify(prefix)}`);
  }
}
