import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKeySecret, parseApiKey, verifyApiKeySecret } from '../../src/auth/api-keys';

describe('generateApiKey', () => {
  it('builds ks_<12-char base62 prefix>_<base64url of 32 bytes>', () => {
    const key = generateApiKey();
    expect(key.prefix).toMatch(/^[0-9A-Za-z]{12}$/);
    expect(key.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.secret, 'base64url').length).toBe(32);
    expect(key.token).toBe(`ks_${key.prefix}_${key.secret}`);
  });

  it('never repeats a prefix or a secret across many keys', () => {
    const keys = Array.from({ length: 2000 }, () => generateApiKey());
    expect(new Set(keys.map((k) => k.prefix)).size).toBe(keys.length);
    expect(new Set(keys.map((k) => k.secret)).size).toBe(keys.length);
  });

  it('round-trips through parseApiKey, even when the secret contains _ and -', () => {
    for (let i = 0; i < 200; i++) {
      const key = generateApiKey();
      expect(parseApiKey(key.token)).toEqual({ prefix: key.prefix, secret: key.secret });
    }
    const tricky = `ks_AbCdEf012345_${'_-'.repeat(21)}x`;
    expect(parseApiKey(tricky)).toEqual({ prefix: 'AbCdEf012345', secret: `${'_-'.repeat(21)}x` });
  });
});

describe('parseApiKey', () => {
  const good = generateApiKey();

  it.each([
    ['empty', ''],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
    ['wrong marker', good.token.replace(/^ks_/, 'kx_')],
    ['missing marker', good.token.slice(3)],
    ['short prefix', `ks_${good.prefix.slice(1)}_${good.secret}`],
    ['prefix with a symbol', `ks_${good.prefix.slice(1)}-_${good.secret}`],
    ['short secret', `ks_${good.prefix}_${good.secret.slice(1)}`],
    ['long secret', `ks_${good.prefix}_${good.secret}A`],
    ['padding', `ks_${good.prefix}_${good.secret}=`],
    ['whitespace', ` ${good.token}`],
    ['trailing newline', `${good.token}\n`],
  ])('rejects %s', (_label, token) => {
    expect(parseApiKey(token)).toBeNull();
  });
});

describe('hashApiKeySecret / verifyApiKeySecret', () => {
  it('hashes with SHA-256 as 64 lowercase hex characters', () => {
    expect(hashApiKeySecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const { secret } = generateApiKey();
    expect(hashApiKeySecret(secret)).toBe(createHash('sha256').update(secret).digest('hex'));
  });

  it('accepts the right secret and rejects any other', () => {
    const { secret } = generateApiKey();
    const stored = hashApiKeySecret(secret);
    expect(verifyApiKeySecret(secret, stored)).toBe(true);
    expect(verifyApiKeySecret(secret, stored.toUpperCase())).toBe(true);
    expect(verifyApiKeySecret(generateApiKey().secret, stored)).toBe(false);
    expect(verifyApiKeySecret(secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A'), stored)).toBe(false);
    expect(verifyApiKeySecret('', stored)).toBe(false);
  });

  it('returns false (no throw) for a malformed stored hash', () => {
    const { secret } = generateApiKey();
    expect(verifyApiKeySecret(secret, '')).toBe(false);
    expect(verifyApiKeySecret(secret, hashApiKeySecret(secret).slice(0, 62))).toBe(false);
    expect(verifyApiKeySecret(secret, 'z'.repeat(64))).toBe(false);
    // The secret itself in the hash column must not verify.
    expect(verifyApiKeySecret(secret, secret)).toBe(false);
  });
});
