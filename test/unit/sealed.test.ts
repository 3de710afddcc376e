import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MasterKeyError,
  SealedDataError,
  dataKeyId,
  newDataKey,
  openSecret,
  parseMasterKey,
  sealSecret,
  unwrapDataKey,
  wrapDataKey,
} from '../../src/crypto/sealed';

const master = randomBytes(32);
const otherMaster = randomBytes(32);

describe('sealSecret / openSecret', () => {
  it('round-trips text, including non-ASCII and the empty string', () => {
    for (const text of ['postgresql://app:s3cret@db:5432/crm', 'héllo wörld 🎂', '']) {
      const sealed = sealSecret(master, text, 'source:org-1');
      expect(openSecret(master, sealed, 'source:org-1')).toBe(text);
    }
  });

  it('does not contain the plaintext and uses a fresh nonce each time', () => {
    const a = sealSecret(master, 'the-same-secret');
    const b = sealSecret(master, 'the-same-secret');
    expect(a.includes(Buffer.from('the-same-secret'))).toBe(false);
    expect(a.equals(b)).toBe(false);
    // version byte + 12-byte nonce + ciphertext (same length as the UTF-8 text) + 16-byte tag
    expect(a.length).toBe(1 + 12 + 'the-same-secret'.length + 16);
    expect(a[0]).toBe(1);
  });

  it('opens a Uint8Array view (what Prisma returns for Bytes)', () => {
    const sealed = sealSecret(master, 'secret', 'ctx');
    const copy = new Uint8Array(sealed.length + 5).subarray(5);
    copy.set(sealed);
    expect(openSecret(master, copy, 'ctx')).toBe('secret');
  });

  it('rejects every single-bit flip (header, nonce, ciphertext, tag)', () => {
    const sealed = sealSecret(master, 'secret', 'ctx');
    for (let i = 0; i < sealed.length; i++) {
      const tampered = Buffer.from(sealed);
      tampered[i]! ^= 0x01;
      expect(() => openSecret(master, tampered, 'ctx'), `byte ${i}`).toThrow(SealedDataError);
    }
  });

  it('rejects truncated data', () => {
    const sealed = sealSecret(master, 'secret');
    expect(() => openSecret(master, sealed.subarray(0, 20))).toThrow(SealedDataError);
    expect(() => openSecret(master, sealed.subarray(0, sealed.length - 1))).toThrow(SealedDataError);
  });

  it('rejects the wrong master key and the wrong context', () => {
    const sealed = sealSecret(master, 'secret', 'source:org-1');
    expect(() => openSecret(otherMaster, sealed, 'source:org-1')).toThrow(SealedDataError);
    expect(() => openSecret(master, sealed, 'source:org-2')).toThrow(SealedDataError);
    expect(() => openSecret(master, sealed)).toThrow(SealedDataError);
  });

  it('refuses a master key of the wrong size', () => {
    expect(() => sealSecret(randomBytes(16), 'x')).toThrow(MasterKeyError);
  });
});

describe('data keys', () => {
  it('wraps and unwraps a 32-byte key for its organization', () => {
    const key = newDataKey();
    expect(key.length).toBe(32);
    expect(newDataKey().equals(key)).toBe(false);
    const wrapped = wrapDataKey(master, key, 'org-a');
    expect(wrapped.includes(key)).toBe(false);
    expect(unwrapDataKey(master, wrapped, 'org-a').equals(key)).toBe(true);
  });

  it('cannot be unwrapped for another organization or with another master key', () => {
    const wrapped = wrapDataKey(master, newDataKey(), 'org-a');
    expect(() => unwrapDataKey(master, wrapped, 'org-b')).toThrow(SealedDataError);
    expect(() => unwrapDataKey(otherMaster, wrapped, 'org-a')).toThrow(SealedDataError);
  });

  it('keeps wrapped keys and sealed secrets apart even with the same context string', () => {
    const wrapped = wrapDataKey(master, newDataKey(), 'org-a');
    expect(() => openSecret(master, wrapped, 'org:org-a')).toThrow(SealedDataError);
    const sealed = sealSecret(master, 'x'.repeat(32), 'org:org-a');
    expect(() => unwrapDataKey(master, sealed, 'org-a')).toThrow(SealedDataError);
  });

  it('rejects a tampered wrapped key', () => {
    const wrapped = wrapDataKey(master, newDataKey(), 'org-a');
    wrapped[20]! ^= 0x80;
    expect(() => unwrapDataKey(master, wrapped, 'org-a')).toThrow(SealedDataError);
  });

  it('refuses to wrap something that is not a 32-byte key', () => {
    expect(() => wrapDataKey(master, randomBytes(16), 'org-a')).toThrow(RangeError);
  });

  it('gives a short id that is stable per wrapped blob and differs between blobs', () => {
    const key = newDataKey();
    const w1 = wrapDataKey(master, key, 'org-a');
    const w2 = wrapDataKey(master, key, 'org-a');
    expect(dataKeyId(w1)).toMatch(/^[0-9a-f]{16}$/);
    expect(dataKeyId(Buffer.from(w1))).toBe(dataKeyId(w1));
    expect(dataKeyId(w2)).not.toBe(dataKeyId(w1));
  });
});

describe('parseMasterKey', () => {
  const raw = randomBytes(32);

  it('accepts 64 hex characters (any case, surrounding whitespace)', () => {
    expect(parseMasterKey(raw.toString('hex')).equals(raw)).toBe(true);
    expect(parseMasterKey(`  ${raw.toString('hex').toUpperCase()}\n`).equals(raw)).toBe(true);
  });

  it('accepts base64 and base64url of 32 bytes, padded or not', () => {
    expect(parseMasterKey(raw.toString('base64')).equals(raw)).toBe(true);
    expect(parseMasterKey(raw.toString('base64').replace(/=+$/, '')).equals(raw)).toBe(true);
    expect(parseMasterKey(raw.toString('base64url')).equals(raw)).toBe(true);
  });

  it('rejects other lengths and alphabets without echoing the value', () => {
    const bad = [
      raw.toString('hex').slice(0, 62),
      randomBytes(16).toString('base64'),
      randomBytes(33).toString('base64'),
      'not a key at all, definitely not one, nope!',
      '!'.repeat(44),
      '',
    ];
    for (const value of bad) {
      let error: unknown;
      try {
        parseMasterKey(value);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(value)).toBeInstanceOf(MasterKeyError);
      expect((error as Error).message).toMatch(/64 hexadecimal characters or the base64 encoding of exactly 32 bytes/);
      if (value.length > 8) expect((error as Error).message).not.toContain(value);
    }
  });
});
