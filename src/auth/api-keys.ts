// Org-scoped API keys: `ks_<prefix>_<secret>`.
//
// The prefix is a public lookup handle (stored in clear, unique, shown in listings); the
// secret is 32 random bytes, shown once and stored only as a hash. The `ks_` marker lets
// the authenticator tell keys from JWTs and lets secret scanners recognise leaked keys.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PREFIX_LENGTH = 12; // 62^12 ≈ 2^71: collisions on the unique prefix are not a concern
const SECRET_BYTES = 32;
const SECRET_LENGTH = 43; // base64url of 32 bytes, unpadded
const TOKEN_PATTERN = new RegExp(`^ks_([0-9A-Za-z]{${PREFIX_LENGTH}})_([A-Za-z0-9_-]{${SECRET_LENGTH}})$`);

export interface GeneratedApiKey {
  /** Public part, stored in clear for lookup. */
  prefix: string;
  /** Secret part; store only {@link hashApiKeySecret} of it. */
  secret: string;
  /** What the client presents: `ks_<prefix>_<secret>`. Shown once. */
  token: string;
}

export function generateApiKey(): GeneratedApiKey {
  // randomInt draws without modulo bias.
  let prefix = '';
  for (let i = 0; i < PREFIX_LENGTH; i++) prefix += BASE62[randomInt(BASE62.length)];
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { prefix, secret, token: `ks_${prefix}_${secret}` };
}

/**
 * SHA-256 (hex) of the secret part. A slow password KDF (bcrypt, scrypt, argon2) exists to
 * make guessing low-entropy human passwords expensive; this secret is 256 random bits, so
 * brute force is hopeless anyway and a single fast hash is enough. It also keeps request
 * authentication cheap, which matters because every API call verifies a key.
 */
export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Splits a presented token; null for anything that is not exactly a well-formed key. */
export function parseApiKey(token: string): { prefix: string; secret: string } | null {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return null;
  return { prefix: match[1]!, secret: match[2]! };
}

/**
 * Compares the secret's hash with the stored one in constant time, so response timing
 * reveals nothing about how much of a guess was right. A malformed stored hash never
 * matches (and does not throw).
 */
export function verifyApiKeySecret(secret: string, storedHash: string): boolean {
  if (!/^[0-9a-f]{64}$/i.test(storedHash)) return false;
  const expected = Buffer.from(storedHash, 'hex');
  const actual = createHash('sha256').update(secret, 'utf8').digest();
  return timingSafeEqual(actual, expected);
}
